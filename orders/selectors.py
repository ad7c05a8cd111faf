from django.db.models import Prefetch, QuerySet

from fulfillment.models import Shipment

from .models import Order, OrderHold


def list_company_orders(company_id: int | None) -> QuerySet[Order]:
    """A company's orders (``None``: the storefront's B2C web orders) with everything the
    API shows, in a fixed number of queries."""
    scoped = (
        Order.objects.filter(company_id=company_id)
        if company_id is not None
        else Order.objects.filter(company__isnull=True, channel="web")
    )
    return (
        scoped.exclude(status="draft")
        .select_related("shipping_method", "pickup_location")
        .prefetch_related(
            "lines",
            Prefetch(
                "holds",
                queryset=OrderHold.objects.filter(released_at__isnull=True),
            ),
            Prefetch(
                "shipments",
                queryset=Shipment.objects.select_related("carrier")
                .prefetch_related("events", "lines__fulfillment_line__order_line")
                .order_by("id"),
            ),
        )
    )
