from datetime import timedelta

import pytest
from django.utils import timezone

from core.actors import Actor
from core.models import OutboxEvent
from inventory.errors import InsufficientStock
from inventory.models import NetworkReservation, NetworkStock, ReservationStatus
from orders import drafts
from orders.models import Order, OrderEvent, OrderStatus
from orders.placement import LineRequest, OrderRequest

pytestmark = pytest.mark.django_db

REP = Actor.system("rep")


def draft_for(customer, products, address, quantities):
    return drafts.create_draft_order(
        request=OrderRequest(
            customer=customer,
            channel="sales",
            shipping_method_code="STANDARD",
            shipping_address=address,
            lines=[
                LineRequest(sku=p.sku, quantity=q)
                for p, q in zip(products, quantities, strict=True)
            ],
        ),
        actor=REP,
    )


def committed(product):
    return NetworkStock.objects.get(product=product).committed


def test_draft_commits_nothing_until_reserved_then_submitted(customer, stocked, address, standard):
    draft = draft_for(customer, stocked[:2], address, (4, 5))
    assert draft.status == OrderStatus.DRAFT
    assert committed(stocked[0]) == 0
    assert OutboxEvent.objects.count() == 0

    drafts.reserve_draft_stock(order_id=draft.pk, actor=REP)
    assert committed(stocked[0]) == 4
    assert NetworkReservation.objects.filter(status=ReservationStatus.ACTIVE).count() == 2

    drafts.submit_draft_order(order_id=draft.pk, actor=REP)
    draft.refresh_from_db()
    assert draft.status == OrderStatus.PLACED
    assert committed(stocked[0]) == 4  # taken over, not doubled
    assert committed(stocked[1]) == 5
    assert NetworkReservation.objects.filter(status=ReservationStatus.CONSUMED).count() == 2
    assert OrderEvent.objects.filter(order=draft, type="placed").exists()
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1


def test_submit_without_reservation_commits_now(customer, stocked, address, standard):
    draft = draft_for(customer, stocked[:1], address, (7,))

    drafts.submit_draft_order(order_id=draft.pk, actor=REP)

    assert committed(stocked[0]) == 7


def test_reservation_refused_when_short_changes_nothing(customer, stocked, address, standard):
    draft = draft_for(customer, stocked[:1], address, (150,))

    with pytest.raises(InsufficientStock):
        drafts.reserve_draft_stock(order_id=draft.pk, actor=REP)

    assert committed(stocked[0]) == 0
    assert NetworkReservation.objects.count() == 0


def test_expired_reservation_gives_stock_back(customer, stocked, address, standard):
    draft = draft_for(customer, stocked[:1], address, (10,))
    drafts.reserve_draft_stock(order_id=draft.pk, actor=REP, hold_for=timedelta(minutes=5))

    released = drafts.release_expired_draft_reservations(now=timezone.now() + timedelta(minutes=6))

    assert released == 1
    assert committed(stocked[0]) == 0
    assert NetworkReservation.objects.get().status == ReservationStatus.EXPIRED
    assert drafts.release_expired_draft_reservations(now=timezone.now() + timedelta(hours=1)) == 0


def test_submitting_twice_is_refused(customer, stocked, address, standard):
    draft = draft_for(customer, stocked[:1], address, (1,))
    drafts.submit_draft_order(order_id=draft.pk, actor=REP)

    with pytest.raises(drafts.NotADraft):
        drafts.submit_draft_order(order_id=draft.pk, actor=REP)

    assert committed(stocked[0]) == 1
    assert Order.objects.get().status == OrderStatus.PLACED


def test_discarding_a_draft_releases_its_reservation(customer, stocked, address, standard):
    draft = draft_for(customer, stocked[:1], address, (6,))
    drafts.reserve_draft_stock(order_id=draft.pk, actor=REP)

    drafts.discard_draft_order(order_id=draft.pk, reason="quote declined", actor=REP)

    draft.refresh_from_db()
    assert draft.status == OrderStatus.CANCELLED
    assert draft.placed_at is None
    assert committed(stocked[0]) == 0
    assert NetworkReservation.objects.get().status == ReservationStatus.RELEASED
    assert OutboxEvent.objects.count() == 0
    with pytest.raises(drafts.NotADraft):
        drafts.discard_draft_order(order_id=draft.pk, reason="again", actor=REP)
