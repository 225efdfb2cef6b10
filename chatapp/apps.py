from django.apps import AppConfig


class ChatappConfig(AppConfig):
    name = "chatapp"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.conf import settings
        from django.template.loader import get_template

        from chatapp import schema  # noqa: F401 - registers the OpenAPI extensions

        if settings.PREPARE_AT_STARTUP:
            from chatapp.repositories import _transaction_connection

            _transaction_connection()  # the transactions' PynamoDB connection (core.startup prepares the rest)
            get_template("chatapp/chat.html")  # compiled now, kept by the cached loader for the page's first render
        if settings.WARM_MODELS_AT_STARTUP:
            from chatapp.clients import chat_model
            from core.snapstart import register_after_restore
            from security.services.screening import screening_model_warm

            screening_model_warm()
            chat_model().warm()
            # Again after a SnapStart restore: the restore hook pages in what a reply uses, not the first reply.
            register_after_restore(screening_model_warm)
            register_after_restore(chat_model().warm)
