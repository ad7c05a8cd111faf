"""Any sequence of asking, deciding, receiving, cancelling and closing keeps the order
lines' buckets, the returns and the stock ledger consistent."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.actors import Actor
from core.errors import DomainError
from inventory.models import StockLevel
from oms.integrity import check_integrity
from orders.models import OrderLine, derive_return_status
from returns import services
from returns.models import OPEN_STATUSES, ReturnRequest
from returns.selectors import return_rates_by_sku
from returns.services import ReceivedUnits, ReturnLineInput

from .conftest import delivered_order

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("property")
DELIVERED = 4

operations = st.lists(
    st.one_of(
        st.tuples(st.just("ask"), st.integers(1, 3), st.sampled_from(["damaged", "size_fit"])),
        st.tuples(st.just("approve"), st.integers(0, 3)),
        st.tuples(st.just("reject"), st.integers(0, 3)),
        st.tuples(st.just("cancel"), st.integers(0, 3)),
        st.tuples(st.just("close"), st.integers(0, 3)),
        st.tuples(
            st.just("receive"),
            st.integers(0, 3),
            st.integers(1, 3),
            st.sampled_from(["restock", "damaged", "scrap"]),
        ),
    ),
    max_size=10,
)


def _apply(order, line, step, index) -> bool:
    """Run one step; False when there was nothing to run it on."""
    kind = step[0]
    rmas = list(ReturnRequest.objects.filter(order=order).order_by("id"))
    if kind == "ask":
        services.request_return(
            order=order,
            lines=[ReturnLineInput(order_line_id=line.pk, quantity=step[1], reason_code=step[2])],
            method="mail",
            actor=SYSTEM,
        )
        return True
    if not rmas:
        return False
    rma = rmas[step[1] % len(rmas)]
    if kind == "approve":
        services.approve_return(request_id=rma.pk, actor=SYSTEM)
    elif kind == "reject":
        services.reject_return(request_id=rma.pk, actor=SYSTEM, reason="No")
    elif kind == "cancel":
        services.cancel_return(request_id=rma.pk, actor=SYSTEM)
    elif kind == "close":
        services.close_return(request_id=rma.pk, actor=SYSTEM)
    else:
        services.receive_return(
            request_id=rma.pk,
            token=f"{rma.number}-{index}",
            location=rma.destination,
            units=[
                ReceivedUnits(
                    line_id=rma.lines.get().pk,
                    quantity=step[2],
                    condition="new",
                    disposition=step[3],
                )
            ],
            actor=SYSTEM,
        )
    return True


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=operations)
def test_any_sequence_keeps_buckets_returns_and_stock_consistent(default_policy, warehouse, steps):
    order = delivered_order(quantity=DELIVERED)
    line = order.lines.get()
    restocked = 0
    for index, step in enumerate(steps):
        try:
            done = _apply(order, line, step, index)
        except DomainError:
            continue  # a refusal changes nothing; the invariants below say so
        if done and step[0] == "receive" and step[3] == "restock":
            restocked += step[2]

    line = OrderLine.objects.get(pk=line.pk)
    order.refresh_from_db()
    open_rmas = ReturnRequest.objects.filter(order=order, status__in=OPEN_STATUSES)
    expected = sum(rl.quantity_outstanding for rma in open_rmas for rl in rma.lines.all())
    received = sum(
        rl.quantity_received
        for rma in ReturnRequest.objects.filter(order=order)
        for rl in rma.lines.all()
    )
    assert line.quantity_return_requested == expected
    assert line.quantity_returned == received
    assert line.quantity_return_requested + line.quantity_returned <= DELIVERED
    assert order.return_status == derive_return_status([line])
    level = StockLevel.objects.filter(location=warehouse, product=line.product).first()
    assert (level.on_hand if level else 0) == restocked
    violations = [v for v in check_integrity() if v.check != "outbox_backlog"]
    assert violations == []
    rates = {(r.sku, reason) for r in return_rates_by_sku() for reason in r.reasons}
    asked = {
        (line.sku, rl.reason.code)
        for rma in ReturnRequest.objects.filter(order=order).exclude(status="cancelled")
        for rl in rma.lines.all()
    }
    assert asked <= rates
