"""B2B approvals through the API: the company's approver releases or refuses an order
waiting for approval with the company's key; nobody else can, and nothing changes on a
refusal."""

from decimal import Decimal

import pytest

from customers.api_keys import create_api_key, create_storefront_api_key
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from inventory.models import NetworkStock
from orders.models import HoldKind, Order, OrderEvent, OrderHold, OrderStatus
from tests.factories import CompanyFactory, CustomerFactory

from .conftest import api_client
from .support import assert_problem, order_body, post_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def approving_company(db):
    return CompanyFactory(credit_limit=Decimal("1000000"), approval_threshold=Decimal("50"))


@pytest.fixture
def keys(approving_company):
    buyer = CustomerFactory(company=approving_company, company_role="buyer")
    approver = CustomerFactory(company=approving_company, company_role="approver")
    return {
        "buyer": api_client(
            create_api_key(company=approving_company, name="erp", buyer=buyer).raw_key
        ),
        "approver": api_client(
            create_api_key(company=approving_company, name="approvals", buyer=approver).raw_key
        ),
    }


@pytest.fixture
def waiting(keys, stocked, address, standard, settings):
    """An order of 100.00, above the company's approval threshold of 50."""
    settings.OMS_AUTO_ROUTE = True
    response = post_order(keys["buyer"], order_body([(stocked[0].sku, 10)], address), "k-1")
    assert response.status_code == 201, response.content
    order = Order.objects.get(number=response.json()["number"])
    assert OrderHold.objects.filter(order=order, kind=HoldKind.B2B_APPROVAL).exists()
    return order


def _url(order, verb):
    return f"/api/v1/orders/{order.number}/{verb}/"


def _snapshot(order):
    order.refresh_from_db()
    return (
        order.status,
        list(OrderHold.objects.filter(order=order).values_list("kind", "released_at")),
        OrderEvent.objects.filter(order=order).count(),
    )


def test_the_approver_approves_and_the_order_is_released(
    keys, waiting, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = keys["approver"].post(
            _url(waiting, "approve"), {"reason": "Budget line 7"}, format="json"
        )

    assert response.status_code == 200, response.content
    assert response.json()["number"] == waiting.number
    hold = OrderHold.objects.get(order=waiting, kind=HoldKind.B2B_APPROVAL)
    assert hold.released_at is not None
    assert "Budget line 7" in hold.release_reason
    assert "approvals" in hold.released_by_label
    # Released, the order is routed (the last hold was the approval).
    assert FulfillmentOrder.objects.filter(order=waiting, status=FulfillmentStatus.OPEN).exists()


def test_a_buyer_who_is_not_an_approver_is_refused(keys, waiting):
    before = _snapshot(waiting)

    response = keys["buyer"].post(_url(waiting, "approve"), {"reason": "me"}, format="json")

    assert_problem(response, 403, "not_an_approver")
    assert _snapshot(waiting) == before


def test_another_company_cannot_see_the_order(api_b, waiting):
    before = _snapshot(waiting)

    response = api_b.post(_url(waiting, "approve"), {"reason": "x"}, format="json")

    assert response.status_code == 404
    assert _snapshot(waiting) == before


def test_an_order_not_waiting_for_approval_is_a_conflict(keys, waiting):
    keys["approver"].post(_url(waiting, "approve"), {"reason": "ok"}, format="json")
    before = _snapshot(waiting)

    response = keys["approver"].post(_url(waiting, "approve"), {"reason": "again"}, format="json")

    assert_problem(response, 409, "hold_not_open")
    assert _snapshot(waiting) == before


def test_a_decision_needs_a_reason(keys, waiting):
    before = _snapshot(waiting)

    response = keys["approver"].post(_url(waiting, "reject"), {}, format="json")

    assert response.status_code == 400
    assert _snapshot(waiting) == before


def test_the_approver_rejects_and_the_order_is_cancelled(keys, waiting, stocked):
    response = keys["approver"].post(
        _url(waiting, "reject"), {"reason": "Not in budget"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == OrderStatus.CANCELLED
    waiting.refresh_from_db()
    assert waiting.status == OrderStatus.CANCELLED
    hold = OrderHold.objects.get(order=waiting, kind=HoldKind.B2B_APPROVAL)
    assert hold.released_at is not None
    assert hold.release_reason.startswith("Rejected")
    # The committed demand went back to the network.

    assert NetworkStock.objects.get(product=stocked[0]).committed == 0


def test_the_storefront_cannot_approve(waiting, db):
    storefront = api_client(create_storefront_api_key(name="shop").raw_key)
    before = _snapshot(waiting)

    response = storefront.post(_url(waiting, "approve"), {"reason": "x"}, format="json")

    assert response.status_code == 403
    assert _snapshot(waiting) == before
