"""Idempotent order creation: any number of retries with one ``Idempotency-Key``
makes exactly one order, per company, and replays its response byte for byte."""

import pytest

from inventory.models import NetworkStock
from orders.models import IdempotencyKey, Order, OrderLine

from .conftest import api_client
from .support import (
    ORDERS_URL,
    assert_commitments_match_orders,
    assert_problem,
    order_body,
    post_order,
    run_together,
    written,
)

pytestmark = pytest.mark.django_db

RETRIES = 50


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_make_one_order(
    issued_key, stocked, address, standard, tax
):
    body = order_body([(stocked[0].sku, 2), (stocked[1].sku, 3)], address)

    def post():
        response = post_order(api_client(issued_key.raw_key), body, "retry-storm")
        return response.status_code, response["Content-Type"], response.content

    results = run_together([post] * RETRIES)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert {status for status, _, _ in results} == {201}
    assert {content_type for _, content_type, _ in results} == {"application/json"}
    assert len({content for _, _, content in results}) == 1
    order = Order.objects.get()
    assert results[0][2].decode().startswith(f'{{"number":"{order.number}"')
    assert OrderLine.objects.filter(order=order).count() == 2
    assert IdempotencyKey.objects.get().order == order
    assert dict(NetworkStock.objects.values_list("product__sku", "committed")) == {
        stocked[0].sku: 2,
        stocked[1].sku: 3,
        stocked[2].sku: 0,
    }
    assert_commitments_match_orders()


def test_the_created_order_reads_back_exactly_as_it_was_returned(
    api, company, stocked, address, standard, tax
):
    company.approval_threshold = 0  # the response carries a hold too
    company.save()

    created = post_order(api, order_body([(stocked[0].sku, 2)], address), "k-1")
    read = api.get(f"{ORDERS_URL}{created.json()['number']}/")

    assert created.status_code == 201
    assert created.json()["holds"][0]["kind"] == "b2b_approval"
    assert read.json() == created.json()


def test_a_backordered_order_is_returned_and_replayed_with_its_backorder(
    api, company, stocked, address, standard, tax
):
    """The idempotency record is written before the SKU rows are locked; when units
    then turn out backordered, the stored response is brought up to date."""
    company.allow_backorders = True
    company.save()

    created = post_order(api, order_body([(stocked[0].sku, 105)], address), "k-1")
    replayed = post_order(api, order_body([(stocked[0].sku, 105)], address), "k-1")
    read = api.get(f"{ORDERS_URL}{created.json()['number']}/")

    assert created.status_code == 201
    assert created.json()["lines"][0]["quantity_backordered"] == 5
    assert replayed.status_code == 201
    assert replayed.content == created.content
    assert read.json() == created.json()
    assert Order.objects.count() == IdempotencyKey.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api, stocked, address, standard):
    first = post_order(api, order_body([(stocked[0].sku, 1)], address), "k-1")
    assert first.status_code == 201
    before = written()

    reused = post_order(api, order_body([(stocked[0].sku, 2)], address), "k-1")

    assert_problem(reused, 422, "idempotency_key_reused")
    assert written() == before


def test_the_same_key_with_an_invalid_body_is_refused_as_reused(api, stocked, address, standard):
    assert post_order(api, order_body([(stocked[0].sku, 1)], address), "k-1").status_code == 201
    before = written()

    reused = post_order(api, order_body([(stocked[0].sku, 0)], address), "k-1")

    assert_problem(reused, 422, "idempotency_key_reused")
    assert written() == before


def test_keys_are_scoped_per_company(api, api_b, stocked, address, standard):
    body = order_body([(stocked[0].sku, 1)], address)

    a = post_order(api, body, "shared-key")
    b = post_order(api_b, body, "shared-key")
    a_again = post_order(api, body, "shared-key")
    b_again = post_order(api_b, body, "shared-key")

    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["number"] != b.json()["number"]
    assert a_again.content == a.content
    assert b_again.content == b.content
    assert Order.objects.count() == 2
    assert IdempotencyKey.objects.count() == 2


def test_a_retry_after_the_stock_ran_out_replays_the_original_success(
    api, api_b, stocked, address, standard
):
    body = order_body([(stocked[0].sku, 60)], address)
    first = post_order(api, body, "before-sell-out")
    sold_out = post_order(api_b, body, "someone-else")
    assert_problem(sold_out, 409, "insufficient_stock")
    before = written()

    retry = post_order(api, body, "before-sell-out")

    assert retry.status_code == 201
    assert retry.content == first.content
    assert written() == before
    assert NetworkStock.objects.get(product=stocked[0]).committed == 60


def test_a_refused_request_does_not_burn_its_key(api, stocked, address, standard):
    """Nothing is stored for a failure, so the client can fix the body and retry."""
    short = post_order(api, order_body([(stocked[0].sku, 101)], address), "k-9")
    fixed = post_order(api, order_body([(stocked[0].sku, 100)], address), "k-9")

    assert_problem(short, 409, "insufficient_stock")
    assert fixed.status_code == 201


def test_a_missing_or_blank_key_is_refused(api, stocked, address, standard):
    body = order_body([(stocked[0].sku, 1)], address)
    before = written()

    missing = post_order(api, body, key=None)
    blank = post_order(api, body, key="   ")
    too_long = post_order(api, body, key="k" * 256)

    assert_problem(missing, 400, "idempotency_key_required")
    assert_problem(blank, 400, "idempotency_key_required")
    assert_problem(too_long, 400, "invalid_input")
    assert written() == before
