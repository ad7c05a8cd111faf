"""Network demand commitments: all or nothing unless a product may be backordered, one
statement on PostgreSQL when nothing may be, and no oversell or deadlock when orders
for overlapping SKUs commit at once."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory import services
from inventory.commitments import commit_demand
from inventory.errors import InsufficientStock
from inventory.models import NetworkStock
from tests.factories import LocationFactory, ProductFactory
from tests.inventory.test_concurrency import run_together

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and one-statement commits"
)


def _stocked(actor, *quantities: int):
    location = LocationFactory()
    products = [ProductFactory() for _ in quantities]
    for product, quantity in zip(products, quantities, strict=True):
        if quantity:
            services.receive_stock(
                location=location, product=product, quantity=quantity, actor=actor
            )
    return products


def _committed(products) -> list[int]:
    by_product = dict(NetworkStock.objects.values_list("product_id", "committed"))
    return [by_product.get(p.pk, 0) for p in products]


@pytest.mark.django_db
def test_demand_that_fits_is_committed_in_one_statement(system_actor):
    mug, cap = _stocked(system_actor, 5, 3)
    NetworkStock.objects.filter(product=cap).update(committed=1)

    with CaptureQueriesContext(connection) as ctx, transaction.atomic():
        result = commit_demand({cap.pk: 2, mug.pk: 5})

    assert result.committed == {mug.pk: 5, cap.pk: 2}
    assert result.backordered == {}
    assert _committed([mug, cap]) == [5, 3]
    if connection.vendor == "postgresql":
        assert len([q for q in ctx.captured_queries if "networkstock" in q["sql"]]) == 1


@pytest.mark.django_db
def test_a_short_product_refuses_all_the_demand_and_names_every_short_one(system_actor):
    mug, cap, pen = _stocked(system_actor, 5, 3, 0)  # the pen was never stocked
    NetworkStock.objects.filter(product=cap).update(committed=2)

    with pytest.raises(InsufficientStock) as refused, transaction.atomic():
        commit_demand({mug.pk: 5, cap.pk: 2, pen.pk: 1})

    assert sorted(refused.value.details["shortages"], key=lambda s: s["product_id"]) == sorted(
        [
            {"product_id": cap.pk, "requested": 2, "available": 1},
            {"product_id": pen.pk, "requested": 1, "available": 0},
        ],
        key=lambda s: s["product_id"],
    )
    assert _committed([mug, cap, pen]) == [0, 2, 0]


@pytest.mark.django_db
def test_a_backorderable_product_commits_what_there_is(system_actor):
    mug, cap = _stocked(system_actor, 5, 3)

    with transaction.atomic():
        result = commit_demand({mug.pk: 2, cap.pk: 7}, backorderable={cap.pk})

    assert result.committed == {mug.pk: 2, cap.pk: 3}
    assert result.backordered == {cap.pk: 4}
    assert _committed([mug, cap]) == [2, 3]


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.concurrency
def test_concurrent_commitments_on_overlapping_products_never_oversell_or_deadlock(
    system_actor,
):
    # 30 units of each of three products; 24 buyers want 2 of each, listed in
    # different orders, so that their locks would cross if taken in the listed order.
    products = _stocked(system_actor, 30, 30, 30)
    ids = [p.pk for p in products]

    def buyer(index: int):
        order = ids[index % 3 :] + ids[: index % 3]
        if index % 2:
            order.reverse()

        def work():
            with transaction.atomic():
                return commit_demand(dict.fromkeys(order, 2))

        return work

    outcomes = run_together([buyer(i) for i in range(24)])

    kinds = [kind if kind == "ok" else type(value).__name__ for kind, value in outcomes]
    assert kinds.count("ok") == 15
    assert kinds.count("InsufficientStock") == 9
    assert _committed(products) == [30, 30, 30]
