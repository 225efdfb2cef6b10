from django.apps import AppConfig


class ChatappConfig(AppConfig):
    name = "chatapp"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.conf import settings

        from chatapp import schema  # noqa: F401 - registers the OpenAPI extensions

        if settings.PREPARE_AT_STARTUP:
            from chatapp.repositories import _transaction_connection

            _transaction_connection()  # the transactions' PynamoDB connection (core.startup prepares the rest)
        if settings.WARM_MODELS_AT_STARTUP:
            from chatapp.clients import chat_model
            from security.services import screening_model_warm

            screening_model_warm()
            chat_model().warm()
