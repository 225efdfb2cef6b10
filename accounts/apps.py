from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People: accounts and sign-in"

    def ready(self) -> None:
        from accounts import checks, receivers  # noqa: F401  (registers the check, connects the receiver)
