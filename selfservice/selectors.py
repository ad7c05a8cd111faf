"""What the status page reads: an order found by its number and a proof of ownership,
and everything the page shows, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Prefetch

from billing.models import CreditNote, Invoice
from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentStatus,
    RequestStatus,
    Shipment,
    TrackingEvent,
)
from orders.models import HoldKind, Order, OrderHold, OrderStatus, PaymentMethod
from returns.models import ReturnMethod, ReturnRequest, ReturnStatus
from returns.policy import returnable_quantity

# Fulfillment that has started: the customer can no longer cancel from the page.
STARTED = {FulfillmentStatus.IN_PROGRESS, FulfillmentStatus.INCOMPLETE, FulfillmentStatus.CLOSED}

# Holds the customer can act on, in words.
CUSTOMER_HOLDS: dict[str, str] = {
    HoldKind.PAYMENT: "We could not take the payment. Please update your payment details "
    "or contact us.",
    HoldKind.ADDRESS: "We need you to confirm or correct your delivery address.",
}

# Returns whose label the customer may still print (the parcel has not arrived).
LABEL_STATUSES = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED, ReturnStatus.IN_TRANSIT)

STATUS_WORDS: dict[str, str] = {
    OrderStatus.PLACED: "We received your order and are preparing it.",
    OrderStatus.PROCESSING: "Your order is being prepared.",
    OrderStatus.COMPLETED: "Your order is complete.",
    OrderStatus.CANCELLED: "Your order was cancelled.",
}


def normalise_postal_code(value: str) -> str:
    return "".join(value.split()).upper()


def find_order(*, number: str, email: str = "", postal_code: str = "") -> Order | None:
    """The placed order with this number whose e-mail or shipping postal code matches;
    ``None`` for an unknown number and for a wrong pair alike."""
    number = number.strip()
    if not number or not (email.strip() or postal_code.strip()):
        return None
    order = (
        Order.objects.exclude(status=OrderStatus.DRAFT)
        .only("pk", "email", "ship_postal_code")
        .filter(number__iexact=number)
        .first()
    )
    if order is None:
        return None
    if email.strip() and order.email.strip().lower() == email.strip().lower():
        return order
    postal = normalise_postal_code(postal_code)
    if postal and normalise_postal_code(order.ship_postal_code) == postal:
        return order
    return None


@dataclass
class StatusPage:
    order: Order
    status_words: str
    open_holds: list[OrderHold]
    customer_holds: list[str]
    fulfillment_orders: list[FulfillmentOrder]
    shipments: Sequence[Shipment]
    returns: list[ReturnRequest]
    invoices: list[Invoice]
    credit_notes: list[CreditNote]
    pickups: list[FulfillmentOrder] = field(default_factory=list)

    @property
    def cancellable_lines(self) -> list[tuple[str, int]]:
        """(description, units) of every line with units not shipped nor cancelled."""
        rest = [
            (
                line.description,
                line.quantity_ordered - line.quantity_cancelled - line.quantity_shipped,
            )
            for line in self.order.lines.all()
        ]
        return [(description, units) for description, units in rest if units > 0]

    @property
    def can_cancel(self) -> bool:
        """Open, nothing shipped, no fulfillment started and no fulfillment order closed."""
        if self.order.status not in (OrderStatus.PLACED, OrderStatus.PROCESSING):
            return False
        if self.shipments:
            return False
        return not any(fo.status in STARTED for fo in self.fulfillment_orders)

    def _hold(self, kind: str) -> OrderHold | None:
        return next((hold for hold in self.open_holds if hold.kind == kind), None)

    @property
    def address_hold(self) -> OrderHold | None:
        return self._hold(HoldKind.ADDRESS)

    @property
    def payment_hold(self) -> OrderHold | None:
        """The open payment hold of a card order: the customer may give another card."""
        if self.order.payment_method != PaymentMethod.CARD:
            return None
        return self._hold(HoldKind.PAYMENT)

    @property
    def can_change_address(self) -> bool:
        """Open, delivered (not picked up), nothing shipped, no location picking it and
        no partner that accepted it (``fulfillment.rerouting`` decides again)."""
        if self.order.status not in (OrderStatus.PLACED, OrderStatus.PROCESSING):
            return False
        if self.order.pickup_location_id or self.shipments:
            return False
        for fo in self.fulfillment_orders:
            if fo.status == FulfillmentStatus.CANCELLED:
                continue
            status = fo.status_before_hold if fo.status == FulfillmentStatus.ON_HOLD else fo.status
            if status in STARTED or fo.request_status == RequestStatus.ACCEPTED:
                return False
        return True

    @property
    def can_return(self) -> bool:
        """Some delivered unit is neither returned nor in an open return."""
        if self.order.status in (OrderStatus.DRAFT, OrderStatus.CANCELLED):
            return False
        return any(returnable_quantity(line) for line in self.order.lines.all())

    def label_returns(self) -> list[ReturnRequest]:
        """Mailed returns whose label is still useful."""
        return [
            rma
            for rma in self.returns
            if rma.method == ReturnMethod.MAIL and rma.status in LABEL_STATUSES
        ]


def status_page(order_id: int) -> StatusPage | None:
    """Everything the status page shows (nine queries, whatever the counts)."""
    order = (
        Order.objects.exclude(status=OrderStatus.DRAFT)
        .select_related("customer", "shipping_method", "pickup_location")
        .prefetch_related("lines")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        return None
    holds = list(OrderHold.objects.filter(order=order, released_at__isnull=True).order_by("id"))
    fulfillment_orders = list(
        FulfillmentOrder.objects.filter(order=order).select_related("location").order_by("id")
    )
    shipments = list(
        Shipment.objects.filter(order=order)
        .select_related("carrier")
        .prefetch_related(
            Prefetch(
                "events",
                queryset=TrackingEvent.objects.order_by("-occurred_at", "-id"),
                to_attr="scans",
            )
        )
        .order_by("id")
    )
    returns = list(ReturnRequest.objects.filter(order=order).order_by("id"))
    invoices = list(Invoice.objects.filter(order=order).order_by("issue_date", "number"))
    credit_notes = list(CreditNote.objects.filter(order=order).order_by("issue_date", "number"))
    customer_holds = [CUSTOMER_HOLDS[h.kind] for h in holds if h.kind in CUSTOMER_HOLDS]
    return StatusPage(
        order=order,
        status_words=STATUS_WORDS.get(order.status, order.get_status_display()),
        open_holds=holds,
        customer_holds=customer_holds,
        fulfillment_orders=fulfillment_orders,
        shipments=shipments,
        returns=returns,
        invoices=invoices,
        credit_notes=credit_notes,
        pickups=[
            fo
            for fo in fulfillment_orders
            if fo.is_pickup and fo.status != FulfillmentStatus.CANCELLED
        ],
    )
