"""Batch intake (``POST /api/v1/orders/batch/``): up to 500 orders in one request, each
placed as ``POST /api/v1/orders/`` places one, under its own idempotency key and in its
own transaction, answered one result per order in request order."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import NetworkStock
from orders.api.batch import MAX_BATCH_ORDERS
from orders.batch_placement import CHUNK_SIZE
from orders.models import IdempotencyKey, Order, OrderEvent, OrderLine

from .conftest import api_client
from .support import (
    ORDERS_URL,
    assert_commitments_match_orders,
    assert_problem,
    celery_publishing_to,
    order_body,
    post_order,
    run_together,
)

pytestmark = pytest.mark.django_db

BATCH_URL = "/api/v1/orders/batch/"


def post_batch(client, items):
    return client.post(BATCH_URL, {"orders": items}, format="json")


def item(key, body):
    return {"idempotency_key": key, "order": body}


def committed():
    return dict(NetworkStock.objects.values_list("product__sku", "committed"))


def test_each_order_is_answered_in_request_order_and_a_refused_one_leaves_the_others_placed(
    api, company, stocked, address, standard, tax
):
    a, b, c = (p.sku for p in stocked)
    items = [
        item("k-0", order_body([(a, 2), (b, 1)], address, po_number="PO-0")),
        item("k-1", order_body([(a, 101)], address, po_number="PO-1")),  # short: 409
        item("k-2", order_body([("NO-SUCH-SKU", 1)], address)),  # unknown SKU
        item("k-3", order_body([(c, 4)], address, shipping_method="NOPE")),  # 422
        item(
            "k-4",
            order_body([(b, 1)], address, notes="x", po_number="PO-4")
            | {"lines": [{"sku": b, "quantity": 1, "customization": {"engraving": "Hi"}}]},
        ),
        item("k-5", order_body([(c, 3)], address, po_number="PO-5")),
    ]

    response = post_batch(api, items)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3, 4, 5]
    assert [r["idempotency_key"] for r in results] == [f"k-{i}" for i in range(6)]
    assert [r["status"] for r in results] == [201, 409, 400, 422, 422, 201]
    assert (body["placed"], body["refused"]) == (2, 4)
    assert results[1]["problem"]["code"] == "insufficient_stock"
    assert results[1]["problem"]["lines"][0]["sku"] == a
    assert results[2]["problem"]["code"] == "unknown_sku"
    assert results[3]["problem"]["code"] == "unknown_shipping_method"
    assert results[4]["problem"]["code"] == "invalid_order"  # not customizable
    assert results[4]["problem"]["fields"] == {"lines[0].customization": "not customizable"}
    for refused in results[1:5]:
        assert "order" not in refused
        assert refused["problem"]["type"] == f"/problems/{refused['problem']['code']}"
        assert refused["problem"]["status"] == refused["status"]
    # The placed orders, exactly as the order resource reads them back.
    placed = [results[0]["order"], results[5]["order"]]
    assert [o["po_number"] for o in placed] == ["PO-0", "PO-5"]
    for order in placed:
        assert api.get(f"{ORDERS_URL}{order['number']}/").json() == order
    # The refused ones wrote nothing: no order, no key, no demand.
    assert Order.objects.count() == 2
    assert OrderLine.objects.count() == 3
    assert sorted(IdempotencyKey.objects.values_list("key", flat=True)) == ["k-0", "k-5"]
    assert committed() == {a: 2, b: 1, c: 3}
    assert_commitments_match_orders()


def test_a_batch_sent_again_replays_every_result_and_places_nothing_twice(
    api, company, stocked, address, standard, tax
):
    a, b, _ = (p.sku for p in stocked)
    items = [
        item("r-0", order_body([(a, 60)], address)),
        item("r-1", order_body([(a, 60)], address)),  # short once r-0 took 60 of 100
        item("r-2", order_body([(b, 5)], address)),
    ]
    first = post_batch(api, items)
    events = OrderEvent.objects.count()

    again = post_batch(api, items)

    assert [r["status"] for r in first.json()["results"]] == [201, 409, 201]
    # The placed ones replay byte for byte; the refused one is tried again (and refused).
    assert again.json() == first.json()
    assert Order.objects.count() == 2
    assert OrderEvent.objects.count() == events
    assert committed()[a] == 60
    assert committed()[b] == 5


def test_a_key_is_one_order_across_the_single_and_the_batch_endpoint(
    api, company, stocked, address, standard, tax
):
    body = order_body([(stocked[0].sku, 2)], address)
    single = post_order(api, body, "shared")

    batch = post_batch(
        api,
        [
            item("shared", body),  # the same order: replayed
            item("shared", order_body([(stocked[0].sku, 3)], address)),  # another body
        ],
    )

    results = batch.json()["results"]
    assert results[0]["status"] == 201
    assert results[0]["order"] == single.json()
    assert results[1]["status"] == 422
    assert results[1]["problem"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1
    assert committed()[stocked[0].sku] == 2


def test_orders_are_placed_for_the_key_s_company_and_keys_are_per_company(
    api, api_b, company, company_b, stocked, address, standard, tax
):
    body = order_body([(stocked[0].sku, 1)], address)

    ours = post_batch(api, [item("same-key", body)]).json()["results"][0]["order"]
    theirs = post_batch(api_b, [item("same-key", body)]).json()["results"][0]["order"]

    assert ours["number"] != theirs["number"]
    assert Order.objects.get(number=ours["number"]).company == company
    assert Order.objects.get(number=theirs["number"]).company == company_b
    assert api.get(f"{ORDERS_URL}{theirs['number']}/").status_code == 404
    assert api_b.get(f"{ORDERS_URL}{ours['number']}/").status_code == 404


def test_holds_apply_to_each_order_of_a_batch_as_to_a_single_order(
    api, company, stocked, address, standard, tax
):
    company.approval_threshold = Decimal("50.00")
    company.save()
    small = order_body([(stocked[0].sku, 1)], address)  # 10.00: no approval needed
    large = order_body([(stocked[0].sku, 10)], address)  # 100.00: over the threshold

    results = post_batch(api, [item("s", small), item("l", large)]).json()["results"]

    assert results[0]["order"]["holds"] == []
    assert [h["kind"] for h in results[1]["order"]["holds"]] == ["b2b_approval"]


def test_an_order_that_breaks_the_schema_refuses_the_whole_batch(
    api, company, stocked, address, standard, tax
):
    """A mapping error is the client's to fix before anything is placed: nothing of the
    batch is, and each bad order is named by its index."""
    good = order_body([(stocked[0].sku, 1)], address)

    response = post_batch(
        api,
        [
            item("fine", good),
            "not an object",
            {"order": good},  # no key
            item("  ", good),  # a blank key
            item("x" * 256, good),  # a key too long
            item("extra", good) | {"note": "?"},
            {"idempotency_key": "no-order"},
            item("no-lines", {**good, "lines": []}),
            item("zero", order_body([(stocked[0].sku, 0)], address)),
            item("fine-too", good),
        ],
    )

    problem = assert_problem(response, 422, "invalid_batch")
    fields = problem["fields"]
    assert sorted(fields) == [
        "orders[1]",
        "orders[2]",
        "orders[3].idempotency_key",
        "orders[4].idempotency_key",
        "orders[5]",
        "orders[6]",
        "orders[7]",
        "orders[8]",
    ]
    assert fields["orders[2]"] == {"idempotency_key": ["A string is required."]}
    assert "lines" in fields["orders[7]"]["order"]
    assert "quantity" in str(fields["orders[8]"]["order"]["lines"])
    assert problem["detail"] == "8 of the 10 orders are not valid: nothing was placed."
    assert Order.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"orders": {}},
        {"orders": []},
        {"orders": "all of them"},
        {"items": []},
        {"orders": [{"idempotency_key": "k", "order": {}}], "dry_run": True},
    ],
)
def test_a_malformed_envelope_is_refused_whole(api, company, stocked, body):
    response = api.post(BATCH_URL, body, format="json")

    problem = assert_problem(response, 422, "invalid_batch")
    assert problem["fields"]
    assert Order.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0


def test_more_than_500_orders_are_refused_whole(api, company, stocked, address, standard, tax):
    body = order_body([(stocked[0].sku, 1)], address)
    items = [item(f"k-{i}", body) for i in range(MAX_BATCH_ORDERS + 1)]

    response = post_batch(api, items)

    problem = assert_problem(response, 413, "batch_too_large")
    assert problem["limit"] == MAX_BATCH_ORDERS == 500
    assert Order.objects.count() == 0
    assert committed()[stocked[0].sku] == 0


def test_the_batch_endpoint_needs_a_company_key(client, stocked, address, standard):
    response = client.post(
        BATCH_URL,
        {"orders": [item("k", order_body([(stocked[0].sku, 1)], address))]},
        content_type="application/json",
    )

    assert_problem(response, 401, "not_authenticated")
    assert Order.objects.count() == 0


def test_the_batch_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"][BATCH_URL]["post"]
    assert set(operation["responses"]) >= {"200", "413", "422"}
    assert operation["requestBody"]["content"]["application/json"]["schema"]


# Per chunk of a batch (up to CHUNK_SIZE orders, placed together): BEGIN; products and
# a credit slot; the company's credit standing; the request keys' INSERT; the network
# rows locked; their commitments' UPDATE; the order numbers; the orders' INSERT; one
# INSERT of lines, holds, events and outbox rows; the responses' UPDATE; COMMIT; the
# outbox relay's UPDATE. The API key lookup is the batch's, once.
QUERIES_PER_CHUNK = 12
QUERIES_PER_BATCH = 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_runs_a_fixed_number_of_queries_per_chunk_whatever_its_size(
    api, company, stocked, address, standard, tax
):
    counts = {}
    with celery_publishing_to("memory://"):
        warm = post_order(api, order_body([(stocked[0].sku, 1)], address), "warm")
        assert warm.status_code == 201
        for size in (1, 5, 20, CHUNK_SIZE + 1):
            items = [
                item(f"q-{size}-{i}", order_body([(stocked[i % 3].sku, 1)], address))
                for i in range(size)
            ]
            with CaptureQueriesContext(connection) as captured:
                response = post_batch(api, items)
            assert response.json()["placed"] == size, response.content
            counts[size] = len(captured.captured_queries)

    chunks = {1: 1, 5: 1, 20: 1, CHUNK_SIZE + 1: 2}
    assert counts == {size: QUERIES_PER_BATCH + QUERIES_PER_CHUNK * n for size, n in chunks.items()}


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_twice_at_once_places_each_order_once(
    issued_key, stocked, address, standard, tax
):
    """A client that times out and sends its batch again while the first is still
    running: each key makes one order, the stock is committed once, and both answers
    carry the same orders."""
    a, b, c = (p.sku for p in stocked)
    items = [
        item(f"twice-{i}", order_body([(sku, 2), (c, 1)], address, po_number=f"PO-{i}"))
        for i, sku in enumerate([a, b, a, b, a, b])
    ]

    def send():
        response = post_batch(api_client(issued_key.raw_key), items)
        return response.status_code, response.json()

    results = run_together([send, send, send])

    assert [r[0] for r in results if not isinstance(r, BaseException)] == [200, 200, 200]
    answers = [r[1] for r in results]
    for answer in answers:
        assert [x["status"] for x in answer["results"]] == [201] * 6
    numbers = {tuple(x["order"]["number"] for x in answer["results"]) for answer in answers}
    assert len(numbers) == 1
    assert Order.objects.count() == 6
    assert IdempotencyKey.objects.count() == 6
    assert committed() == {a: 6, b: 6, c: 6}
    assert_commitments_match_orders()
