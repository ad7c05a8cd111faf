"""Low-stock alerts: one e-mail to the purchasing contact per crossing.

A crossing opens when a stock level's position (net stock + incoming) goes at or below
its reorder point and closes when it is back above; the partial UNIQUE index on open
crossings keeps it to one per stock level, however many checks run at once. Each
crossing is alerted once: the sender claims unalerted crossings under their row locks
(``SKIP LOCKED``, so two senders never claim the same one), commits, then sends; a
failed send gives the claim back for the next check.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import DemandForecast, LowStockCrossing
from .replenishment import with_positions


def purchasing_recipients() -> list[str]:
    raw = settings.OMS_PURCHASING_EMAIL or ""
    return [a.strip() for a in raw.split(",") if a.strip()]


@transaction.atomic
def refresh_low_stock_crossings() -> tuple[int, int]:
    """Open a crossing for each stock level newly at or below its reorder point, close
    those back above it. Returns (opened, closed)."""
    positions = with_positions(DemandForecast.objects.filter(daily_demand__gt=0))
    below = {
        row["stock_level_id"]: row
        for row in positions.filter(position__lte=F("reorder_point_units")).values(
            "stock_level_id", "position", "reorder_point_units"
        )
    }
    open_ids = set(
        LowStockCrossing.objects.filter(closed_at__isnull=True).values_list(
            "stock_level_id", flat=True
        )
    )
    created = LowStockCrossing.objects.bulk_create(
        [
            LowStockCrossing(
                stock_level_id=pk,
                position=row["position"],
                reorder_point=row["reorder_point_units"],
            )
            for pk, row in below.items()
            if pk not in open_ids
        ],
        ignore_conflicts=True,  # a concurrent check opened it: still one crossing
    )
    closed = LowStockCrossing.objects.filter(
        closed_at__isnull=True, stock_level_id__in=open_ids - below.keys()
    ).update(closed_at=timezone.now())
    return len(created), closed


def _claim() -> list[LowStockCrossing]:
    with transaction.atomic():
        claimed = list(
            LowStockCrossing.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("stock_level__product", "stock_level__location")
            .filter(alerted_at__isnull=True, closed_at__isnull=True)
            .order_by("id")
        )
        if claimed:
            LowStockCrossing.objects.filter(pk__in=[c.pk for c in claimed]).update(
                alerted_at=timezone.now()
            )
    return claimed


def send_low_stock_alerts() -> int:
    """E-mail the purchasing contact the crossings not alerted yet (one message listing
    them); returns how many were alerted. Without a contact configured, nothing is
    claimed, so the alerts go out once one is."""
    recipients = purchasing_recipients()
    if not recipients:
        return 0
    claimed = _claim()
    if not claimed:
        return 0
    lines = [
        f"- {c.stock_level.product.sku} ({c.stock_level.product.name}) at "
        f"{c.stock_level.location.code}: {c.position} in stock and incoming, "
        f"reorder point {c.reorder_point}"
        for c in claimed
    ]
    body = (
        f"{len(claimed)} SKU(s) went at or below their reorder point:\n\n"
        + "\n".join(lines)
        + f"\n\nThe reorder queue: {settings.OMS_PUBLIC_URL}/admin/planning/reordersuggestion/\n"
    )
    try:
        send_mail(
            subject=f"Low stock: {len(claimed)} SKU(s) to reorder",
            message=body,
            from_email=None,
            recipient_list=recipients,
        )
    except Exception:
        LowStockCrossing.objects.filter(pk__in=[c.pk for c in claimed]).update(alerted_at=None)
        raise
    return len(claimed)


def check_low_stock() -> int:
    refresh_low_stock_crossings()
    return send_low_stock_alerts()
