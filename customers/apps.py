from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = "Customers and accounts"

    def ready(self) -> None:
        # Imports models through the API authentication: only once the registry is ready.
        from customers.api import schema  # noqa: F401, PLC0415 - registers the API key scheme
