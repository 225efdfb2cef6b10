from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "security"
    verbose_name = "Security and moderation"
    default_auto_field = "django.db.models.BigAutoField"
