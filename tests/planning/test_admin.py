"""The planner's console: purchase order pages and the reorder queue's draft button."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from core.actors import Actor
from inventory import services as stock
from inventory.models import PurchaseOrder, PurchaseOrderStatus, StockLevel, StockMovement
from inventory.purchase_orders import create_purchase_order
from oms.roles import sync_staff_groups
from planning.models import DemandForecast, PlanningRun
from planning.replenishment import units_over
from tests.factories import LocationFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def level(location, product) -> StockLevel:
    return StockLevel.objects.get(location=location, product=product)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def dc(db):
    return LocationFactory(code="DC1")


@pytest.fixture
def kettle(db):
    return ProductFactory(sku="KETTLE", name="Stovetop kettle")


def test_recording_a_purchase_order_in_the_console(admin_client, dc, kettle):
    url = reverse("admin:inventory_purchaseorder_record")
    assert admin_client.get(url).status_code == 200
    due = (timezone.localdate() + timedelta(days=5)).isoformat()
    response = admin_client.post(
        url,
        {
            "supplier": "Acme Kitchen",
            "location": dc.pk,
            "expected_date": due,
            "reference": "",
            "lines": "kettle 12\n\n",
            "note": "",
        },
    )
    assert response.status_code == 302
    po = PurchaseOrder.objects.get()
    assert response["Location"] == reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    assert level(dc, kettle).incoming == 12
    page = admin_client.get(response["Location"])
    assert page.status_code == 200
    assert "Receive a delivery" in page.content.decode()


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("kettle twelve", "is not a SKU followed by a quantity"),
        ("NOPE 3", "Unknown SKU NOPE"),
        ("kettle 0", "greater than zero"),
    ],
)
def test_a_bad_purchase_order_is_refused_with_a_message(admin_client, dc, kettle, lines, message):
    response = admin_client.post(
        reverse("admin:inventory_purchaseorder_record"),
        {
            "supplier": "Acme",
            "location": dc.pk,
            "expected_date": (timezone.localdate() + timedelta(days=5)).isoformat(),
            "lines": lines,
        },
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not PurchaseOrder.objects.exists()
    assert not StockMovement.objects.exists()


def test_receiving_and_cancelling_in_the_console(admin_client, dc, kettle):
    mug = ProductFactory(sku="MUG")
    po = create_purchase_order(
        location=dc,
        supplier="Acme",
        lines={"KETTLE": 10, "MUG": 4},
        expected_date=timezone.localdate() + timedelta(days=2),
        actor=SYSTEM,
    ).purchase_order
    lines = {line.product.sku: line for line in po.lines.select_related("product")}
    receive = reverse("admin:inventory_purchaseorder_receive", args=[po.pk])
    over = admin_client.post(receive, {f"line_{lines['KETTLE'].pk}": 11})
    assert over.status_code == 200  # the field refuses more than is open
    assert level(dc, kettle).on_hand == 0
    response = admin_client.post(receive, {f"line_{lines['KETTLE'].pk}": 7, "reference": "DN-1"})
    assert response.status_code == 302
    assert (level(dc, kettle).on_hand, level(dc, kettle).incoming) == (7, 3)

    cancel = reverse("admin:inventory_purchaseorder_cancel_lines", args=[po.pk])
    response = admin_client.post(cancel, {"skus": ["KETTLE", "MUG"], "reason": "short"})
    assert response.status_code == 302
    po.refresh_from_db()
    assert po.status == PurchaseOrderStatus.RECEIVED
    assert (level(dc, kettle).incoming, level(dc, mug).incoming) == (0, 0)
    # Nothing is left to receive: the page sends the operator back.
    assert admin_client.get(receive).status_code == 302


def test_purchase_order_pages_need_their_permissions(client, dc, kettle):
    clerk = UserFactory(is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:inventory_purchaseorder_record")).status_code == 403


@pytest.fixture
def low_kettle(dc, kettle):
    """30 on hand, safety stock 5, 4.5 a day over a 14-day lead time: suggest 60 - 0."""
    stock.receive_stock(location=dc, product=kettle, quantity=30, actor=SYSTEM)
    stock.set_safety_stock(location=dc, product=kettle, quantity=5, actor=SYSTEM)
    run = PlanningRun.objects.create(
        history_days=182, holdout_days=28, lead_time_days=14, review_days=7, series=1
    )
    return DemandForecast.objects.create(
        stock_level=level(dc, kettle),
        run=run,
        method="holt_winters",
        daily_demand=Decimal("4.5"),
        next_days=[4.5] * 28,
        history_days=120,
        history_units=540,
        wape=Decimal("0.18"),
        lead_time_demand=units_over(14, Decimal("4.5")),
        review_demand=units_over(7, Decimal("4.5")),
        computed_at=timezone.now(),
    )


def test_the_reorder_queue_shows_the_figures(admin_client, low_kettle):
    response = admin_client.get(reverse("admin:planning_reordersuggestion_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    page = response.content.decode()
    for figure in ("KETTLE", "4.50", "18.0 %", "6.7", "68", "70"):
        assert figure in page
    forecasts = admin_client.get(reverse("admin:planning_demandforecast_changelist"))
    assert forecasts.status_code == 200


def test_the_draft_button_records_a_purchase_order_from_the_suggestions(
    admin_client, low_kettle, dc, kettle
):
    url = reverse("admin:planning_reordersuggestion_changelist")
    selection = {"action": "draft_purchase_orders", helpers.ACTION_CHECKBOX_NAME: [low_kettle.pk]}
    page = admin_client.post(url, selection)
    assert page.status_code == 200
    assert page.context["form"].fields[f"qty_{low_kettle.pk}"].initial == 70
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    response = admin_client.post(
        url,
        {
            **selection,
            "apply": "1",
            "supplier": "Acme Kitchen",
            "expected_date": due,
            f"qty_{low_kettle.pk}": 72,
        },
    )
    assert response.status_code == 302
    po = PurchaseOrder.objects.get()
    assert (po.supplier, po.location, po.expected_date.isoformat()) == ("Acme Kitchen", dc, due)
    assert [(line.product.sku, line.quantity_ordered) for line in po.lines.all()] == [
        ("KETTLE", 72)
    ]
    assert level(dc, kettle).incoming == 72
    assert any(po.number in m for m in messages_of(response))
    # Covered now: it leaves the queue.
    assert admin_client.get(url).context["cl"].result_count == 0


def test_list_pages_keep_their_query_count_whatever_the_rows(
    admin_client, dc, kettle, django_assert_max_num_queries
):
    run = PlanningRun.objects.create(
        history_days=182, holdout_days=28, lead_time_days=14, review_days=7, series=1
    )

    def record(n: int) -> None:
        # Each: a SKU on a purchase order, with a forecast that puts it on the queue.
        for _ in range(n):
            product = ProductFactory()
            create_purchase_order(
                location=dc,
                supplier="Acme",
                lines={product.sku: 5},
                expected_date=timezone.localdate() + timedelta(days=3),
                actor=SYSTEM,
            )
            DemandForecast.objects.create(
                stock_level=level(dc, product),
                run=run,
                method="holt_winters",
                daily_demand=Decimal("4.5"),
                next_days=[4.5] * 28,
                history_days=120,
                history_units=540,
                wape=Decimal("0.2"),
                lead_time_demand=63,
                review_demand=32,
                computed_at=timezone.now(),
            )

    pages = [
        reverse("admin:inventory_purchaseorder_changelist"),
        reverse("admin:planning_reordersuggestion_changelist"),
        reverse("admin:planning_demandforecast_changelist"),
    ]
    record(1)
    counts = {}
    for url in pages:
        with django_assert_max_num_queries(100) as captured:
            assert admin_client.get(url).status_code == 200
        counts[url] = len(captured)
    record(6)
    assert admin_client.get(pages[1]).context["cl"].result_count == 7
    for url in pages:
        with django_assert_max_num_queries(counts[url]):
            assert admin_client.get(url).status_code == 200


def test_the_warehouse_role_receives_deliveries_but_does_not_buy(client, dc, kettle):
    sync_staff_groups()
    clerk = UserFactory(is_staff=True)
    clerk.groups.add(Group.objects.get(name="warehouse"))
    client.force_login(clerk)
    po = create_purchase_order(
        location=dc,
        supplier="Acme",
        lines={"KETTLE": 4},
        expected_date=timezone.localdate() + timedelta(days=2),
        actor=SYSTEM,
    ).purchase_order
    line = po.lines.get()
    assert client.get(reverse("admin:inventory_purchaseorder_record")).status_code == 403
    assert client.get(reverse("admin:planning_reordersuggestion_changelist")).status_code == 403
    response = client.post(
        reverse("admin:inventory_purchaseorder_receive", args=[po.pk]), {f"line_{line.pk}": 4}
    )
    assert response.status_code == 302
    assert level(dc, kettle).on_hand == 4
