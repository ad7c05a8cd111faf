"""Quotes: a draft sent to its buyer as a PDF offer, valid until an expiry date, with
the draft's units held for it in the network until then.

``send_quote`` numbers the quote (``Q-2026-000001``, no gaps: ``QuoteSeries``), holds
the stock (a soft reservation named after the draft, as ``drafts.reserve_draft_stock``
makes) and e-mails the PDF after commit (outbox ``quote.sent``). The buyer accepts it
through the API (``accept_quote``), which submits the draft like a rep would: the
reservation becomes the order's commitment, the holds are decided, the order is
confirmed. An open quote ends accepted, expired (``expire_quotes``, from the beat task
that gives expired reservations back), or withdrawn: by a newer quote of the draft,
an edit of the draft, its submission by a rep or its discarding (``drafts``).

Lock order: the draft's order row, then the quote row, then the stock rows; every
function here takes them in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.errors import Conflict, InvalidInput, NotFound
from inventory.commitments import end_network_reservations, lock_network_rows, reserve_network
from inventory.models import ReservationStatus

from . import drafts
from .events import record_order_event
from .models import OrderEventType, OrderLine, Quote, QuoteSeries, QuoteStatus
from .notifications import Attachment, OrderMessage, Recipient, deliver_order_message
from .placement import PlacedOrder

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PREFIX = "Q"
DEFAULT_VALIDITY_DAYS = 14
MAX_VALIDITY_DAYS = 90
QUOTE_SENT = "quote_sent"


class QuoteExpired(Conflict):
    code = "quote_expired"


class QuoteNotOpen(Conflict):
    code = "quote_not_open"


class QuoteNotFound(NotFound):
    code = "quote_not_found"


def next_quote_number(year: int) -> str:
    """The next quote number of ``year``. Inside the quote's transaction: the series
    row stays locked until it ends, so a rollback gives the number back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("quote numbers are taken inside the quote's transaction")
    series, _ = QuoteSeries.objects.select_for_update().get_or_create(year=year)
    QuoteSeries.objects.filter(pk=series.pk).update(last_number=F("last_number") + 1)
    series.refresh_from_db(fields=["last_number"])
    return f"{PREFIX}-{year}-{series.last_number:06d}"


@transaction.atomic
def send_quote(
    *,
    order_id: int,
    actor: Actor,
    sent_by: User | None = None,
    valid_days: int = DEFAULT_VALIDITY_DAYS,
    email: str = "",
) -> Quote:
    """Quote draft ``order_id`` to its buyer (or ``email``) for ``valid_days`` days.

    Withdraws the draft's open quote, holds the draft's units in the network until the
    quote expires (replacing any earlier reservation; 409 and nothing written when the
    network is short), numbers the quote and records it on the draft's timeline. The
    PDF is e-mailed after commit (``email_quote``)."""
    if not 1 <= valid_days <= MAX_VALIDITY_DAYS:
        raise InvalidInput(
            f"A quote is valid for 1 to {MAX_VALIDITY_DAYS} days.",
            fields={"valid_days": "out_of_range"},
        )
    order, lines = drafts.lock_draft(order_id)
    if not lines:
        raise InvalidInput("A quote needs at least one line.")
    drafts.withdraw_open_quote(order, actor=actor, why="a new quote replaces it")
    now = timezone.now()
    expires_at = now + timedelta(days=valid_days)
    if not order.pickup_location_id:
        demand = drafts.draft_demand(lines)
        networks = lock_network_rows(list(demand))
        end_network_reservations(order.number, status=ReservationStatus.RELEASED, networks=networks)
        reserve_network(
            demand, reference=order.number, expires_at=expires_at, actor=actor, networks=networks
        )
    quote = Quote.objects.create(
        number=next_quote_number(timezone.localdate(now).year),
        order=order,
        company_id=order.company_id,
        customer_id=order.customer_id,
        currency=order.currency,
        grand_total=order.grand_total,
        sent_to=email.strip() or order.email,
        sent_by=sent_by,
        expires_at=expires_at,
    )
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=(
            f"Quote {quote.number} sent to {quote.sent_to}, valid until "
            f"{expires_at:%Y-%m-%d %H:%M} UTC"
            + ("" if order.pickup_location_id else "; stock held")
        ),
        payload={"quote": quote.number, "expires_at": expires_at.isoformat()},
    )
    outbox.emit("quote.sent", {"quote_id": quote.pk, "number": quote.number})
    return quote


def get_quote(quote_id: int) -> Quote:
    return Quote.objects.select_related(
        "order", "order__shipping_method", "company", "customer"
    ).get(pk=quote_id)


def quote_pdf(quote: Quote) -> bytes:
    """The quote as a PDF: the seller, the buyer, the lines at the draft's prices, the
    totals, the expiry and how to accept it."""
    # Loaded on the first PDF: WeasyPrint pulls in Pango and its fonts.
    from weasyprint import HTML  # noqa: PLC0415 - heavy native library, loaded when used

    order = quote.order
    lines = list(OrderLine.objects.filter(order=order).order_by("line_number"))
    context = {
        "quote": quote,
        "order": order,
        "lines": lines,
        "seller_name": settings.OMS_LEGAL_NAME,
        "seller_address": settings.OMS_LEGAL_ADDRESS,
    }
    html = render_to_string("orders/quote.html", context)
    return HTML(string=html).write_pdf()


def email_quote(quote_id: int) -> None:
    """E-mail the quote's PDF to whom it was sent, once (the order's notification log
    claims the copy; a retry sends only what failed). A quote no longer open is not
    sent."""
    quote = get_quote(quote_id)
    if quote.status != QuoteStatus.SENT:
        return
    order = quote.order
    message = OrderMessage(
        kind=QUOTE_SENT,
        event=QUOTE_SENT,
        subject=f"Quote {quote.number} from {order.company or order.customer}"[:200],
        template="orders/email/quote_sent",
        context={"quote": quote, "order": order},
        params={"builder": "quote", "quote_id": quote.pk},
        attachments=[Attachment(f"{quote.number}.pdf", quote_pdf(quote), "application/pdf")],
        payload={"quote": quote.number},
    )
    deliver_order_message(
        order=order,
        dedupe_key=f"quote:{quote.pk}:{QUOTE_SENT}",
        message=message,
        recipients=[
            Recipient(
                "email", quote.sent_to, customer_id=order.customer_id, name=str(order.customer)
            )
        ],
    )


def list_open_quotes(
    *, company_id: int | None = None, customer_id: int | None = None
) -> QuerySet[Quote]:
    """The quotes still open for a company (or a buyer), soonest to expire first, with
    their draft; for the customer and company pages."""
    quotes = Quote.objects.filter(status=QuoteStatus.SENT).select_related("order")
    if company_id is not None:
        quotes = quotes.filter(company_id=company_id)
    if customer_id is not None:
        quotes = quotes.filter(customer_id=customer_id)
    return quotes.order_by("expires_at", "pk")


def find_company_quote(number: str, company_id: int | None) -> Quote:
    """Quote ``number`` of the company (404 for another company's or an unknown one)."""
    quote = (
        Quote.objects.filter(number=number.strip(), company_id=company_id).first()
        if company_id is not None
        else None
    )
    if quote is None:
        raise QuoteNotFound(f"No quote {number}.")
    return quote


@transaction.atomic
def accept_quote(
    *,
    number: str,
    company_id: int | None,
    actor: Actor,
    before_commit: Callable[[PlacedOrder], None] | None = None,
    note: str = "",
) -> PlacedOrder:
    """The buyer accepts quote ``number``: its draft is submitted
    (``drafts.submit_draft_order``: the held units become the order's commitment, holds
    are decided, the order is confirmed) and the quote ends accepted. Refused with 409
    when the quote expired, is no longer open, or the stock is gone; nothing changes
    then. ``before_commit`` runs with the placed order inside the transaction (the API
    stores its idempotent response there); ``note``, the buyer's, goes on the timeline."""
    found = find_company_quote(number, company_id)
    # The draft's row first (the global lock order), then the quote's.
    drafts.lock_order_row(found.order_id)
    quote = Quote.objects.select_for_update().get(pk=found.pk)
    if quote.status != QuoteStatus.SENT:
        raise QuoteNotOpen(f"Quote {quote.number} is {quote.get_status_display().lower()}.")
    if quote.expires_at <= timezone.now():
        raise QuoteExpired(
            f"Quote {quote.number} expired on {quote.expires_at:%Y-%m-%d %H:%M} UTC."
        )
    quote.status = QuoteStatus.ACCEPTED
    quote.closed_at = timezone.now()
    quote.save(update_fields=["status", "closed_at"])
    placed = drafts.submit_draft_order(order_id=quote.order_id, actor=actor)
    record_order_event(
        order=placed.order,
        type=OrderEventType.NOTE,
        actor=actor,
        message=f"Quote {quote.number} accepted by {actor.label}"
        + (f": {note.strip()}" if note.strip() else ""),
        payload={"quote": quote.number, "status": QuoteStatus.ACCEPTED, "note": note.strip()},
    )
    if before_commit is not None:
        before_commit(placed)
    return placed


def expire_quotes(*, now: datetime | None = None, limit: int = 500) -> int:
    """End the open quotes past their expiry and give their stock back; one transaction
    each. Returns how many expired."""
    now = now or timezone.now()
    due = list(
        Quote.objects.filter(status=QuoteStatus.SENT, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("order_id", flat=True)[:limit]
    )
    expired = 0
    for order_id in due:
        with transaction.atomic():
            order = drafts.lock_order_row(order_id)
            quote = (
                Quote.objects.select_for_update()
                .filter(order_id=order_id, status=QuoteStatus.SENT, expires_at__lte=now)
                .first()
            )
            if quote is None:
                continue  # accepted or replaced meanwhile
            quote.status = QuoteStatus.EXPIRED
            quote.closed_at = now
            quote.save(update_fields=["status", "closed_at"])
            released = end_network_reservations(order.number, status=ReservationStatus.EXPIRED)
            record_order_event(
                order=order,
                type=OrderEventType.NOTE,
                actor=Actor.system("quote expiry"),
                message=f"Quote {quote.number} expired"
                + ("; its stock was given back" if released else ""),
                payload={
                    "quote": quote.number,
                    "status": QuoteStatus.EXPIRED,
                    "released": {str(k): v for k, v in released.items()},
                },
            )
            expired += 1
    return expired
