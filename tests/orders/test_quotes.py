"""Quotes: a draft sent to its buyer with an expiry and its stock held; accepted (the
draft is submitted), withdrawn by an edit or a newer quote, or expired (stock back)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from core.actors import Actor
from core.errors import DomainError, InvalidInput
from core.models import OutboxEvent
from inventory.errors import InsufficientStock
from inventory.models import NetworkReservation, NetworkStock, ReservationStatus
from orders import drafts, quotes, tasks
from orders.models import (
    Notification,
    Order,
    OrderEvent,
    OrderStatus,
    Quote,
    QuoteSeries,
    QuoteStatus,
)
from orders.placement import LineRequest, OrderRequest
from tests.factories import CompanyFactory, CustomerFactory

pytestmark = pytest.mark.django_db

REP = Actor.system("rep")
BUYER = Actor.system("buyer api")


def draft_for(customer, products, address, quantities, **extra):
    return drafts.create_draft_order(
        request=OrderRequest(
            customer=customer,
            channel="sales",
            shipping_method_code="STANDARD",
            shipping_address=address,
            lines=[
                LineRequest(sku=p.sku, quantity=q)
                for p, q in zip(products, quantities, strict=True)
            ],
            **extra,
        ),
        actor=REP,
    )


def committed(product):
    return NetworkStock.objects.get(product=product).committed


@pytest.fixture
def quoted(buyer, stocked, address, standard):
    draft = draft_for(buyer, stocked[:2], address, (4, 5))
    quote = quotes.send_quote(order_id=draft.pk, actor=REP, valid_days=7)
    return draft, quote


def test_send_quote_numbers_it_holds_stock_and_emails_the_pdf(quoted, stocked, buyer):
    draft, quote = quoted

    assert quote.number == f"Q-{timezone.localdate().year}-000001"
    assert quote.status == QuoteStatus.SENT
    assert quote.company_id == buyer.company_id
    assert quote.sent_to == buyer.email
    assert quote.grand_total == draft.grand_total
    assert timedelta(days=6, hours=23) < quote.expires_at - timezone.now() <= timedelta(days=7)
    assert committed(stocked[0]) == 4
    assert committed(stocked[1]) == 5
    held = NetworkReservation.objects.filter(reference=draft.number, status="active")
    assert {r.expires_at for r in held} == {quote.expires_at}
    assert OrderEvent.objects.filter(order=draft, message__startswith=f"Quote {quote.number} sent")
    assert OutboxEvent.objects.filter(topic="quote.sent").count() == 1
    # After commit the PDF went out once, by e-mail, and is on the notification log.
    quotes.email_quote(quote.pk)
    quotes.email_quote(quote.pk)  # a redelivered event sends nothing more
    sent = [m for m in mail.outbox if quote.number in m.subject]
    assert len(sent) == 1
    assert sent[0].to == [buyer.email]
    (name, content, mimetype) = sent[0].attachments[0]
    assert name == f"{quote.number}.pdf"
    assert mimetype == "application/pdf"
    assert content.startswith(b"%PDF")
    assert quote.number in sent[0].body
    assert "Track your order" not in sent[0].body  # a draft has nothing to track yet
    assert Notification.objects.filter(event="quote_sent", order=draft).count() == 1


def test_quote_numbers_have_no_gaps_and_a_new_quote_withdraws_the_open_one(quoted):
    draft, first = quoted

    second = quotes.send_quote(order_id=draft.pk, actor=REP, valid_days=3)

    first.refresh_from_db()
    assert first.status == QuoteStatus.WITHDRAWN
    assert second.number.endswith("-000002")
    assert QuoteSeries.objects.get().last_number == 2
    # Only the new quote's hold is active, for its own expiry.
    held = NetworkReservation.objects.filter(reference=draft.number, status="active")
    assert {r.expires_at for r in held} == {second.expires_at}


def test_quote_refused_when_short_changes_nothing(buyer, stocked, address, standard):
    draft = draft_for(buyer, stocked[:1], address, (150,))
    events = OrderEvent.objects.count()

    with pytest.raises(InsufficientStock):
        quotes.send_quote(order_id=draft.pk, actor=REP)

    assert not Quote.objects.exists()
    assert not QuoteSeries.objects.filter(last_number__gt=0).exists()
    assert committed(stocked[0]) == 0
    assert OrderEvent.objects.count() == events
    assert not OutboxEvent.objects.filter(topic="quote.sent").exists()


@pytest.mark.parametrize("days", [0, 91])
def test_quote_validity_out_of_range_is_refused(buyer, stocked, address, standard, days):
    draft = draft_for(buyer, stocked[:1], address, (1,))
    with pytest.raises(InvalidInput):
        quotes.send_quote(order_id=draft.pk, actor=REP, valid_days=days)
    assert not Quote.objects.exists()


def test_accepting_places_the_draft_with_the_held_stock(quoted, stocked, buyer):
    draft, quote = quoted

    placed = quotes.accept_quote(number=quote.number, company_id=buyer.company_id, actor=BUYER)

    assert placed.order.pk == draft.pk
    draft.refresh_from_db()
    quote.refresh_from_db()
    assert draft.status == OrderStatus.PLACED
    assert quote.status == QuoteStatus.ACCEPTED
    assert committed(stocked[0]) == 4  # the hold became the commitment, not doubled
    assert NetworkReservation.objects.filter(reference=draft.number, status="consumed").count() == 2
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1


def test_accepting_twice_or_after_expiry_or_for_another_company_is_refused(quoted, buyer):
    draft, quote = quoted
    other = CompanyFactory()
    with pytest.raises(quotes.QuoteNotFound):
        quotes.accept_quote(number=quote.number, company_id=other.pk, actor=BUYER)
    Quote.objects.filter(pk=quote.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(quotes.QuoteExpired):
        quotes.accept_quote(number=quote.number, company_id=buyer.company_id, actor=BUYER)
    draft.refresh_from_db()
    assert draft.status == OrderStatus.DRAFT
    Quote.objects.filter(pk=quote.pk).update(expires_at=timezone.now() + timedelta(days=1))
    quotes.accept_quote(number=quote.number, company_id=buyer.company_id, actor=BUYER)
    with pytest.raises(quotes.QuoteNotOpen):
        quotes.accept_quote(number=quote.number, company_id=buyer.company_id, actor=BUYER)
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1


def test_expired_quote_gives_its_stock_back(quoted, stocked):
    draft, quote = quoted

    assert quotes.expire_quotes(now=timezone.now() + timedelta(days=1)) == 0
    assert quotes.expire_quotes(now=timezone.now() + timedelta(days=8)) == 1

    quote.refresh_from_db()
    assert quote.status == QuoteStatus.EXPIRED
    assert committed(stocked[0]) == 0
    assert not NetworkReservation.objects.filter(status=ReservationStatus.ACTIVE).exists()
    assert OrderEvent.objects.filter(order=draft, message__contains="expired").exists()
    # The draft stays editable, and it can be quoted again.
    assert Order.objects.get(pk=draft.pk).status == OrderStatus.DRAFT


def test_editing_the_draft_withdraws_its_quote_and_reprices(quoted, stocked, buyer, address):
    draft, quote = quoted

    edited = drafts.update_draft_order(
        order_id=draft.pk,
        request=OrderRequest(
            customer=buyer,
            channel="sales",
            shipping_method_code="STANDARD",
            shipping_address=address,
            lines=[LineRequest(sku=stocked[2].sku, quantity=3)],
            po_number="PO-9",
        ),
        actor=REP,
    )

    quote.refresh_from_db()
    assert quote.status == QuoteStatus.WITHDRAWN
    assert edited.number == draft.number
    assert edited.status == OrderStatus.DRAFT
    assert [(li.sku, li.quantity_ordered) for li in edited.lines.all()] == [(stocked[2].sku, 3)]
    assert edited.po_number == "PO-9"
    assert edited.subtotal == Decimal("30.00")
    assert committed(stocked[0]) == 0  # the quote's hold was given back
    with pytest.raises(quotes.QuoteNotOpen):
        quotes.accept_quote(number=quote.number, company_id=buyer.company_id, actor=BUYER)


def test_edit_refused_changes_nothing(quoted, buyer, address):
    draft, quote = quoted
    before = list(draft.lines.values_list("sku", "quantity_ordered"))

    with pytest.raises(DomainError, match="Unknown SKU"):
        drafts.update_draft_order(
            order_id=draft.pk,
            request=OrderRequest(
                customer=buyer,
                channel="sales",
                shipping_method_code="STANDARD",
                shipping_address=address,
                lines=[LineRequest(sku="NO-SUCH-SKU", quantity=1)],
            ),
            actor=REP,
        )

    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    assert list(draft.lines.values_list("sku", "quantity_ordered")) == before


def test_reorder_makes_a_draft_at_todays_prices(buyer, stocked, address, standard):
    draft = draft_for(buyer, stocked[:2], address, (2, 1), po_number="PO-1")
    placed = drafts.submit_draft_order(order_id=draft.pk, actor=REP).order
    stocked[0].list_price = Decimal("11.00")
    stocked[0].save()

    again = drafts.create_reorder_draft(
        order_id=placed.pk, actor=REP, channel="sales", placed_by=None
    )

    assert again.status == OrderStatus.DRAFT
    assert again.pk != placed.pk
    assert [(li.sku, li.quantity_ordered, li.unit_price) for li in again.lines.all()] == [
        (stocked[0].sku, 2, Decimal("11.00")),
        (stocked[1].sku, 1, Decimal("10.00")),
    ]
    assert again.po_number == ""
    assert OrderEvent.objects.filter(order=again, payload__reorder_of=placed.number).exists()


def test_warnings_name_credit_limit_approval_and_po_rule(stocked, address, standard):
    company = CompanyFactory(
        credit_limit=Decimal("50"), approval_threshold=Decimal("20"), payment_terms="net30"
    )
    buyer = CustomerFactory(company=company, company_role="buyer")
    draft = draft_for(buyer, stocked[:1], address, (9,))
    company.po_required = True
    company.save()
    draft.refresh_from_db()

    kinds = {w.kind for w in drafts.draft_warnings(draft)}

    assert {"po_number", "credit_limit", "b2b_approval"} <= kinds


def test_default_shipping_method_follows_the_company_latest_order(
    buyer, stocked, address, standard, pickup_method
):
    assert drafts.default_shipping_method_code(buyer) == "STANDARD"  # cheapest that ships
    assert drafts.default_shipping_method_code(None) == "STANDARD"


def test_open_quotes_of_a_company_soonest_to_expire_first(quoted, buyer, stocked, address):
    _draft, quote = quoted
    other = draft_for(buyer, stocked[2:3], address, (1,))
    sooner = quotes.send_quote(order_id=other.pk, actor=REP, valid_days=2)

    listed = list(quotes.list_open_quotes(company_id=buyer.company_id))

    assert listed == [sooner, quote]
    assert list(quotes.list_open_quotes(company_id=CompanyFactory().pk)) == []
    quotes.accept_quote(number=quote.number, company_id=buyer.company_id, actor=BUYER)
    assert list(quotes.list_open_quotes(customer_id=buyer.pk)) == [sooner]


def test_the_reservation_beat_task_expires_quotes_past_their_date(quoted, stocked):
    draft, quote = quoted
    Quote.objects.filter(pk=quote.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    NetworkReservation.objects.filter(reference=draft.number).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    tasks.release_expired_draft_reservations.apply()

    quote.refresh_from_db()
    assert quote.status == QuoteStatus.EXPIRED
    assert committed(stocked[0]) == 0
    assert NetworkReservation.objects.filter(reference=draft.number, status="expired").count() == 2
