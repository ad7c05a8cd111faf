"""``POST /api/v1/quotes/{number}/accept/``: a buyer accepts the quote its seller sent;
the draft becomes an order, once per Idempotency-Key, within its tenant only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.actors import Actor
from inventory.models import NetworkStock
from orders import drafts, quotes
from orders.models import Order, OrderStatus, Quote, QuoteStatus
from orders.placement import LineRequest, OrderRequest
from tests.api.conftest import api_client
from tests.api.support import assert_problem, run_together, written

pytestmark = pytest.mark.django_db

REP = Actor.system("rep")


def accept(client, number, key="accept-1", body=None):
    url = reverse("api-quote-accept", kwargs={"number": number})
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(url, body or {}, format="json", **headers)


@pytest.fixture
def quote(buyer, stocked, address, standard):
    draft = drafts.create_draft_order(
        request=OrderRequest(
            customer=buyer,
            channel="sales",
            shipping_method_code="STANDARD",
            shipping_address=address,
            lines=[LineRequest(sku=stocked[0].sku, quantity=3)],
            po_number="PO-77",
        ),
        actor=REP,
    )
    return quotes.send_quote(order_id=draft.pk, actor=REP)


def test_accept_places_the_order_and_answers_201_with_it(api, quote, stocked):
    response = accept(api, quote.number, body={"note": "Go ahead"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == quote.order.number
    assert body["quote"] == quote.number
    assert body["status"] == OrderStatus.PLACED
    assert body["po_number"] == "PO-77"
    assert [(li["sku"], li["quantity"]) for li in body["lines"]] == [(stocked[0].sku, 3)]
    assert body["shipments"] == []
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
    assert Order.objects.get(pk=quote.order_id).status == OrderStatus.PLACED
    assert NetworkStock.objects.get(product=stocked[0]).committed == 3


def test_a_retry_with_the_same_key_gets_the_same_order(api, quote):
    first = accept(api, quote.number)
    again = accept(api, quote.number)

    assert again.status_code == 201
    assert again.content == first.content
    assert Order.objects.filter(status=OrderStatus.PLACED).count() == 1


def test_accepting_again_with_a_new_key_is_a_conflict(api, quote):
    accept(api, quote.number)
    before = written()

    response = accept(api, quote.number, key="accept-2")

    assert_problem(response, 409, "quote_not_open")
    assert written() == before


def test_an_expired_quote_is_refused_and_nothing_changes(api, quote):
    Quote.objects.filter(pk=quote.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    before = written()

    response = accept(api, quote.number)

    assert_problem(response, 409, "quote_expired")
    assert written() == before
    assert Order.objects.get(pk=quote.order_id).status == OrderStatus.DRAFT


def test_stock_gone_since_is_refused(api, quote, stocked):
    # The quote's hold ran out and someone else took the units.
    quotes.expire_quotes(now=timezone.now() + timedelta(days=30))
    Quote.objects.filter(pk=quote.pk).update(
        status=QuoteStatus.SENT, expires_at=timezone.now() + timedelta(days=1)
    )
    NetworkStock.objects.filter(product=stocked[0]).update(available=0)
    before = written()

    response = accept(api, quote.number)

    assert_problem(response, 409, "insufficient_stock")
    assert written() == before


def test_another_company_gets_404_and_nothing_changes(api_b, quote):
    before = written()

    response = accept(api_b, quote.number)

    assert response.status_code == 404
    assert written() == before
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_the_idempotency_key_is_required(api, quote):
    response = accept(api, quote.number, key=None)

    assert_problem(response, 400, "idempotency_key_required")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT


def test_the_endpoint_is_in_the_openapi_schema(client):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/quotes/{number}/accept/"]["post"]
    assert "201" in operation["responses"]
    assert "409" in operation["responses"]


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_acceptances_place_one_order(issued_key, quote, stocked):
    """Buyers' systems accepting the same quote at once, each with its own key: one
    order, the others refused; and the expiry job running meanwhile changes nothing."""

    def accept_with(key):
        def call():
            response = accept(api_client(issued_key.raw_key), quote.number, key=key)
            return response.status_code

        return call

    calls = [accept_with(f"accept-{n}") for n in range(8)]
    calls.append(quotes.expire_quotes)
    results = run_together(calls)

    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(results[:-1]) == [201] + [409] * 7
    assert results[-1] == 0
    assert Order.objects.filter(status=OrderStatus.PLACED).count() == 1
    assert NetworkStock.objects.get(product=stocked[0]).committed == 3
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.ACCEPTED
