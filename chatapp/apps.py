from django.apps import AppConfig


class ChatappConfig(AppConfig):
    name = "chatapp"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.conf import settings
        from django.template.loader import get_template

        from chatapp import schema  # noqa: F401 - registers the OpenAPI extensions

        if settings.PREPARE_AT_STARTUP:
            from chatapp.repositories import transaction_connection

            transaction_connection()  # the transactions' PynamoDB connection (core.startup prepares the rest)
            get_template("chatapp/chat.html")  # compiled now, kept by the cached loader for the page's first render
        if settings.WARM_MODELS_AT_STARTUP:
            from chatapp.clients import chat_model_warm
            from security.services.screening import screening_model_warm

            # And again after a SnapStart restore (core.snapstart.AFTER_RESTORE), which pages in what a reply uses.
            screening_model_warm()
            chat_model_warm()
