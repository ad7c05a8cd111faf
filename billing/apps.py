from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Store credit's ledger is a source of the journal's money events; its module
        # reads models, so it is imported once the registry is ready.
        from .journal import register_event_source  # noqa: PLC0415
        from .store_credit_journal import store_credit_events  # noqa: PLC0415

        register_event_source(store_credit_events)
        # The order list's search finds orders by invoice and credit note numbers too.
        from orders.search import register_source  # noqa: PLC0415 - registry

        from .search import (  # noqa: PLC0415 - reads models
            orders_by_credit_note_number,
            orders_by_invoice_number,
        )

        register_source(orders_by_invoice_number)
        register_source(orders_by_credit_note_number)
