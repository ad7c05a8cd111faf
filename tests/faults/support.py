"""What the fault tests count once the dust settles: orders, their e-mails and routing
decisions, duplicates and losses, and a one-line report of the figures."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from core.models import OutboxEvent
from fulfillment.models import FulfillmentOrderLine, RoutingDecision
from orders.models import Notification, NotificationStatus, Order


def mail_subjects(mail_dir: Path) -> list[str]:
    """The subject of every e-mail the worker wrote to ``mail_dir`` (a file holds the
    messages sent over one connection)."""
    found = []
    for path in sorted(mail_dir.iterdir()):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("Subject: "):
                found.append(line.removeprefix("Subject: "))
    return found


def confirmed(numbers: list[str]) -> int:
    return Notification.objects.filter(
        order__number__in=numbers, event="order_confirmed", status=NotificationStatus.SENT
    ).count()


def routed(numbers: list[str]) -> int:
    return (
        RoutingDecision.objects.filter(order__number__in=numbers, outcome="routed")
        .values("order")
        .distinct()
        .count()
    )


def allocations_per_order(numbers: list[str]) -> Counter:
    """Units in live fulfillment order lines, per order number."""
    units: Counter = Counter()
    for number, quantity in FulfillmentOrderLine.objects.filter(
        order_line__order__number__in=numbers
    ).values_list("order_line__order__number", "quantity"):
        units[number] += quantity
    return units


@dataclass
class Figures:
    """What a fault run did and what came out of it."""

    fault: str
    outage_seconds: float
    orders_placed: int
    orders_refused: int
    emails_sent: int
    orders_routed: int
    duplicates: int
    lost: int

    def report(self) -> str:
        """The figures as one JSON line, also appended to ``$FAULT_REPORT`` if set (the
        source of the figures in docs/operations.md)."""
        line = json.dumps(asdict(self))
        path = os.environ.get("FAULT_REPORT")
        if path:
            with open(path, "a") as report:
                report.write(line + "\n")
        return line


def delivery_figures(
    *, fault: str, outage_seconds: float, numbers: list[str], refused: int, mail_dir: Path
) -> Figures:
    """Count what was delivered for the orders ``numbers``: confirmation e-mails (as
    files written by the worker, and as notification rows) and routing decisions.
    A duplicate is a second e-mail to an order, a second notification row or a second
    routing decision that allocated; a loss is an order without its e-mail or routing,
    or an outbox event never published."""
    subjects = Counter(mail_subjects(mail_dir))
    expected = {f"Your order {number} is confirmed" for number in numbers}
    emails_sent = sum(1 for subject in subjects if subject in expected)
    notifications = Counter(
        Notification.objects.filter(order__number__in=numbers, event="order_confirmed")
        .values_list("order__number", flat=True)
        .order_by()
    )
    decisions = Counter(
        RoutingDecision.objects.filter(order__number__in=numbers)
        .exclude(outcome="unrouted")
        .values_list("order__number", flat=True)
        .order_by()
    )
    duplicates = (
        sum(count - 1 for count in subjects.values() if count > 1)
        + sum(count - 1 for count in notifications.values() if count > 1)
        + sum(count - 1 for count in decisions.values() if count > 1)
    )
    unpublished = OutboxEvent.objects.filter(published_at__isnull=True).count()
    lost = (
        len(expected - set(subjects))
        + sum(1 for number in numbers if number not in decisions)
        + unpublished
    )
    assert Order.objects.filter(number__in=numbers).count() == len(numbers)
    return Figures(
        fault=fault,
        outage_seconds=round(outage_seconds, 1),
        orders_placed=len(numbers),
        orders_refused=refused,
        emails_sent=emails_sent,
        orders_routed=len(decisions),
        duplicates=duplicates,
        lost=lost,
    )
