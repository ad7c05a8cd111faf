"""Stock operations in the console: each calls one service under its own permission;
a refused one shows why and changes nothing."""

import pytest
from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from core.actors import ActorKind
from inventory.models import MovementReason, NetworkStock, StockLevel, StockMovement
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def _url(slug: str) -> str:
    return reverse(f"admin:inventory_stocklevel_{slug.replace('-', '_')}")


def _stock_state() -> tuple:
    """Every counter, the ledger size and the network totals: what must not move."""
    levels = tuple(
        StockLevel.objects.order_by("pk").values_list(
            "location_id",
            "product_id",
            "on_hand",
            "allocated",
            "reserved",
            "safety_stock",
            "unsellable",
            "incoming",
        )
    )
    networks = tuple(NetworkStock.objects.order_by("pk").values_list("available", "committed"))
    return levels, StockMovement.objects.count(), networks


def _adjust(client, **overrides) -> object:
    data = {
        "sku": "MUG-RED",
        "location": "RNO1",
        "bucket": "on_hand",
        "delta": "-3",
        "reason": "Broken on the shelf",
    }
    data.update(overrides)
    return client.post(_url("adjust"), data)


def _form_errors(response) -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context["form"].errors.items()}


def _refusals(response) -> list[str]:
    """The error messages of a refused operation, once the page shows no form error
    and no "Please correct the error below" banner."""
    assert response.status_code == 200
    assert _form_errors(response) == {}
    assert "Please correct the error" not in response.content.decode()
    found = [(m.level, m.message) for m in get_messages(response.wsgi_request)]
    assert {level for level, _ in found} == {messages.ERROR}
    return [message for _, message in found]


# --- refused changes ---------------------------------------------------------------------


def test_adjustment_below_zero_is_refused_and_changes_nothing(admin_client, stocked_level):
    before = _stock_state()

    response = _adjust(admin_client, delta="-11")

    assert _refusals(response) == ["on hand would become -1; it cannot go below 0."]
    page = response.content.decode()
    assert '<li class="error">On hand would become -1; it cannot go below 0.</li>' in page
    assert response.context["form"]["delta"].value() == "-11"  # the form as it was typed
    assert _stock_state() == before


def test_adjustment_below_reserved_units_is_refused(admin_client, stocked_level, world):
    # ``world`` reserves 2 of the 10 units.
    before = _stock_state()

    response = _adjust(admin_client, delta="-9")

    assert _refusals(response) == ["Only 1 on hand, but 0 allocated and 2 reserved would remain."]
    assert _stock_state() == before


def test_adjustment_of_an_unknown_sku_is_refused(admin_client, stocked_level):
    before = _stock_state()

    response = _adjust(admin_client, sku="NO-SUCH-SKU")

    assert response.status_code == 200
    assert _form_errors(response) == {"sku": ["Unknown SKU 'NO-SUCH-SKU'."]}
    assert _stock_state() == before


def test_adjustment_at_an_unknown_location_is_refused(admin_client, stocked_level):
    before = _stock_state()

    response = _adjust(admin_client, location="NOWHERE")

    assert _form_errors(response) == {"location": ["Unknown location 'NOWHERE'."]}
    assert _stock_state() == before


@pytest.mark.parametrize("reason", ["", "   "])
def test_adjustment_without_a_reason_is_refused(admin_client, stocked_level, reason):
    before = _stock_state()

    response = _adjust(admin_client, reason=reason)

    assert _form_errors(response) == {"reason": ["This field is required."]}
    assert _stock_state() == before


def test_zero_adjustment_is_refused(admin_client, stocked_level):
    before = _stock_state()

    response = _adjust(admin_client, delta="0")

    assert _form_errors(response) == {"delta": ["The change cannot be zero."]}
    assert _stock_state() == before


def test_transfer_of_more_than_is_free_is_refused_and_creates_nothing(admin_client, stocked_level):
    LocationFactory(code="SFO1")
    before = _stock_state()

    response = admin_client.post(
        _url("transfer"),
        {
            "sku": "MUG-RED",
            "location": "RNO1",
            "destination": "SFO1",
            "quantity": "11",
            "reason": "Rebalance",
        },
    )

    assert _refusals(response) == ["RNO1 has only 10 free units of MUG-RED."]
    assert _stock_state() == before  # not even an empty stock row at SFO1


def test_cycle_count_below_commitments_is_refused(admin_client, stocked_level, world):
    before = _stock_state()

    response = admin_client.post(
        _url("count"), {"sku": "MUG-RED", "location": "RNO1", "counted": "1", "reason": "Count"}
    )

    [refusal] = _refusals(response)
    assert "2 reserved would remain" in refusal
    assert _stock_state() == before


# --- accepted changes ---------------------------------------------------------------------


def test_adjustment_changes_the_level_and_writes_a_ledger_row_by_the_user(
    admin_client, admin_user, stocked_level
):
    movements_before = StockMovement.objects.count()

    response = _adjust(admin_client, delta="-3", reference="INC-9")

    assert response.status_code == 302
    assert response.url == reverse("admin:inventory_stocklevel_change", args=[stocked_level.pk])
    stocked_level.refresh_from_db()
    assert stocked_level.on_hand == 7
    assert StockMovement.objects.count() == movements_before + 1
    movement = StockMovement.objects.latest("id")
    assert (movement.bucket, movement.delta, movement.balance_after) == ("on_hand", -3, 7)
    assert movement.reason == MovementReason.ADJUSTMENT
    assert movement.note == "Broken on the shelf"
    assert movement.reference == "INC-9"
    assert movement.actor_kind == ActorKind.USER
    assert movement.actor_user == admin_user
    assert NetworkStock.objects.get(product=stocked_level.product).available == 7
    page = admin_client.get(response.url).content.decode()
    assert "Adjusted on hand of MUG-RED at RNO1 by -3: Broken on the shelf" in page


def test_warehouse_staff_can_receive_stock(client_for, stocked_level):
    client = client_for("warehouse")

    response = client.post(
        _url("receive"),
        {
            "sku": "mug-red",
            "location": "rno1",
            "quantity": "5",
            "reference": "ASN-77",
            "reason": "Inbound truck",
        },
    )

    assert response.status_code == 302
    stocked_level.refresh_from_db()
    assert stocked_level.on_hand == 15
    movement = StockMovement.objects.latest("id")
    assert (movement.reason, movement.delta, movement.reference) == ("receipt", 5, "ASN-77")
    assert movement.actor_user.username == "warehouse-user"


def test_transfer_moves_units_between_locations(admin_client, stocked_level):
    destination = LocationFactory(code="SFO1")

    response = admin_client.post(
        _url("transfer"),
        {
            "sku": "MUG-RED",
            "location": "RNO1",
            "destination": "SFO1",
            "quantity": "4",
            "reason": "Rebalance",
        },
    )

    assert response.status_code == 302
    stocked_level.refresh_from_db()
    assert stocked_level.on_hand == 6
    assert StockLevel.objects.get(location=destination).on_hand == 4


def test_cycle_count_sets_on_hand(admin_client, stocked_level):
    response = admin_client.post(
        _url("count"),
        {"sku": "MUG-RED", "location": "RNO1", "counted": "8", "reason": "Aisle 4 count"},
    )

    assert response.status_code == 302
    stocked_level.refresh_from_db()
    assert stocked_level.on_hand == 8
    movement = StockMovement.objects.latest("id")
    assert (movement.reason, movement.delta, movement.note) == ("cycle_count", -2, "Aisle 4 count")


def test_mark_unsellable_moves_units_out_of_on_hand(admin_client, stocked_level):
    response = admin_client.post(
        _url("unsellable"),
        {"sku": "MUG-RED", "location": "RNO1", "quantity": "2", "reason": "Crushed box"},
    )

    assert response.status_code == 302
    stocked_level.refresh_from_db()
    assert (stocked_level.on_hand, stocked_level.unsellable) == (8, 2)


def test_safety_stock_reason_is_kept_in_the_admin_history(admin_client, stocked_level):
    response = admin_client.post(
        _url("safety-stock"),
        {"sku": "MUG-RED", "location": "RNO1", "quantity": "3", "reason": "Display units"},
    )

    assert response.status_code == 302
    stocked_level.refresh_from_db()
    assert stocked_level.safety_stock == 3
    assert stocked_level.available_to_promise == 7
    entry = LogEntry.objects.get(object_id=str(stocked_level.pk))
    assert "Display units" in entry.get_change_message()


# --- permissions ----------------------------------------------------------------------


def test_agent_cannot_adjust_stock(client_for, stocked_level):
    client = client_for("agent")
    before = _stock_state()

    assert client.get(_url("adjust")).status_code == 403
    assert _adjust(client).status_code == 403
    assert _stock_state() == before


@pytest.mark.parametrize("slug", ["receive", "adjust", "transfer", "count"])
def test_finance_staff_cannot_use_any_stock_operation(client_for, stocked_level, slug):
    assert client_for("finance").get(_url(slug)).status_code == 403


def test_stock_operation_buttons_follow_permissions(client_for, stocked_level):
    changelist = reverse("admin:inventory_stocklevel_changelist")

    agent_page = client_for("agent").get(changelist)
    warehouse_page = client_for("warehouse").get(changelist)

    assert agent_page.context["stock_operations"] == []
    assert [op["title"] for op in warehouse_page.context["stock_operations"]] == [
        "Receive stock",
        "Adjust stock",
        "Transfer stock",
        "Record a cycle count",
        "Mark stock unsellable",
        "Set safety stock",
    ]


def test_anonymous_users_are_sent_to_the_login_page(client, stocked_level):
    response = client.post(_url("receive"), {"sku": "MUG-RED"})

    assert response.status_code == 302
    assert "/login/" in response.url
