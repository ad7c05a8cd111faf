"""Receiving and inspecting: each disposition moves stock once through the ledger, the
order's buckets and return status follow, and a second submission changes nothing."""

import pytest

from core.actors import Actor
from core.errors import DomainError
from core.models import OutboxEvent
from inventory.models import MovementReason, NetworkStock, StockLevel, StockMovement
from oms.integrity import check_integrity
from orders.models import OrderEvent, OrderEventType, OrderLine
from orders.models import ReturnStatus as OrderReturnStatus
from returns import services
from returns.models import ReturnStatus
from returns.services import ReceivedUnits, ReturnLineInput

from .conftest import delivered_order

pytestmark = pytest.mark.django_db

CUSTOMER = Actor.api_client("storefront/test")


def ask(order, quantity, reason="damaged"):
    line = order.lines.get()
    return services.request_return(
        order=order,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=quantity, reason_code=reason)],
        method="mail",
        actor=CUSTOMER,
    )


def receive(rma, location, actor, token, units):
    line = rma.lines.get()
    return services.receive_return(
        request_id=rma.pk,
        token=token,
        location=location,
        units=[ReceivedUnits(line_id=line.pk, **unit) for unit in units],
        actor=actor,
    )


def level_of(location, product):
    return StockLevel.objects.filter(location=location, product=product).first()


def test_full_cycle_restocks_once(default_policy, warehouse, agent_actor):
    # Given a delivered order of 3 and a return of all 3 an agent approves
    order = delivered_order(quantity=3)
    product = order.lines.get().product
    rma = ask(order, 3, reason="size_fit")
    assert rma.status == ReturnStatus.REQUESTED
    services.approve_return(request_id=rma.pk, actor=agent_actor)
    services.mark_return_in_transit(request_id=rma.pk, actor=CUSTOMER, tracking_number="1Z9")

    # when the warehouse receives two (one restocked, one damaged), submitted twice
    units = [
        {"quantity": 1, "condition": "opened", "disposition": "restock"},
        {"quantity": 1, "condition": "damaged", "disposition": "damaged"},
    ]
    first = receive(rma, warehouse, agent_actor, "tok-1", units)
    again = receive(rma, warehouse, agent_actor, "tok-1", units)

    # then stock moved once, the order shows a partial return
    assert again.pk == first.pk
    level = level_of(warehouse, product)
    assert (level.on_hand, level.unsellable) == (1, 1)
    assert NetworkStock.objects.get(product=product).available == 1
    reasons = sorted(
        StockMovement.objects.filter(reference=rma.number).values_list("reason", flat=True)
    )
    assert reasons == [MovementReason.RETURN_DAMAGED, MovementReason.RETURN_RESTOCK]
    line = OrderLine.objects.get(order=order)
    assert (line.quantity_return_requested, line.quantity_returned) == (1, 2)
    order.refresh_from_db()
    assert order.return_status == OrderReturnStatus.PARTIALLY_RETURNED
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.RECEIVED
    assert OutboxEvent.objects.filter(topic="return.received").count() == 1

    # and the last unit, scrapped, completes it: no stock moves for scrap
    receive(
        rma,
        warehouse,
        agent_actor,
        "tok-2",
        [{"quantity": 1, "condition": "damaged", "disposition": "scrap"}],
    )
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.INSPECTED
    assert StockMovement.objects.filter(reference=rma.number).count() == 2
    line.refresh_from_db()
    assert (line.quantity_return_requested, line.quantity_returned) == (0, 3)
    order.refresh_from_db()
    assert order.return_status == OrderReturnStatus.RETURNED

    services.close_return(request_id=rma.pk, actor=agent_actor)
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.CLOSED
    assert [e.type for e in rma.events.all()] == [
        "requested",
        "approved",
        "in_transit",
        "received",
        "received",
        "closed",
    ]
    # each step is on the order's timeline with its own type, naming the return
    timeline = OrderEvent.objects.filter(order=order, payload__return=rma.number)
    assert [e.type for e in timeline] == [
        OrderEventType.RETURN_REQUESTED,
        OrderEventType.RETURN_APPROVED,
        OrderEventType.RETURN_IN_TRANSIT,
        OrderEventType.RETURN_RECEIVED,
        OrderEventType.RETURN_RECEIVED,
        OrderEventType.RETURN_CLOSED,
    ]
    stock_and_orders = [v for v in check_integrity() if v.check != "outbox_backlog"]
    assert stock_and_orders == []


def test_more_than_expected_is_refused(default_policy, warehouse, agent_actor):
    order = delivered_order(quantity=2)
    rma = ask(order, 1)  # damaged: approved by the policy

    with pytest.raises(DomainError) as refused:
        receive(
            rma,
            warehouse,
            agent_actor,
            "tok",
            [{"quantity": 2, "condition": "new", "disposition": "restock"}],
        )

    assert refused.value.code == "receipt_exceeds_outstanding"
    assert not StockMovement.objects.filter(reference=rma.number).exists()
    assert OrderLine.objects.get(order=order).quantity_returned == 0


def test_a_request_not_approved_is_not_received(default_policy, warehouse, agent_actor):
    order = delivered_order(quantity=2)
    rma = ask(order, 1, reason="size_fit")

    with pytest.raises(DomainError) as refused:
        receive(
            rma,
            warehouse,
            agent_actor,
            "tok",
            [{"quantity": 1, "condition": "new", "disposition": "restock"}],
        )

    assert refused.value.code == "return_not_open"
    assert not StockMovement.objects.exists()


def test_closing_a_partial_receipt_gives_the_rest_back(default_policy, warehouse, agent_actor):
    order = delivered_order(quantity=2)
    rma = ask(order, 2)
    receive(
        rma,
        warehouse,
        agent_actor,
        "tok",
        [{"quantity": 1, "condition": "new", "disposition": "restock"}],
    )

    services.close_return(request_id=rma.pk, actor=agent_actor)

    line = OrderLine.objects.get(order=order)
    assert (line.quantity_return_requested, line.quantity_returned) == (0, 1)


def test_check_integrity_finds_a_requested_bucket_out_of_step(default_policy, warehouse):
    order = delivered_order(quantity=2)
    ask(order, 1)
    assert [v for v in check_integrity() if v.check == "return_requested_bucket"] == []

    OrderLine.objects.filter(order=order).update(quantity_return_requested=2)

    found = [v for v in check_integrity() if v.check == "return_requested_bucket"]
    assert len(found) == 1
    assert "return requested is 2, but its open returns expect 1" in found[0].detail
