"""The credit rule reads a company's open-order total that PostgreSQL keeps as orders
commit (``CompanyExposure``), so these tests commit for real."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum

from core.actors import Actor
from fulfillment.changes import cancel_order, change_line_quantity
from orders.holds import company_open_exposure
from orders.models import CompanyExposure, HoldKind, Order, OrderStatus
from orders.placement import place_order

from .test_place_order import request_for

pytestmark = pytest.mark.django_db(transaction=True)

ACTOR = Actor.api_client("test-client")


def kept(company) -> Decimal:
    total = CompanyExposure.objects.filter(company=company).aggregate(t=Sum("open_orders_total"))
    return total["t"] or Decimal("0")


def summed(company) -> Decimal:
    total = Order.objects.filter(
        company=company, status__in=[OrderStatus.PLACED, OrderStatus.PROCESSING]
    ).aggregate(t=Sum("grand_total"))
    return total["t"] or Decimal("0")


def place(buyer, products, address, quantities):
    return place_order(
        request=request_for(buyer, products, address, quantities, channel="b2b_api"),
        actor=ACTOR,
    ).order


def test_the_kept_total_follows_placement_edits_cancellation_and_any_status_change(
    buyer, company, stocked, address, standard
):
    first = place(buyer, stocked[:2], address, (2, 1))
    second = place(buyer, stocked[:1], address, (4,))
    assert kept(company) == summed(company) == first.grand_total + second.grand_total

    change_line_quantity(order_id=first.pk, line_number=1, quantity=5, actor=ACTOR)
    assert kept(company) == summed(company)

    cancel_order(order_id=second.pk, reason="not needed", actor=ACTOR)
    first.refresh_from_db()
    assert kept(company) == summed(company) == first.grand_total

    # Whatever path changes an order, the database follows it.
    Order.objects.filter(pk=first.pk).update(status=OrderStatus.COMPLETED)
    assert kept(company) == summed(company) == Decimal("0")
    assert company_open_exposure(company.pk) == Decimal("0")


def test_committed_orders_count_against_the_credit_limit(
    buyer, company, stocked, address, standard
):
    company.credit_limit = Decimal("100")
    company.save()

    first = place(buyer, stocked[:1], address, (6,))  # 65.00 with shipping
    held = place_order(
        request=request_for(buyer, stocked[:1], address, (6,), channel="b2b_api"), actor=ACTOR
    )

    assert not first.holds.exists()
    assert [h.kind for h in held.holds] == [HoldKind.CREDIT_LIMIT]
    assert "130.00" in held.holds[0].reason


def test_an_edit_counts_the_order_once_at_its_new_total(buyer, company, stocked, address, standard):
    company.credit_limit = Decimal("100")
    company.save()
    order = place(buyer, stocked[:1], address, (6,))  # 65.00

    change_line_quantity(order_id=order.pk, line_number=1, quantity=8, actor=ACTOR)  # 85.00

    order.refresh_from_db()
    assert order.grand_total == Decimal("85.00")
    assert not order.holds.filter(released_at__isnull=True).exists()
    assert kept(company) == Decimal("85.00")


def test_concurrent_placements_keep_the_total_exact(buyer, company, stocked, address, standard):
    errors: list[BaseException] = []

    def buy(index: int) -> None:
        try:
            for _ in range(3):
                place(buyer, stocked[index % 3 :][:2], address, (1 + index % 2, 1))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Order.objects.filter(company=company).count() == 36
    assert kept(company) == summed(company)
    assert CompanyExposure.objects.filter(company=company).count() > 1


def test_the_reading_transaction_does_not_count_its_own_order(
    buyer, company, stocked, address, standard
):
    with transaction.atomic():
        order = place(buyer, stocked[:1], address, (1,))
        assert company_open_exposure(company.pk, exclude_order_id=order.pk) == Decimal("0")
    assert kept(company) == order.grand_total
    assert connection.vendor == "postgresql"
