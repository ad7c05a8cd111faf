"""Credit notes correct an invoice and never exceed it."""

import datetime as dt
from decimal import Decimal

import pytest

from billing.credit_notes import CreditExceedsInvoice, CreditLine, issue_credit_note
from billing.invoicing import invoice_shipment
from billing.models import CreditNote, CreditReason, DocumentSeries
from billing.selectors import credited_total
from core import outbox
from core.actors import Actor
from core.errors import InvalidInput
from core.models import OutboxEvent
from orders.models import OrderEvent
from tests.api.support import run_together
from tests.billing.conftest import make_products, place_routed, ship

FINANCE = Actor.system("finance test")
DAY = dt.date(2026, 6, 1)


@pytest.fixture
def invoice(shop):
    """The invoice of an order of 2 at $19.99 and 3 at $0.33, shipped in one parcel."""
    a, b = make_products(shop, [Decimal("19.99"), Decimal("0.33")])
    _, fo = place_routed([(a, 2), (b, 3)])
    return invoice_shipment(ship(fo).pk, issue_date=DAY)


def credit(invoice, **kwargs) -> CreditNote:
    kwargs.setdefault("reason", CreditReason.DAMAGED)
    return issue_credit_note(invoice_id=invoice.pk, actor=FINANCE, issue_date=DAY, **kwargs)


@pytest.mark.django_db
def test_crediting_units_takes_their_share_of_the_line_and_its_tax(invoice):
    line = invoice.lines.get(quantity=2)

    note = credit(invoice, lines=[CreditLine(line.pk, 1)])

    assert note.number == "CN-2026-000001"
    assert note.subtotal == Decimal("19.99")
    assert note.tax_total == (line.tax / 2).quantize(Decimal("0.01"))
    assert note.grand_total == note.subtotal + note.tax_total
    assert OrderEvent.objects.filter(
        order=invoice.order, message__startswith=f"Credit note {note.number}"
    ).exists()
    assert OutboxEvent.objects.filter(
        topic="credit_note.issued", payload__credit_note_id=note.pk
    ).exists()


@pytest.mark.django_db
def test_crediting_everything_credits_the_invoice_to_the_cent(invoice):
    first, second = invoice.lines.all()
    credit(invoice, lines=[CreditLine(first.pk, 1), CreditLine(second.pk, 2)])
    credit(invoice, lines=[CreditLine(first.pk, 1), CreditLine(second.pk, 1)], shipping=True)

    assert credited_total(invoice.pk) == invoice.grand_total
    with pytest.raises(CreditExceedsInvoice):
        credit(invoice, amount=Decimal("0.01"), reason=CreditReason.GOODWILL)


@pytest.mark.django_db
def test_an_amount_is_split_into_net_and_tax_like_the_invoice(invoice):
    note = credit(invoice, amount=Decimal("10.00"), reason=CreditReason.GOODWILL)

    [line] = note.lines.all()
    assert line.invoice_line is None
    assert note.grand_total == Decimal("10.00")
    assert note.tax_total == (Decimal("10.00") * invoice.tax_total / invoice.grand_total).quantize(
        Decimal("0.01")
    )


@pytest.mark.django_db
def test_a_credit_beyond_the_invoice_writes_nothing(invoice):
    line = invoice.lines.get(quantity=3)
    too_much = invoice.grand_total + Decimal("0.01")

    with pytest.raises(CreditExceedsInvoice):
        credit(invoice, amount=too_much)
    with pytest.raises(CreditExceedsInvoice):
        credit(invoice, lines=[CreditLine(line.pk, 4)])
    with pytest.raises(InvalidInput):
        credit(invoice, amount=Decimal("5.00"), reason="because")

    assert not CreditNote.objects.exists()
    assert not DocumentSeries.objects.filter(series="CN").exists()
    assert not OutboxEvent.objects.filter(topic="credit_note.issued").exists()


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_credit_notes_racing_for_the_same_invoice_never_exceed_it(shop, monkeypatch):
    """Each asks for 60 % of the invoice: under the invoice's lock one is issued, the
    other sees it and is refused."""
    monkeypatch.setitem(outbox.HANDLERS, "shipment.created", [])
    [product] = make_products(shop, [Decimal("50.00")])
    _, fo = place_routed([(product, 2)])
    invoice = invoice_shipment(ship(fo).pk, issue_date=DAY)
    share = (invoice.grand_total * Decimal("0.6")).quantize(Decimal("0.01"))

    results = run_together(
        [lambda: credit(invoice, amount=share, reason=CreditReason.GOODWILL)] * 2
    )

    issued = [r for r in results if isinstance(r, CreditNote)]
    refused = [r for r in results if isinstance(r, CreditExceedsInvoice)]
    assert (len(issued), len(refused)) == (1, 1), results
    assert credited_total(invoice.pk) == share
    assert DocumentSeries.objects.get(series="CN").last_number == 1
