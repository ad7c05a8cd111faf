"""The order search (``orders.search``): one term, every way an agent names an order.

Each kind of term is checked against a world where the other orders must not be found;
on PostgreSQL each branch of the search must be an index lookup."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import CreditNote, Invoice
from core.search import SearchTerm, fold, phone_national_digits
from fulfillment.models import FulfillmentOrder, Shipment
from orders.models import Order
from orders.search import (
    _sources,
    exact_order_number,
    matching_order_ids,
    register_source,
    search_orders,
)
from returns.models import ReturnRequest
from tests.admin.factories import OrderFactory, OrderLineFactory
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory, ProductFactory

PHONE_FORMS = ["303-555-0189", "3035550189", "+1 303 555 0189", "(303) 555.0189", "0013035550189"]


@pytest.mark.parametrize("text", PHONE_FORMS)
def test_a_phone_in_any_format_is_its_national_number(text):
    assert phone_national_digits(text) == "3035550189"


@pytest.mark.parametrize("text", ["PO-4411", "jose", "555-01", "SO-1000001x"])
def test_what_is_not_a_phone_number_has_no_digits_to_match(text):
    assert phone_national_digits(text) == ""


@pytest.mark.parametrize("text", ["SO-1000123", "so-1000123", "so1000123", " 1000123 "])
def test_an_order_number_with_or_without_its_prefix(text):
    assert exact_order_number(text) == "SO-1000123"


@pytest.mark.parametrize("text", ["PO-1000123", "SO-", "1000123 4", "mug"])
def test_what_names_no_order_number(text):
    assert exact_order_number(text) == ""


def test_a_term_keeps_words_long_enough_to_match_part_of_a_name():
    term = SearchTerm.parse("  Jo   GARCÍA  ")

    assert (term.raw, term.upper, term.words) == ("Jo GARCÍA", "JO GARCÍA", ("garcia",))
    assert term.typed_words == ("garcía",)
    assert term.email_part == ""
    assert fold("Ærø Çédille") == "ærø cedille"


@pytest.fixture
def world(db):
    company = CompanyFactory(account_number="SOCGEN1", name="Société Générale des Tasses")
    jose = CustomerFactory(
        first_name="José",
        last_name="García",
        email="jose.garcia@tasses.example",
        phone="+13035550189",
        company=company,
        company_role="buyer",
    )
    # His 14 orders each went to another phone: the customer's phone finds them all.
    his = [
        OrderFactory(customer=jose, company=company, ship_phone=f"+1 775 555 {n:04d}", lines=0)
        for n in range(14)
    ]
    guest = CustomerFactory(first_name="Ann", last_name="Lee", email="ann@lee.example")
    # A guest order shipped to his number typed by hand, with a PO and a reference.
    shipped_to_him = OrderFactory(
        customer=guest,
        ship_name="Reception, Tasses Inc.",
        ship_phone="303-555-0189",
        po_number="PO-Ab-77",
        external_reference="AMZ-114-2233",
        lines=0,
    )
    OrderLineFactory(order=shipped_to_him, line_number=1, product=ProductFactory(sku="MUG-TEAL"))
    other = OrderFactory(
        customer=CustomerFactory(first_name="Zed", last_name="Quinn", email="zed@q.example"),
        ship_name="Zed Quinn",
        lines=0,
    )
    return {"his": his, "shipped_to_him": shipped_to_him, "other": other, "jose": jose}


def _found(text: str) -> set[Order]:
    return set(search_orders(Order.objects.all(), text))


@pytest.mark.parametrize("text", PHONE_FORMS)
def test_a_phone_finds_the_customers_orders_and_those_shipped_to_it(world, text):
    assert _found(text) == {*world["his"], world["shipped_to_him"]}


@pytest.mark.parametrize("text", ["jose garc", "GARCÍA", "garcia jos", "Garcia"])
def test_part_of_a_customers_name_any_accent_or_case(world, text):
    if connection.vendor != "postgresql" and "í" not in text.lower():
        pytest.skip("SQLite has no unaccent: an accented name is found as written")
    assert _found(text) == set(world["his"])


@pytest.mark.parametrize("text", ["societe gener", "SOCIÉTÉ", "socgen1"])
def test_the_company_by_part_of_its_name_or_its_account(world, text):
    if connection.vendor != "postgresql" and text == "societe gener":
        pytest.skip("SQLite has no unaccent")
    assert _found(text) == set(world["his"])


def test_part_of_the_ship_to_name(world):
    assert _found("reception") == {world["shipped_to_him"]}


@pytest.mark.parametrize("text", ["garcia@tasses", "JOSE.GARCIA@TASSES.EXAMPLE", "@tasses.ex"])
def test_part_of_the_e_mail(world, text):
    assert _found(text) == set(world["his"])


@pytest.mark.parametrize("text", ["po-ab-77", "amz-114-2233", "mug-teal", "MUG-TEAL"])
def test_po_reference_and_sku_in_any_case(world, text):
    assert _found(text) == {world["shipped_to_him"]}


def test_the_order_number_with_or_without_prefix(world):
    order = world["other"]
    digits = order.number.removeprefix("SO-")

    for text in (order.number, order.number.lower(), digits, f"so{digits}"):
        assert _found(text) == {order}


def test_nothing_is_found_for_an_unknown_term(world):
    assert _found("SO-9999999") == set()
    assert _found("no such thing") == set()
    assert _found("   ") == set(Order.objects.all())


def test_a_short_word_matches_no_part_of_a_name(world):
    # Two letters would match most names (and no trigram index serves them).
    assert _found("ga") == set()


@pytest.fixture
def documents(world):
    """A shipment, an invoice with a credit note and an RMA of ``other``."""
    order = world["other"]
    location = LocationFactory()
    fo = FulfillmentOrder.objects.create(
        order=order,
        location=location,
        number=f"{order.number}-1",
        status="closed",
        ship_by_date=timezone.localdate(),
    )
    shipment = Shipment.objects.create(
        fulfillment_order=fo,
        order=order,
        service_level="standard",
        tracking_number="1Z999AA10123456784",
        shipped_at=timezone.now(),
    )
    invoice = Invoice.objects.create(
        number="INV-2026-000042",
        order=order,
        shipment=shipment,
        customer=order.customer,
        currency="USD",
        issue_date=timezone.localdate(),
        issued_at=timezone.now(),
        due_date=timezone.localdate() + dt.timedelta(days=30),
        payment_method="invoice",
        payment_terms="net30",
        payment_terms_days=30,
        subtotal=Decimal("10.00"),
        tax_total=Decimal("0"),
        grand_total=Decimal("10.00"),
    )
    CreditNote.objects.create(
        number="CN-2026-000007",
        invoice=invoice,
        order=order,
        customer=order.customer,
        currency="USD",
        issue_date=timezone.localdate(),
        issued_at=timezone.now(),
        reason="damaged",
        subtotal=Decimal("5.00"),
        tax_total=Decimal("0"),
        grand_total=Decimal("5.00"),
        actor_kind="system",
        actor_label="test",
    )
    ReturnRequest.objects.create(
        number="RMA-000123",
        order=order,
        customer=order.customer,
        status="requested",
        method="ship",
        destination=location,
    )
    return order


@pytest.mark.parametrize(
    "text",
    ["1Z999AA10123456784", "1z999aa10123456784", "inv-2026-000042", "CN-2026-000007", "rma-000123"],
)
def test_the_numbers_of_the_apps_above_orders(documents, text):
    # Tracking (fulfillment), invoice and credit note (billing), RMA (returns): each
    # registers its source in its AppConfig.ready.
    assert _found(text) == {documents}


def test_a_source_registers_once(monkeypatch):
    monkeypatch.setattr("orders.search._sources", list(_sources))
    from orders import search  # noqa: PLC0415 - the patched list

    def source(term):
        return None

    register_source(source)
    register_source(source)

    assert search._sources.count(source) == 1


def test_the_search_is_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        found = list(search_orders(Order.objects.all(), "303-555-0189"))
    assert len(found) == 15


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")
@pytest.mark.parametrize(
    "text", ["303-555-0189", "José García", "garcia@tasses", "PO-AB-77", "SO-1000001", "1Z999AA"]
)
def test_every_branch_is_an_index_lookup(world, text):
    # With sequential scans priced out, a branch that no index serves still shows one.
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = Order.objects.filter(pk__in=matching_order_ids(SearchTerm.parse(text))).explain()
    assert "Seq Scan" not in plan, plan
