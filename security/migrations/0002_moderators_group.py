"""The `moderators` group: may view and decide blocked prompts (queue and overview), nothing else."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "moderators"
CODENAMES = ["view_blockedprompt", "change_blockedprompt"]


def create_moderators(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now to attach them.
    app_config = apps.get_app_config("security")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.set(Permission.objects.filter(content_type__app_label="security", codename__in=CODENAMES))


def remove_moderators(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("security", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_moderators, remove_moderators)]
