"""Batch intake placed set-based (``orders.batch_placement``): a chunk of a company's
orders shares one transaction and one statement per step, and every order gets the
outcome it would have had through ``POST /api/v1/orders/`` after the ones before it:
same totals, holds, stock, timeline, outbox rows and idempotency records; a refused
order leaves nothing; keys, stock and credit exact under concurrency."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from core.actors import Actor
from core.models import OutboxEvent
from customers.api_keys import create_api_key
from customers.models import Company
from inventory import services as stock
from inventory.models import NetworkStock
from orders import batch_placement
from orders.batch_placement import CHUNK_SIZE, place_order_chunk
from orders.models import HoldKind, IdempotencyKey, Order, OrderEvent, OrderHold, OrderLine
from orders.placement import LineRequest, OrderRequest, PlacedOrder
from tests.factories import CompanyFactory, CustomerFactory, LocationFactory, ProductFactory

from .conftest import api_client
from .support import (
    assert_commitments_match_orders,
    celery_publishing_to,
    order_body,
    post_order,
    run_together,
    written,
)

pytestmark = pytest.mark.django_db

BATCH_URL = "/api/v1/orders/batch/"
ACTOR = Actor.system("batch test")


def post_batch(client, items):
    return client.post(BATCH_URL, {"orders": items}, format="json")


def item(key, body):
    return {"idempotency_key": key, "order": body}


def committed() -> dict[str, int]:
    return dict(NetworkStock.objects.values_list("product__sku", "committed"))


def _without(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in names}


def _order_text(body: dict[str, Any]) -> dict[str, Any]:
    """An order's representation without what differs between two placements of it
    (its number and the moments it was written)."""
    body = _without(body, "number", "created_at", "updated_at")
    body["holds"] = [_without(h, "placed_at") for h in body["holds"]]
    return body


def _answer(status: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if status == 201:
        return status, _order_text(body)
    return status, _without(body, "instance")


def snapshot(company: Company) -> dict[str, Any]:
    """Everything placement wrote for ``company``, per order in placement order,
    without ids, numbers and times."""
    orders = []
    ids = []
    for order in Order.objects.filter(company=company).order_by("pk"):
        ids.append(order.pk)
        orders.append(
            {
                "po": order.po_number,
                "status": order.status,
                "totals": (order.subtotal, order.tax_total, order.shipping_total),
                "grand_total": order.grand_total,
                "ship": (order.ship_name, order.ship_postal_code, order.ship_country),
                "payment": (order.payment_method, order.payment_status),
                "promised": order.promised_delivery_date,
                "lines": list(
                    OrderLine.objects.filter(order=order)
                    .order_by("line_number")
                    .values_list(
                        "line_number",
                        "sku",
                        "description",
                        "unit_price",
                        "line_total",
                        "tax_total",
                        "quantity_ordered",
                        "quantity_allocated",
                        "quantity_backordered",
                        "customization",
                    )
                ),
                "holds": list(
                    OrderHold.objects.filter(order=order)
                    .order_by("pk")
                    .values_list("kind", "reason", "placed_by_label", "released_at")
                ),
                "events": list(
                    OrderEvent.objects.filter(order=order)
                    .order_by("pk")
                    .values_list("type", "message", "payload", "actor_kind", "actor_label")
                ),
                "keys": list(
                    IdempotencyKey.objects.filter(order=order).values_list("key", "response_status")
                ),
            }
        )
    outbox = [
        (event.topic, _without(event.payload, "order_id", "number", "log"))
        for event in OutboxEvent.objects.order_by("pk")
        if event.payload.get("order_id") in ids
    ]
    skus = {line[1] for order in orders for line in order["lines"]}
    return {
        "orders": orders,
        "outbox": outbox,
        "committed": {sku: units for sku, units in committed().items() if sku in skus},
        "keys": sorted(
            IdempotencyKey.objects.filter(company=company).values_list("key", flat=True)
        ),
    }


@dataclass
class Side:
    """A company, its API client and its own catalogue: one side of a comparison."""

    company: Company
    api: Any
    skus: dict[str, str]
    prefix: str

    def same_text(self, value: Any) -> Any:
        """``value`` with this side's SKUs and account number written as the other
        side's are."""
        text = json.dumps(value, default=str, sort_keys=True)
        text = text.replace(f"{self.prefix}-", "SKU-")
        return json.loads(text.replace(self.company.account_number, "ACCOUNT"))


def side(prefix: str, credit_limit: str, warehouse: Any, actor: Actor) -> Side:
    company = CompanyFactory(
        credit_limit=Decimal(credit_limit), approval_threshold=Decimal("300.00")
    )
    CustomerFactory(company=company, company_role="buyer")
    client = api_client(create_api_key(company=company, name="erp").raw_key)
    skus = {}
    for name, price, units, extra in (
        ("A", "10.00", 100, {}),
        ("B", "10.00", 100, {}),
        ("C", "10.00", 100, {}),
        ("BO", "7.50", 5, {"allow_backorder": True}),  # sold beyond its stock
        ("SC", "20.00", 10, {}),  # scarce
    ):
        product = ProductFactory(
            sku=f"{prefix}-{name}", name=f"Item {name}", list_price=Decimal(price), **extra
        )
        stock.receive_stock(location=warehouse, product=product, quantity=units, actor=actor)
        skus[name] = product.sku
    return Side(company, client, skus, prefix)


def mixed_items(skus: dict[str, str], address: dict[str, Any]) -> list[dict[str, Any]]:
    """Placed orders, refused ones of every kind, holds, backorders, stock running out
    and keys used twice, in one batch."""
    a, b, c, bo, sc = (skus[name] for name in ("A", "B", "C", "BO", "SC"))
    abroad = {
        "name": "Ana Comprador",
        "line1": "Calle Mayor 1",
        "city": "Madrid",
        "country": "ES",
    }  # no postal code: an address hold
    first = order_body([(a, 2), (b, 1)], address, po_number="PO-0")
    return [
        item("m-0", first),
        item("m-1", order_body([(a, 500)], address, po_number="PO-1")),  # short: 409
        item("m-2", order_body([("NO-SUCH-SKU", 1)], address)),  # unknown: 400
        item("m-3", order_body([(bo, 8), (c, 1)], address, po_number="PO-3")),  # backorder
        item("m-4", order_body([(b, 40)], address, po_number="PO-4")),  # 400.00: approval
        item("m-5", order_body([(c, 2)], abroad, po_number="PO-5")),  # address hold
        item(
            "m-6",
            order_body([(a, 1)], address)
            | {"lines": [{"sku": a, "quantity": 1, "customization": {"engraving": "Hi"}}]},
        ),  # not customizable: 422
        item("m-7", order_body([(sc, 10)], address, po_number="PO-7")),  # the last 10
        item("m-8", order_body([(sc, 1), (a, 1)], address, po_number="PO-8")),  # short: 409
        item("m-9", order_body([(a, 3), (c, 3)], address, po_number="PO-9", notes="gate 4")),
        item("m-0", first),  # the same key and order: replayed
        item("m-0", order_body([(a, 1)], address)),  # the same key, another order: 422
        item("m-10", order_body([(bo, 1)], address, po_number="PO-10")),
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("credit_limit", "credit_held"),
    [
        pytest.param("1000000", [], id="far from the credit limit: one credit slot"),
        pytest.param(
            "600",
            ["PO-7", "PO-9", "PO-10"],  # PO-7 takes the exposure past 600.00
            id="near the credit limit: all the slots, credit holds",
        ),
    ],
)
def test_a_batch_writes_exactly_what_single_intake_writes_for_the_same_orders(
    warehouse, address, standard, tax, system_actor, credit_limit, credit_held
):
    # Given two companies alike, each with its own catalogue alike, and orders of every
    # outcome (the orders of each company are committed: its exposure is real)
    single = side("S1", credit_limit, warehouse, system_actor)
    batch = side("B1", credit_limit, warehouse, system_actor)

    with celery_publishing_to("memory://"):  # placement only: nothing is routed inline
        # When one company places them one by one through POST /orders/ ...
        singles = []
        for entry in mixed_items(single.skus, address):
            answer = post_order(single.api, entry["order"], entry["idempotency_key"])
            singles.append(_answer(answer.status_code, answer.json()))
        # ... and the other in one batch
        response = post_batch(batch.api, mixed_items(batch.skus, address))

    # Then every answer and every row is the same
    assert response.status_code == 200
    results = response.json()["results"]
    batched = [_answer(r["status"], r.get("order") or r.get("problem")) for r in results]
    assert batch.same_text(batched) == single.same_text(singles)
    expected = [201, 409, 400, 201, 201, 201, 422, 201, 409, 201, 201, 422, 201]
    assert [status for status, _ in batched] == expected
    assert batch.same_text(snapshot(batch.company)) == single.same_text(snapshot(single.company))
    assert_commitments_match_orders()
    # The replay is the first answer, byte for byte; holds of every kind were decided
    assert results[10]["order"] == results[0]["order"]
    held = {o["po_number"]: [h["kind"] for h in o["holds"]] for o in _placed(results)}
    assert HoldKind.B2B_APPROVAL in held["PO-4"]
    assert HoldKind.ADDRESS in held["PO-5"]
    assert [po for po, kinds in held.items() if HoldKind.CREDIT_LIMIT in kinds] == credit_held


@pytest.fixture
def backorderable(warehouse, system_actor):
    """A SKU sold beyond its stock (5 units): the shortfall is backordered."""
    product = ProductFactory(list_price=Decimal("7.50"), allow_backorder=True)
    stock.receive_stock(location=warehouse, product=product, quantity=5, actor=system_actor)
    return product


@pytest.fixture
def scarce(warehouse, system_actor):
    """A SKU with 10 units and no backorders."""
    product = ProductFactory(list_price=Decimal("20.00"))
    stock.receive_stock(location=warehouse, product=product, quantity=10, actor=system_actor)
    return product


def _placed(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["order"] for r in results if r["status"] == 201]


def test_a_refused_order_in_the_middle_of_a_chunk_leaves_nothing(
    api, company, stocked, scarce, address, standard, tax
):
    # Given a batch whose middle order finds its SKU short once the ones before it
    # took the stock (its key was written with the chunk's, before the stock rows)
    a = stocked[0].sku
    items = [
        item("r-0", order_body([(scarce.sku, 6), (a, 1)], address)),
        item("r-1", order_body([(scarce.sku, 6), (a, 1)], address)),  # 4 left: refused
        item("r-2", order_body([(scarce.sku, 4), (a, 1)], address)),
    ]

    response = post_batch(api, items)

    # Then the others are placed, and of the refused one nothing is left: no order, no
    # line, no event, no outbox row, no key, no demand
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == [201, 409, 201]
    problem = response.json()["results"][1]["problem"]
    assert problem["code"] == "insufficient_stock"
    assert problem["lines"] == [{"line": 1, "sku": scarce.sku, "requested": 6, "available": 4}]
    assert Order.objects.count() == 2
    assert OrderLine.objects.count() == 4
    assert OrderEvent.objects.count() == 2
    assert sorted(OutboxEvent.objects.values_list("topic", flat=True)) == ["order.placed"] * 2
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["r-0", "r-2"]
    assert committed()[scarce.sku] == 10
    assert committed()[a] == 2
    assert_commitments_match_orders()


def test_a_batch_that_places_nothing_writes_nothing(
    api, company, stocked, scarce, address, standard, tax
):
    before = written()

    response = post_batch(
        api,
        [
            item("n-0", order_body([(scarce.sku, 11)], address)),
            item("n-1", order_body([("NOPE", 1)], address)),
            item("n-2", order_body([(stocked[0].sku, 1)], address, shipping_method="NOPE")),
        ],
    )

    assert [r["status"] for r in response.json()["results"]] == [409, 400, 422]
    assert written() == before


def test_stock_runs_out_mid_batch_exactly_and_later_orders_are_refused_or_backordered(
    api, company, stocked, scarce, backorderable, address, standard, tax
):
    # Given 10 units of one SKU and 5 of a backorderable one
    items = [item(f"s-{i}", order_body([(scarce.sku, 3)], address)) for i in range(4)]
    items.append(item("s-4", order_body([(scarce.sku, 1)], address)))
    items += [item(f"b-{i}", order_body([(backorderable.sku, 2)], address)) for i in range(4)]

    results = post_batch(api, items).json()["results"]

    # Then the first three take 9, the fourth (3) is refused, the fifth takes the last
    # one; the backorderable SKU commits its 5 units and backorders the rest
    assert [r["status"] for r in results[:5]] == [201, 201, 201, 409, 201]
    assert committed()[scarce.sku] == 10
    backordered = [r["order"]["lines"][0]["quantity_backordered"] for r in results[5:]]
    assert backordered == [0, 0, 1, 2]
    assert committed()[backorderable.sku] == 5
    notes = OrderEvent.objects.filter(message__startswith="Backordered:").count()
    assert notes == 2
    assert_commitments_match_orders()


def test_a_key_twice_in_a_batch_and_again_in_the_next_is_one_order(
    api, company, stocked, address, standard, tax
):
    a, b, _ = (p.sku for p in stocked)
    once = order_body([(a, 1)], address, po_number="PO-ONCE")
    items = [
        item("dup", once),
        item("other", order_body([(b, 1)], address)),
        item("dup", once),  # a retry inside the batch: replayed
        item("dup", order_body([(a, 2)], address)),  # another order under the key: 422
    ]

    first = post_batch(api, items).json()["results"]
    again = post_batch(api, [item("dup", once), item("new", order_body([(b, 2)], address))])

    assert [r["status"] for r in first] == [201, 201, 201, 422]
    assert first[2]["order"] == first[0]["order"]
    assert first[3]["problem"]["code"] == "idempotency_key_reused"
    second = again.json()["results"]
    assert [r["status"] for r in second] == [201, 201]
    assert second[0]["order"] == first[0]["order"]
    assert Order.objects.filter(po_number="PO-ONCE").count() == 1
    assert Order.objects.count() == 3
    assert committed()[a] == 1
    assert committed()[b] == 3


def test_pickup_orders_are_placed_one_at_a_time_between_chunks_in_request_order(
    api, company, stocked, address, standard, pickup_method, tax, system_actor
):
    # Given a store with 2 units of a SKU, and a batch with a pickup order between others
    store = LocationFactory(code="ST-1", pickup=True, kind="store")
    a = stocked[0].sku
    stock.receive_stock(location=store, product=stocked[0], quantity=2, actor=system_actor)
    pickup = order_body([(a, 2)], address, shipping_method="PICKUP") | {"pickup_location": "ST-1"}
    items = [
        item("p-0", order_body([(a, 1)], address)),
        item("p-1", pickup),
        item("p-2", order_body([(a, 1)], address)),
    ]

    results = post_batch(api, items).json()["results"]

    assert [r["status"] for r in results] == [201, 201, 201]
    assert results[1]["order"]["pickup_location"] == "ST-1"
    assert [li["quantity_allocated"] for li in results[1]["order"]["lines"]] == [2]
    numbers = [r["order"]["number"] for r in results]
    assert numbers == sorted(numbers)  # placed in request order
    assert_commitments_match_orders()


def test_a_chunk_larger_than_the_chunk_size_is_split_and_every_order_placed(
    api, company, stocked, address, standard, tax
):
    size = CHUNK_SIZE + 3
    items = [
        item(f"c-{i}", order_body([(stocked[i % 3].sku, 1)], address, po_number=f"PO-{i}"))
        for i in range(size)
    ]

    results = post_batch(api, items).json()["results"]

    assert [r["status"] for r in results] == [201] * size
    assert [r["order"]["po_number"] for r in results] == [f"PO-{i}" for i in range(size)]
    assert Order.objects.count() == size
    assert IdempotencyKey.objects.count() == size
    assert sum(committed().values()) == size


# --- Concurrency --------------------------------------------------------------------------


def _deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return int(cursor.fetchone()[0])


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_and_single_orders_on_the_same_skus_sell_exact_stock_without_deadlock(
    issued_key, company, warehouse, address, standard, tax, system_actor
):
    """Three batches (SKUs listed in different orders) and single orders at once over
    four SKUs of 30 units: every unit sold once, none oversold, no deadlock."""
    products = [ProductFactory(list_price=Decimal("5.00")) for _ in range(4)]
    for product in products:
        stock.receive_stock(location=warehouse, product=product, quantity=30, actor=system_actor)
    skus = [p.sku for p in products]
    orders_of = [skus, list(reversed(skus)), skus[2:] + skus[:2]]

    def batch(n: int):
        items = [
            item(f"t{n}-{i}", order_body([(sku, 2) for sku in orders_of[n]], address))
            for i in range(12)
        ]
        response = post_batch(api_client(issued_key.raw_key), items)
        return [r["status"] for r in response.json()["results"]]

    def single(n: int):
        body = order_body([(skus[n % 4], 1), (skus[(n + 1) % 4], 1)], address)
        return [post_order(api_client(issued_key.raw_key), body, f"single-{n}").status_code]

    deadlocks = _deadlocks()
    outcomes = run_together(
        [lambda n=n: batch(n) for n in range(3)] + [lambda n=n: single(n) for n in range(6)]
    )

    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert errors == []
    statuses = [s for outcome in outcomes for s in outcome]
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) == Order.objects.count()
    assert _deadlocks() == deadlocks
    # Every SKU's commitment is its orders' units, and never beyond its 30 units
    assert_commitments_match_orders()
    for sku, units in committed().items():
        assert units <= 30, sku
    # Each batch order takes 2 of every SKU: with 30 units each, no more than 15 fit
    assert sum(committed().values()) <= 120
    assert IdempotencyKey.objects.count() == Order.objects.count()


def _chunk_of(buyer, product, quantities: list[int]) -> list[OrderRequest]:
    return [
        OrderRequest(
            customer=buyer,
            channel="b2b_api",
            shipping_method_code="STANDARD",
            shipping_address={
                "name": "Pat Buyer",
                "line1": "350 Fifth Avenue",
                "city": "New York",
                "region": "NY",
                "postal_code": "10118",
                "country": "US",
            },
            lines=[LineRequest(sku=product.sku, quantity=q)],
        )
        for q in quantities
    ]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@override_settings(OMS_CREDIT_PARALLEL_ORDERS=4, OMS_CREDIT_HEADROOM="0.5")
def test_concurrent_chunks_of_one_company_never_pass_its_credit_limit_together(
    standard, warehouse, system_actor
):
    """Chunks decide credit as single orders do: small ones far from the limit with
    one slot, the others with all of them, so the un-held orders of chunks placed at
    once stay within the limit."""
    company = CompanyFactory(credit_limit=Decimal("1000.00"))
    buyer = CustomerFactory(company=company, company_role="buyer")
    product = ProductFactory(list_price=Decimal("10.00"))
    stock.receive_stock(location=warehouse, product=product, quantity=10_000, actor=system_actor)
    chunks = [[3, 3, 3], [20, 20], [4, 4, 4, 4], [30], [2, 2, 2, 2, 2], [15, 15]]

    outcomes = run_together(
        [
            lambda q=q: place_order_chunk(requests=_chunk_of(buyer, product, q), actor=ACTOR)
            for q in chunks
        ]
    )

    assert [o for o in outcomes if isinstance(o, BaseException)] == []
    assert all(isinstance(p, PlacedOrder) for outcome in outcomes for p in outcome)
    orders = list(Order.objects.filter(company=company))
    held = set(
        OrderHold.objects.filter(kind=HoldKind.CREDIT_LIMIT).values_list("order_id", flat=True)
    )
    unheld = sum((o.grand_total for o in orders if o.pk not in held), Decimal("0"))
    assert sum(o.grand_total for o in orders) > company.credit_limit
    assert unheld <= company.credit_limit
    assert held


def test_the_chunk_service_refuses_orders_it_does_not_place(
    company, buyer, stocked, standard, pickup_method
):
    other = CustomerFactory(company=None)
    lines = [LineRequest(sku=stocked[0].sku, quantity=1)]
    pickup = OrderRequest(
        customer=buyer,
        channel="b2b_api",
        shipping_method_code="PICKUP",
        pickup_location_code="ST-1",
        lines=lines,
    )
    mine = OrderRequest(customer=buyer, channel="b2b_api", shipping_method_code="X", lines=lines)
    theirs = OrderRequest(customer=other, channel="web", shipping_method_code="X", lines=lines)

    assert batch_placement.sets_apart(pickup)
    with pytest.raises(ValueError, match="one at a time"):
        place_order_chunk(requests=[mine, pickup], actor=ACTOR)
    with pytest.raises(ValueError, match="one company"):
        place_order_chunk(requests=[mine, theirs], actor=ACTOR)
    assert Order.objects.count() == 0
