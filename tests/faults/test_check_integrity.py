"""``check_integrity`` passes on a database written only through the services, and
reports (exit status non-zero) each kind of violation written behind their back."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from core.models import OutboxEvent
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from fulfillment.operations import ship_fulfillment_order
from fulfillment.routing import route_order
from inventory.commitments import reserve_network
from inventory.models import StockLevel
from oms.integrity import check_integrity
from orders.models import Order, OrderLine
from tests.api.support import ORDERS_URL, order_body, post_order, written

pytestmark = pytest.mark.django_db


@pytest.fixture
def lived_in(api, stocked, address, standard, system_actor):
    """Orders in every state the checks read: one shipped, one routed, one waiting
    for routing, one cancelled, and a draft's reservation on the network."""
    numbers = []
    for n, lines in enumerate(
        [
            [(stocked[0].sku, 2)],
            [(stocked[0].sku, 1), (stocked[1].sku, 3)],
            [(stocked[1].sku, 4)],
            [(stocked[2].sku, 5)],
        ]
    ):
        response = post_order(api, order_body(lines, address), f"lived-in-{n}")
        assert response.status_code == 201, response.content
        numbers.append(response.json()["number"])
    shipped, routed, waiting, cancelled = (Order.objects.get(number=n) for n in numbers)
    route_order(order_id=shipped.pk)
    route_order(order_id=routed.pk)
    fo = FulfillmentOrder.objects.get(order=shipped)
    ship_fulfillment_order(fo_id=fo.pk, actor=system_actor, tracking_number="1Z999")
    response = api.post(f"{ORDERS_URL}{cancelled.number}/cancel/", {"reason": "x"}, format="json")
    assert response.status_code == 200, response.content
    reserve_network(
        {stocked[2].pk: 7},
        reference="DRAFT-1",
        expires_at=timezone.now() + timedelta(hours=1),
        actor=system_actor,
    )
    return {"shipped": shipped, "routed": routed, "waiting": waiting, "cancelled": cancelled}


def run_check() -> tuple[str, bool]:
    """Run the command; its output, and whether it failed (exits non-zero)."""
    out = StringIO()
    try:
        call_command("check_integrity", stdout=out)
    except CommandError as exc:
        failure = str(exc)
    else:
        return out.getvalue(), False
    assert failure.endswith("integrity violations.")
    return out.getvalue(), True


def reported(output: str) -> set[str]:
    return {line.split(":", 1)[0] for line in output.splitlines() if ": " in line}


def execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def drop_constraint(table: str, name: str) -> None:
    """Take a CHECK constraint away, in this test's transaction only (rolled back
    after it), so that a row can break it. Deferred foreign-key checks run first:
    PostgreSQL alters no table with pending trigger events."""
    execute("SET CONSTRAINTS ALL IMMEDIATE")
    execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")


def test_a_database_written_through_the_services_passes(lived_in):
    # Given orders shipped, routed, waiting, cancelled and a draft's reservation
    before = written()

    # when the check runs
    output, failed = run_check()

    # then it passes, says so, and writes nothing.
    assert not failed, output
    assert check_integrity() == []
    assert "no violations" in output
    assert written() == before


def test_a_stock_bucket_that_disagrees_with_its_ledger_is_reported(lived_in, stocked, warehouse):
    # Given incoming units written without a ledger row
    execute(
        "UPDATE inventory_stocklevel SET incoming = incoming + 3 WHERE product_id = %s",
        [stocked[0].pk],
    )

    output, failed = run_check()

    assert failed
    assert reported(output) == {"ledger_mismatch"}
    assert f"{stocked[0].sku} at {warehouse.code}: incoming is 3, its ledger rows add up to 0" in (
        output
    )


def test_a_negative_bucket_is_reported(lived_in, stocked):
    # Given the database's CHECK taken away (in this test's transaction only) and a
    # bucket below zero, recorded in the ledger so that only the sign is wrong
    drop_constraint("inventory_stocklevel", "stock_safety_stock_nonneg")
    drop_constraint("inventory_stockmovement", "movement_balance_nonneg")
    level = StockLevel.objects.get(product=stocked[1])
    execute(
        "UPDATE inventory_stocklevel SET safety_stock = -2 WHERE id = %s",
        [level.pk],
    )
    execute(
        "INSERT INTO inventory_stockmovement (stock_level_id, location_id, product_id, bucket,"
        " delta, balance_after, reason, reference, note, created_at, actor_kind, actor_label)"
        " VALUES (%s, %s, %s, 'safety_stock', -2, -2, 'adjustment', '', '', now(), 'system', '')",
        [level.pk, level.location_id, level.product_id],
    )
    # (a negative safety stock adds to availability: the network row is corrected too,
    # so that the sign is the only thing wrong)
    execute(
        "UPDATE inventory_networkstock SET available = available + 2 WHERE product_id = %s",
        [stocked[1].pk],
    )

    output, failed = run_check()

    assert failed
    assert reported(output) == {"negative_bucket"}, output
    assert "safety stock is -2" in output


def test_network_availability_that_disagrees_with_the_locations_is_reported(lived_in, stocked):
    execute(
        "UPDATE inventory_networkstock SET available = available + 5 WHERE product_id = %s",
        [stocked[2].pk],
    )

    output, failed = run_check()

    assert failed
    assert reported(output) == {"network_available_mismatch"}
    assert f"{stocked[2].sku} across the network: available is" in output


def test_a_commitment_that_disagrees_with_open_orders_is_reported(lived_in, stocked):
    # Given one committed unit of the waiting order forgotten by the network row
    execute(
        "UPDATE inventory_networkstock SET committed = committed - 1 WHERE product_id = %s",
        [stocked[1].pk],
    )

    output, failed = run_check()

    assert failed
    assert reported(output) == {"committed_mismatch"}
    assert "committed is 3, open orders need 4 and reservations hold 0" in output


def test_line_buckets_that_do_not_add_up_are_reported(lived_in):
    # Given more units delivered than shipped on the shipped order's line
    drop_constraint("orders_orderline", "line_delivered_within_shipped")
    line = OrderLine.objects.get(order=lived_in["shipped"])
    execute("UPDATE orders_orderline SET quantity_delivered = 5 WHERE id = %s", [line.pk])

    output, failed = run_check()

    assert failed
    assert reported(output) == {"line_buckets"}
    assert f"order {line.order.number} line 1 ({line.sku}): delivered 5 exceeds the 2 shipped" in (
        output
    )


def test_a_line_sent_to_locations_twice_is_reported(lived_in):
    # Given the routed order's line in a second fulfillment order (a repeated routing)
    fo_line = FulfillmentOrderLine.objects.filter(fulfillment_order__order=lived_in["routed"])[0]
    execute(
        "INSERT INTO fulfillment_fulfillmentorderline (fulfillment_order_id, order_line_id,"
        " quantity, quantity_shipped, quantity_rejected, quantity_cancelled)"
        " VALUES (%s, %s, %s, 0, 0, 0)",
        [fo_line.fulfillment_order_id, fo_line.order_line_id, fo_line.quantity],
    )

    output, failed = run_check()

    assert failed
    assert reported(output) == {"overfulfilled_line"}
    assert f"{2 * fo_line.quantity} units are in fulfillment orders" in output


def test_an_order_without_lines_is_reported(lived_in):
    # Given the cancelled order's lines gone (a half-written order)
    execute("DELETE FROM orders_orderline WHERE order_id = %s", [lived_in["cancelled"].pk])

    output, failed = run_check()

    assert failed
    assert reported(output) == {"order_without_lines"}
    assert f"order {lived_in['cancelled'].number}: is cancelled but has no lines" in output


def test_an_outbox_backlog_is_reported(lived_in):
    # Given an event left unpublished for eleven minutes (the broker was down)
    event = OutboxEvent.objects.order_by("id").first()
    execute(
        "UPDATE oms_outboxevent SET published_at = NULL, attempts = 40,"
        " last_error = 'broker down', created_at = %s WHERE id = %s",
        [timezone.now() - timedelta(minutes=11), event.pk],
    )

    output, failed = run_check()

    assert failed
    assert reported(output) == {"outbox_backlog"}
    assert "1 events unpublished for over 10 min" in output
    assert "after 40 attempts; last error: broker down" in output
    # while a younger backlog, or a longer limit, is not one.
    out = StringIO()
    call_command("check_integrity", "--outbox-max-age", "15", stdout=out)
    assert "no violations" in out.getvalue()
