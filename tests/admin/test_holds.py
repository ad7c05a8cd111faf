"""Holding and releasing orders from the console: one service call each, behind the
``orders.place_hold`` / ``orders.release_hold`` permissions, always with a reason."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from core.actors import ActorKind
from orders import services as order_services
from orders.models import OrderEvent, OrderEventType, OrderHold
from tests.admin.factories import OrderFactory
from tests.factories import CustomerFactory, ProductFactory, ShippingMethodFactory

pytestmark = pytest.mark.django_db


def _release_url(order) -> str:
    return reverse("admin:orders_order_release_hold", args=[order.pk])


def _place_url(order) -> str:
    return reverse("admin:orders_order_place_hold", args=[order.pk])


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _hold_state(hold: OrderHold) -> tuple:
    hold.refresh_from_db()
    return hold.released_at, hold.release_reason, OrderEvent.objects.count()


@pytest.fixture
def completed_order(operator):
    return order_services.import_historical_order(
        customer=CustomerFactory(),
        channel="web",
        shipping_method=ShippingMethodFactory(),
        address={"line1": "1 Main St", "city": "Reno", "postal_code": "89502", "country": "US"},
        lines=[order_services.HistoricalLine(ProductFactory(), 1, Decimal("10.00"))],
        placed_at=timezone.now() - dt.timedelta(days=30),
        outcome="completed",
        actor=operator,
    )


# --- release -------------------------------------------------------------------------


def test_release_hold_with_a_reason_releases_it_and_writes_an_event(
    admin_client, admin_user, open_hold
):
    order = open_hold.order
    confirmation = admin_client.get(_release_url(order), {"hold": open_hold.pk})
    assert confirmation.status_code == 200
    assert "Mismatched billing" in confirmation.content.decode()

    response = admin_client.post(
        _release_url(order), {"hold": open_hold.pk, "reason": "Verified by phone"}
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:orders_order_change", args=[order.pk])
    open_hold.refresh_from_db()
    assert open_hold.released_at is not None
    assert open_hold.release_reason == "Verified by phone"
    assert open_hold.released_by == admin_user
    event = OrderEvent.objects.filter(order=order).latest("id")
    assert event.type == OrderEventType.HOLD_RELEASED
    assert event.message == "Fraud review hold released: Verified by phone"
    assert (event.actor_kind, event.actor_user) == (ActorKind.USER, admin_user)
    assert _messages(response) == [f"{order.number}: Fraud review hold released."]


def test_agent_can_release_a_manual_hold(client_for, placed_order, operator):
    hold = order_services.place_hold(
        order=placed_order, kind="manual", reason="Customer asked to wait", actor=operator
    )
    response = client_for("agent").post(
        _release_url(placed_order), {"hold": hold.pk, "reason": "Cleared"}
    )

    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.released_by.username == "agent-user"
    assert hold.released_by_label == "agent-user"


def test_release_hold_without_the_permission_is_refused(client_for, open_hold):
    client = client_for("warehouse")  # may view orders, may not release holds
    before = _hold_state(open_hold)

    assert client.get(_release_url(open_hold.order)).status_code == 403
    response = client.post(_release_url(open_hold.order), {"hold": open_hold.pk, "reason": "x"})

    assert response.status_code == 403
    assert _hold_state(open_hold) == before
    assert before[0] is None


def test_release_hold_without_a_reason_is_refused(admin_client, open_hold):
    before = _hold_state(open_hold)

    response = admin_client.post(_release_url(open_hold.order), {"hold": open_hold.pk})

    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["This field is required."]}
    assert _hold_state(open_hold) == before


def test_a_hold_already_released_cannot_be_picked_again(admin_client, open_hold, operator):
    order = open_hold.order
    order_services.place_hold(order=order, kind="payment", reason="Card declined", actor=operator)
    order_services.release_hold(hold_id=open_hold.pk, reason="Done", actor=operator)
    events = OrderEvent.objects.count()

    response = admin_client.post(_release_url(order), {"hold": open_hold.pk, "reason": "Again"})

    assert "Select a valid choice" in response.context["form"].errors["hold"][0]
    open_hold.refresh_from_db()
    assert open_hold.release_reason == "Done"
    assert OrderEvent.objects.count() == events


def test_release_page_of_an_order_without_open_holds_says_so(admin_client, placed_order):
    response = admin_client.get(_release_url(placed_order))

    assert response.status_code == 302
    assert _messages(response) == [f"{placed_order.number} has no open hold."]


# --- place --------------------------------------------------------------------------


def test_place_hold_puts_the_order_on_hold(admin_client, admin_user, placed_order):
    response = admin_client.post(
        _place_url(placed_order), {"kind": "address", "reason": "Unit number missing"}
    )

    assert response.status_code == 302
    hold = OrderHold.objects.get(order=placed_order)
    assert (hold.kind, hold.reason, hold.placed_by_label) == (
        "address",
        "Unit number missing",
        admin_user.username,
    )
    assert OrderEvent.objects.filter(order=placed_order).latest("id").type == "hold_placed"


def test_a_second_open_hold_of_the_same_kind_is_refused(admin_client, open_hold):
    events = OrderEvent.objects.count()

    response = admin_client.post(
        _place_url(open_hold.order), {"kind": "fraud_review", "reason": "Again"}
    )

    # The refusal is a message above the form as typed, not a "Please correct" banner.
    assert response.status_code == 200
    assert _messages(response) == [
        f"Order {open_hold.order.number} already has an open fraud review hold."
    ]
    assert not response.context["form"].errors
    assert "Please correct" not in response.content.decode()
    assert OrderHold.objects.count() == 1
    assert OrderEvent.objects.count() == events


def test_a_completed_order_cannot_be_held(admin_client, completed_order):
    page = admin_client.get(reverse("admin:orders_order_change", args=[completed_order.pk]))
    assert page.context["can_place_hold"] is False

    response = admin_client.post(
        _place_url(completed_order), {"kind": "manual", "reason": "Late check"}
    )

    assert _messages(response) == [
        f"Order {completed_order.number} is completed; it cannot be held."
    ]
    assert not response.context["form"].errors
    assert not OrderHold.objects.exists()


def test_place_hold_without_the_permission_is_refused(client_for, placed_order):
    response = client_for("finance").post(
        _place_url(placed_order), {"kind": "manual", "reason": "x"}
    )

    assert response.status_code == 403
    assert not OrderHold.objects.exists()


# --- bulk actions ------------------------------------------------------------------------


def test_bulk_place_hold_asks_for_a_reason_then_holds_each_order(
    admin_client, placed_order, completed_order
):
    changelist = reverse("admin:orders_order_changelist")
    selection = {
        "action": "place_hold_on_orders",
        ACTION_CHECKBOX_NAME: [placed_order.pk, completed_order.pk],
    }

    confirmation = admin_client.post(changelist, selection)
    assert confirmation.status_code == 200
    assert confirmation.templates[0].name == "admin/oms/form_page.html"
    assert not OrderHold.objects.exists()

    response = admin_client.post(
        changelist, {**selection, "apply": "yes", "kind": "manual", "reason": "Recall check"}
    )

    assert response.status_code == 302
    assert list(OrderHold.objects.values_list("order_id", flat=True)) == [placed_order.pk]
    assert _messages(response) == [
        "Put 1 order on hold.",
        f"Order {completed_order.number} is completed; it cannot be held.",
    ]


def test_holds_queue_action_releases_selected_holds_with_a_reason(admin_client, operator):
    holds = [
        order_services.place_hold(
            order=OrderFactory(), kind="payment", reason="Card declined", actor=operator
        )
        for _ in range(2)
    ]
    changelist = reverse("admin:orders_orderhold_changelist")
    selection = {
        "action": "release_selected_holds",
        ACTION_CHECKBOX_NAME: [h.pk for h in holds],
    }

    missing_reason = admin_client.post(changelist, {**selection, "apply": "yes"})
    assert missing_reason.context["form"].errors == {"reason": ["This field is required."]}
    assert OrderHold.objects.filter(released_at__isnull=True).count() == 2

    response = admin_client.post(changelist, {**selection, "apply": "yes", "reason": "Paid"})

    assert response.status_code == 302
    assert not OrderHold.objects.filter(released_at__isnull=True).exists()
    assert OrderEvent.objects.filter(type=OrderEventType.HOLD_RELEASED).count() == 2


def test_holds_queue_action_is_not_offered_without_the_permission(client_for, open_hold):
    client = client_for("sales_rep")  # may view holds, may not release them
    changelist = reverse("admin:orders_orderhold_changelist")

    page = client.get(changelist)
    response = client.post(
        changelist,
        {
            "action": "release_selected_holds",
            ACTION_CHECKBOX_NAME: [open_hold.pk],
            "apply": "yes",
            "reason": "x",
        },
    )

    assert page.status_code == 200
    assert "release_selected_holds" not in page.content.decode()
    assert response.status_code == 200  # the plain list again: no such action for this user
    open_hold.refresh_from_db()
    assert open_hold.released_at is None
