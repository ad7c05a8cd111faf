"""Gap-free numbering: a locked counter row per series and year."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from billing.invoicing import invoice_shipment
from billing.models import DocumentSeries, Invoice
from billing.numbering import CREDIT_NOTE_SERIES, INVOICE_SERIES, format_number, next_number
from core import outbox
from tests.api.support import run_together
from tests.billing.conftest import make_products, place_routed, ship

DAY = dt.date(2026, 3, 14)


def test_numbers_count_per_series_and_year(db):
    with transaction.atomic():
        first = next_number(INVOICE_SERIES, DAY)
        second = next_number(INVOICE_SERIES, DAY)
        credit = next_number(CREDIT_NOTE_SERIES, DAY)
        next_year = next_number(INVOICE_SERIES, dt.date(2027, 1, 1))

    assert (first, second) == ("INV-2026-000001", "INV-2026-000002")
    assert credit == "CN-2026-000001"
    assert next_year == "INV-2027-000001"
    assert format_number("INV", 2026, 123) == "INV-2026-000123"


@pytest.mark.django_db(transaction=True)
def test_a_number_is_taken_only_inside_a_transaction():
    with pytest.raises(RuntimeError):
        next_number(INVOICE_SERIES, DAY)


def test_a_rolled_back_document_gives_its_number_back(db):
    class Abandoned(Exception):
        pass

    def abandon() -> None:
        with transaction.atomic():
            next_number(INVOICE_SERIES, DAY)
            raise Abandoned

    with pytest.raises(Abandoned):
        abandon()

    with transaction.atomic():
        assert next_number(INVOICE_SERIES, DAY) == "INV-2026-000001"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_numbers_are_consecutive_without_gaps_even_with_rollbacks():
    """Sixty transactions race for numbers; every third rolls back after taking one.
    The forty that commit hold 1..40: no gap, no duplicate."""

    class Abandoned(Exception):
        pass

    def take(index: int) -> str:
        with transaction.atomic():
            number = next_number(INVOICE_SERIES, DAY)
            if index % 3 == 2:
                raise Abandoned
            return number

    results = run_together([lambda i=i: take(i) for i in range(60)])

    numbers = [r for r in results if isinstance(r, str)]
    assert sum(isinstance(r, Abandoned) for r in results) == 20
    assert sorted(numbers) == [format_number("INV", 2026, n) for n in range(1, 41)]
    assert DocumentSeries.objects.get(series="INV", year=2026).last_number == 40


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_fifty_invoices_issued_concurrently_get_fifty_consecutive_numbers(shop, monkeypatch):
    """Fifty shipments of fifty orders, invoiced by fifty threads at once (not by the
    outbox as they ship)."""
    monkeypatch.setitem(outbox.HANDLERS, "shipment.created", [])
    [product] = make_products(shop, [Decimal("12.50")], stock_each=60)
    shipments = []
    for _ in range(50):
        _, fo = place_routed([(product, 1)])
        shipments.append(ship(fo))

    results = run_together(
        [lambda pk=s.pk: invoice_shipment(pk, issue_date=DAY).number for s in shipments]
    )

    assert not [r for r in results if not isinstance(r, str)]
    assert sorted(results) == [format_number("INV", 2026, n) for n in range(1, 51)]
    assert Invoice.objects.count() == 50
    assert Invoice.objects.values("shipment").distinct().count() == 50
