from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People: accounts and sign-in"

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401  (connects the sign-in receiver)
