"""Stock planning in the demo: a few purchase orders and a transfer on their way (one
partly received), then a planning run over the dated history, so the reorder queue,
the forecasts and availability by date show something true.

Idempotent: each purchase order carries a demo reference and is recorded once; the
planning run happens when there is none yet (the nightly beat task does the rest).
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from core.errors import DomainError
from inventory.models import Location, PurchaseOrder, StockLevel
from inventory.purchase_orders import create_purchase_order, receive_purchase_order
from planning.alerts import refresh_low_stock_crossings
from planning.models import PlanningRun
from planning.services import run_planning

from .common import SEED_ACTOR, StepResult

# (reference, destination, supplier or "" for a transfer, source, days until due,
#  how many SKUs, units per SKU, units received of each so far)
ORDERS = (
    ("DEMO-PO-1001", "DC-NJ", "Northwind Housewares", "", 5, 4, 60, 0),
    ("DEMO-PO-1002", "WH-TX", "Contoso Kitchen Supply", "", 12, 3, 40, 15),
    ("DEMO-PO-1003", "DC-NV", "Northwind Housewares", "", 21, 5, 80, 0),
    ("DEMO-TR-1004", "ST-NYC", "", "DC-NJ", 2, 2, 6, 0),
)


def _skus_at(location: Location, count: int) -> list[str]:
    """The location's best-stocked SKUs: the ones it surely sells."""
    return list(
        StockLevel.objects.filter(location=location, on_hand__gt=0)
        .order_by("-on_hand", "product__sku")
        .values_list("product__sku", flat=True)[:count]
    )


def seed_planning(result: StepResult) -> None:
    locations = {loc.code: loc for loc in Location.objects.filter(is_active=True)}
    done = set(
        PurchaseOrder.objects.filter(reference__startswith="DEMO-").values_list(
            "reference", flat=True
        )
    )
    today = timezone.localdate()
    for reference, to, supplier, source, days, count, units, received in ORDERS:
        if reference in done:
            result.existing += 1
            continue
        if to not in locations or (source and source not in locations):
            continue
        origin = locations[source] if source else locations[to]
        skus = _skus_at(origin, count)
        if not skus:
            continue
        try:
            po = create_purchase_order(
                location=locations[to],
                supplier=supplier,
                source_location=locations[source] if source else None,
                reference=reference,
                expected_date=today + timedelta(days=days),
                lines=[(sku, units) for sku in skus],
                actor=SEED_ACTOR,
            ).purchase_order
            if received:
                receive_purchase_order(
                    purchase_order=po,
                    lines=[(sku, received) for sku in skus],
                    reference=f"{reference}-DN1",
                    actor=SEED_ACTOR,
                )
        except DomainError:
            # A demo whose stock was changed by hand (a transfer source emptied): skip.
            continue
        result.created += 1
    if not PlanningRun.objects.exists():
        run = run_planning()
        refresh_low_stock_crossings()
        result.created += run.series
    else:
        result.existing += 1
