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
