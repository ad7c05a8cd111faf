from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    name = "returns"
    verbose_name = "Returns"

    def ready(self) -> None:
        # The order list's search finds orders by these numbers too (orders sit below).
        from orders.search import register_source  # noqa: PLC0415 - registry

        from .search import orders_by_rma_number  # noqa: PLC0415 - reads models

        register_source(orders_by_rma_number)
