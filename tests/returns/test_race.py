"""Two requests for the last returnable unit, at the same moment: exactly one wins."""

import pytest

from core.actors import Actor
from core.errors import DomainError
from orders.models import OrderLine
from returns import services
from returns.models import ReturnRequest
from returns.services import ReturnLineInput
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
