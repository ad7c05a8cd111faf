"""Two requests for the last returnable unit, at the same moment: exactly one wins."""

import pytest

from core.actors import Actor
from core.errors import DomainError
from inventory.models import StockLevel, StockMovement
from orders.models import OrderLine
from returns import services
from returns.models import ReturnReceipt, ReturnRequest
from returns.services import ReceivedUnits, ReturnLineInput
from tests.api.support import run_together

from .conftest import delivered_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def test_two_requests_for_the_last_unit(default_policy, warehouse):
    order = delivered_order(quantity=3)
    line = order.lines.get()
    services.request_return(
        order=order,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=2, reason_code="size_fit")],
        method="mail",
        actor=Actor.system("test"),
    )

    def ask() -> object:
        return services.request_return(
            order=order,
            lines=[ReturnLineInput(order_line_id=line.pk, quantity=1, reason_code="size_fit")],
            method="mail",
            actor=Actor.system("test"),
        )

    results = run_together([ask, ask, ask])

    won = [r for r in results if isinstance(r, ReturnRequest)]
    lost = [r for r in results if isinstance(r, DomainError)]
    assert len(won) == 1, results
    assert len(lost) == 2
    assert {e.code for e in lost} == {"quantity_exceeds_returnable"}
    assert OrderLine.objects.get(pk=line.pk).quantity_return_requested == 3
    assert ReturnRequest.objects.count() == 2


def test_the_same_receipt_submitted_twice_at_once_restocks_once(default_policy, warehouse):
    order = delivered_order(quantity=2)
    line = order.lines.get()
    rma = services.request_return(
        order=order,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=2, reason_code="damaged")],
        method="mail",
        actor=Actor.system("test"),
    )
    return_line = rma.lines.get()

    def receive() -> object:
        return services.receive_return(
            request_id=rma.pk,
            token="form-123",
            location=warehouse,
            units=[
                ReceivedUnits(
                    line_id=return_line.pk, quantity=2, condition="new", disposition="restock"
                )
            ],
            actor=Actor.system("warehouse"),
        )

    results = run_together([receive, receive])

    assert all(isinstance(r, ReturnReceipt) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert StockMovement.objects.filter(reference=rma.number).count() == 1
    assert StockLevel.objects.get(location=warehouse, product=line.product).on_hand == 2
    assert OrderLine.objects.get(pk=line.pk).quantity_returned == 2
