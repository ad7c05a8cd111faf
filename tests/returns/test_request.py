"""Asking for a return: the policy's refusals (each naming its rule, nothing written),
automatic and manual approval, the destination rule and the photos' checks."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.actors import Actor
from core.errors import DomainError, NotAllowed
from core.models import OutboxEvent
from inventory.models import LocationKind
from inventory.services import receive_stock
from orders.models import OrderEvent, OrderEventType, OrderLine
from orders.models import ReturnStatus as OrderReturnStatus
from returns import services
from returns.models import PolicyScope, ReturnPolicy, ReturnRequest, ReturnStatus
from returns.services import ReturnLineInput
from tests.factories import CompanyFactory, LocationFactory, ProductFactory, UserFactory

from .conftest import delivered_order

pytestmark = pytest.mark.django_db

CUSTOMER = Actor.api_client("storefront/test")


def ask(order, quantity=1, reason="no_longer_needed", **kwargs):
    line = order.lines.get()
    return services.request_return(
        order=order,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=quantity, reason_code=reason)],
        method=kwargs.pop("method", "mail"),
        actor=CUSTOMER,
        **kwargs,
    )


def assert_nothing_written(order):
    assert not ReturnRequest.objects.exists()
    assert not OutboxEvent.objects.filter(topic__startswith="return.").exists()
    assert not OrderEvent.objects.filter(order=order, payload__has_key="return").exists()
    line = OrderLine.objects.get(order=order)
    assert line.quantity_return_requested == 0
    order.refresh_from_db()
    assert order.return_status == OrderReturnStatus.NONE


def test_a_request_counts_its_units_and_waits_for_an_agent(default_policy, warehouse):
    order = delivered_order(quantity=2)

    rma = ask(order, quantity=2)

    assert rma.number.startswith("RMA-")
    assert rma.number.endswith(f"{rma.pk:06d}")
    assert rma.status == ReturnStatus.REQUESTED
    assert rma.destination == warehouse
    assert "RNO1" in rma.destination_reason
    assert OrderLine.objects.get(order=order).quantity_return_requested == 2
    order.refresh_from_db()
    assert order.return_status == OrderReturnStatus.REQUESTED
    assert list(rma.events.values_list("type", flat=True)) == ["requested"]
    assert OrderEvent.objects.filter(order=order, payload__return=rma.number).count() == 1
    assert list(OutboxEvent.objects.values_list("topic", flat=True)) == ["return.requested"]
    assert rma.policy_trace[str(order.lines.get().pk)]["rule"].startswith("Standard returns")


def test_a_damaged_item_is_approved_by_the_policy(default_policy, warehouse):
    order = delivered_order()

    rma = ask(order, reason="damaged")

    assert rma.status == ReturnStatus.APPROVED
    assert rma.auto_approved
    assert sorted(OutboxEvent.objects.values_list("topic", flat=True)) == [
        "return.approved",
        "return.requested",
    ]


def test_a_cheap_request_is_approved_by_amount(default_policy, warehouse):
    default_policy.auto_approve_below = Decimal("25.00")
    default_policy.save()
    order = delivered_order()  # 10.00 a unit

    assert ask(order, quantity=2).status == ReturnStatus.APPROVED
    other = delivered_order(quantity=3)
    assert ask(other, quantity=3).status == ReturnStatus.REQUESTED


def test_the_window_closed(default_policy, warehouse):
    order = delivered_order(days_ago=31)

    with pytest.raises(DomainError) as refused:
        ask(order)

    assert refused.value.code == "return_window_closed"
    assert refused.value.details["rule"].startswith("Standard returns")
    assert_nothing_written(order)


def test_a_product_rule_is_more_specific_than_the_default(default_policy, warehouse):
    product = ProductFactory()
    ReturnPolicy.objects.create(
        name="Final sale", scope=PolicyScope.SKU, product=product, non_returnable=True
    )
    order = delivered_order(products=[product])

    with pytest.raises(DomainError) as refused:
        ask(order)

    assert refused.value.code == "not_returnable"
    assert "Final sale" in refused.value.details["rule"]
    assert_nothing_written(order)


def test_a_product_marked_not_returnable(default_policy, warehouse):
    order = delivered_order(products=[ProductFactory(is_returnable=False)])

    with pytest.raises(DomainError) as refused:
        ask(order)

    assert refused.value.code == "not_returnable"
    assert_nothing_written(order)


def test_a_company_override_wins_over_the_product_rule(default_policy, warehouse):
    company = CompanyFactory()
    product = ProductFactory()
    ReturnPolicy.objects.create(
        name="Short window", scope=PolicyScope.SKU, product=product, window_days=5
    )
    ReturnPolicy.objects.create(
        name="Key account", scope=PolicyScope.COMPANY, company=company, window_days=90
    )
    order = delivered_order(products=[product], company=company, days_ago=60)

    rma = ask(order)

    assert "Key account" in rma.policy_trace[str(order.lines.get().pk)]["rule"]
    plain = delivered_order(products=[product], days_ago=6)
    with pytest.raises(DomainError) as refused:
        ask(plain)
    assert refused.value.code == "return_window_closed"
    assert "Short window" in refused.value.details["rule"]


def test_more_than_returnable(default_policy, warehouse):
    order = delivered_order(quantity=2)
    ask(order, quantity=1)

    with pytest.raises(DomainError) as refused:
        ask(order, quantity=2)

    assert refused.value.code == "quantity_exceeds_returnable"
    assert refused.value.details["returnable"] == 1
    assert ReturnRequest.objects.count() == 1
    assert OrderLine.objects.get(order=order).quantity_return_requested == 1


def test_undelivered_units_are_not_returnable(default_policy, warehouse):
    order = delivered_order(quantity=2)
    OrderLine.objects.filter(order=order).update(quantity_delivered=0)

    with pytest.raises(DomainError) as refused:
        ask(order)

    assert refused.value.code == "quantity_exceeds_returnable"
    assert_nothing_written(order)


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"reason": "bored"}, "invalid_input"),
        ({"quantity": 0}, "invalid_input"),
        ({"method": "pigeon"}, "invalid_input"),
    ],
)
def test_bad_input_writes_nothing(default_policy, warehouse, kwargs, code):
    order = delivered_order()

    with pytest.raises(DomainError) as refused:
        ask(order, **kwargs)

    assert refused.value.code == code
    assert_nothing_written(order)


def test_an_agent_approves_or_rejects(default_policy, warehouse, agent_actor):
    order = delivered_order(quantity=2)
    first = ask(order, quantity=1)
    second = ask(order, quantity=1)

    services.approve_return(request_id=first.pk, actor=agent_actor)
    services.reject_return(request_id=second.pk, actor=agent_actor, reason="Worn")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (ReturnStatus.APPROVED, ReturnStatus.REJECTED)
    # The rejected unit is returnable again.
    assert OrderLine.objects.get(order=order).quantity_return_requested == 1
    assert OutboxEvent.objects.filter(topic="return.rejected").count() == 1
    rejected = OrderEvent.objects.get(
        order=order, payload__return=second.number, type__in=[OrderEventType.RETURN_REJECTED]
    )
    assert rejected.message == f"Return {second.number}: rejected: Worn"


def test_approval_needs_the_permission(default_policy, warehouse):
    order = delivered_order()
    rma = ask(order)
    clerk = Actor.for_user(UserFactory(username="clerk"))

    with pytest.raises(NotAllowed):
        services.approve_return(request_id=rma.pk, actor=clerk)

    rma.refresh_from_db()
    assert rma.status == ReturnStatus.REQUESTED


def test_cancel_gives_the_units_back(default_policy, warehouse):
    order = delivered_order()
    rma = ask(order)

    services.cancel_return(request_id=rma.pk, actor=CUSTOMER)

    assert OrderLine.objects.get(order=order).quantity_return_requested == 0
    order.refresh_from_db()
    assert order.return_status == OrderReturnStatus.NONE
    assert list(
        OrderEvent.objects.filter(order=order, payload__return=rma.number).values_list(
            "type", flat=True
        )
    ) == [OrderEventType.RETURN_REQUESTED, OrderEventType.RETURN_CANCELLED]


def test_destination_prefers_a_location_that_stocks_the_sku(default_policy, warehouse):
    product = ProductFactory()
    far = LocationFactory(
        code="ATL1", postal_code="30301", latitude=Decimal("33.749"), longitude=Decimal("-84.388")
    )
    receive_stock(location=far, product=product, quantity=1, actor=Actor.system("test"))
    order = delivered_order(products=[product])

    rma = ask(order)

    assert rma.destination == far
    assert "stocks" in rma.destination_reason
    assert "km" in rma.destination_reason


def test_drop_off_at_a_chosen_store(default_policy, warehouse):
    store = LocationFactory(code="NYC-ST", kind=LocationKind.STORE, postal_code="10001")
    closed = LocationFactory(
        code="NYC-X", kind=LocationKind.STORE, postal_code="10001", accepts_returns=False
    )
    order = delivered_order()

    with pytest.raises(DomainError) as refused:
        ask(order, method="drop_off", drop_off_location=closed)
    assert refused.value.code == "drop_off_store_invalid"

    rma = ask(order, method="drop_off", drop_off_location=store)
    assert rma.destination == store


def _png(size=(4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    return buffer.getvalue()


def test_photos_are_checked(default_policy, warehouse, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    order = delivered_order()
    fake = SimpleUploadedFile("broken.png", b"not an image", content_type="image/png")
    big = SimpleUploadedFile("big.png", b"\0" * (5 * 1024 * 1024 + 1), content_type="image/png")
    six = [SimpleUploadedFile(f"p{i}.png", _png(), content_type="image/png") for i in range(6)]

    for photos in ([fake], [big], six):
        with pytest.raises(DomainError) as refused:
            ask(order, photos=photos)
        assert refused.value.code == "invalid_photo"
    assert_nothing_written(order)

    rma = ask(order, photos=[SimpleUploadedFile("ok.jpg", _png(), content_type="image/jpeg")])
    photo = rma.photos.get()
    assert photo.content_type == "image/png"
