"""Placement runs a fixed number of SQL queries whatever the number of lines, and the
orders list a fixed number whatever the number of orders.

The numbers are pinned in steady state: ``core.refcache`` keeps shipping methods
and tax rates per process, and an API key's ``last_used_at`` is stamped at most every
few minutes, so each measurement follows one warm-up order that loads them. Placement
is measured with ``transaction=True`` and Celery publishing to an in-memory broker,
as in production: the counts include BEGIN and COMMIT and the after-commit outbox
relay (one UPDATE stamping the event published), and no inline task.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.actors import Actor
from customers.api_keys import create_api_key
from customers.models import PriceList, PriceListEntry
from inventory import services as stock
from orders.models import HoldKind, Order, OrderHold
from orders.placement import LineRequest, OrderRequest, place_order
from tests.factories import CompanyFactory, CustomerFactory, ProductFactory

from .conftest import api_client
from .support import ORDERS_URL, celery_publishing_to, order_body, post_order

SIZES = (1, 5, 20)

# API key lookup; BEGIN; products; order INSERT (which takes the order number); the
# company's exposure; one INSERT of the lines, the timeline events and the outbox row;
# idempotency record INSERT; one statement locking the network rows and committing the
# demand; COMMIT; outbox relay UPDATE.
API_PLACEMENT_QUERIES = 10
# A company with a contract price list whose orders go on hold: + price-list entries
# SELECT (the holds and their timeline events join the one INSERT).
API_PLACEMENT_QUERIES_WITH_CONTRACT_AND_HOLDS = 11
# place_order alone: no API key lookup, no idempotency record.
SERVICE_PLACEMENT_QUERIES = 8
# API key lookup; orders page (with shipping method and pickup store joined); lines;
# open holds; shipments (none here, so their tracking events and lines are not read).
ORDER_LIST_QUERIES = 5


@pytest.fixture
def catalogue(warehouse, system_actor):
    products = [ProductFactory(list_price=Decimal("10.00")) for _ in range(max(SIZES))]
    for product in products:
        stock.receive_stock(location=warehouse, product=product, quantity=1000, actor=system_actor)
    return products


def _queries(call):
    with CaptureQueriesContext(connection) as context:
        result = call()
    return len(context.captured_queries), result


@pytest.mark.django_db(transaction=True)
def test_api_placement_runs_the_same_queries_for_1_5_and_20_lines(
    api, catalogue, address, standard, tax
):
    contract_company = CompanyFactory(
        credit_limit=Decimal("1000000"),
        approval_threshold=Decimal("0"),
        price_list=PriceList.objects.create(code="C1", name="Contract"),
    )
    PriceListEntry.objects.bulk_create(
        PriceListEntry(
            price_list=contract_company.price_list,
            product=product,
            min_quantity=1,
            unit_price=Decimal("9.00"),
        )
        for product in catalogue
    )
    CustomerFactory(company=contract_company, company_role="buyer")
    contract_api = api_client(create_api_key(company=contract_company, name="erp").raw_key)
    plain, contract = {}, {}

    with celery_publishing_to("memory://"):
        for client, counts in ((api, plain), (contract_api, contract)):
            warm_up = post_order(client, order_body([(catalogue[0].sku, 1)], address), "warm")
            assert warm_up.status_code == 201, warm_up.content
            for size in SIZES:
                body = order_body([(p.sku, 2) for p in catalogue[:size]], address)
                counts[size], response = _queries(
                    lambda body=body, client=client, size=size: post_order(
                        client, body, f"size-{size}"
                    )
                )
                assert response.status_code == 201, response.content
                assert len(response.json()["lines"]) == size

    assert plain == dict.fromkeys(SIZES, API_PLACEMENT_QUERIES)
    assert API_PLACEMENT_QUERIES <= 15
    assert contract == dict.fromkeys(SIZES, API_PLACEMENT_QUERIES_WITH_CONTRACT_AND_HOLDS)
    contract_orders = Order.objects.filter(company=contract_company)
    assert (
        OrderHold.objects.filter(order__in=contract_orders, kind=HoldKind.B2B_APPROVAL).count()
        == len(SIZES) + 1
    )
    assert {line.unit_price for o in contract_orders for line in o.lines.all()} == {Decimal("9.00")}


@pytest.mark.django_db(transaction=True)
def test_place_order_runs_the_same_queries_for_1_5_and_20_lines(
    buyer, catalogue, address, standard, tax
):
    actor = Actor.api_client("test")

    def place(size):
        return place_order(
            request=OrderRequest(
                customer=buyer,
                channel="b2b_api",
                shipping_method_code="STANDARD",
                shipping_address=address,
                lines=[LineRequest(sku=p.sku, quantity=3) for p in catalogue[:size]],
            ),
            actor=actor,
        )

    counts = {}
    with celery_publishing_to("memory://"):
        place(1)
        for size in SIZES:
            counts[size], placed = _queries(lambda size=size: place(size))
            assert len(placed.lines) == size

    assert counts == dict.fromkeys(SIZES, SERVICE_PLACEMENT_QUERIES)


@pytest.mark.django_db
def test_order_list_queries_do_not_grow_with_the_number_of_orders(
    api, catalogue, address, standard, tax, company
):
    def place(count, start):
        for index in range(start, start + count):
            lines = [(p.sku, 1 + index % 3) for p in catalogue[index % 5 : index % 5 + 4]]
            response = post_order(api, order_body(lines, address), f"list-{index}")
            assert response.status_code == 201, response.content

    def list_orders():
        response = api.get(ORDERS_URL)
        assert response.status_code == 200
        return response.json()["results"]

    company.approval_threshold = Decimal("50")  # some orders carry a hold
    company.save()
    place(3, 0)
    list_orders()  # warm-up
    few, shown_few = _queries(list_orders)
    place(27, 3)
    many, shown_many = _queries(list_orders)

    assert (len(shown_few), len(shown_many)) == (3, 30)
    assert all(len(order["lines"]) == 4 for order in shown_many)
    assert any(order["holds"] for order in shown_many)
    assert any(not order["holds"] for order in shown_many)
    assert few == many == ORDER_LIST_QUERIES
