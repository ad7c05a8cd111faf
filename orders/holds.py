"""Which holds an order needs. Pure rules over data the caller loads in two queries."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from customers.models import PaymentTerms
from oms.core import rows
from oms.core.money import format_money

from .models import CompanyExposure, HoldKind, Order, OrderStatus

OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PROCESSING)


@dataclass(frozen=True)
class HoldDecision:
    kind: str
    reason: str


def customer_history(customer_id: int, *, exclude_order_id: int | None = None) -> tuple[int, int]:
    """(orders ever placed, orders placed in the last hour) by this customer; one query."""
    since = timezone.now() - timedelta(hours=1)
    qs = Order.objects.filter(customer_id=customer_id).exclude(status=OrderStatus.DRAFT)
    if exclude_order_id:
        qs = qs.exclude(pk=exclude_order_id)
    # placed_at, not created_at: orders imported from an old system are created now but
    # were placed long ago.
    row = qs.aggregate(total=Count("id"), recent=Count("id", filter=Q(placed_at__gte=since)))
    return row["total"] or 0, row["recent"] or 0


def _exposure_slots_sum(company_id: str) -> str:
    """SQL summing the trigger-kept slots of the company ``company_id`` names (a few
    rows, however many orders are open)."""
    return (
        "SELECT COALESCE(SUM(e.open_orders_total), 0) "  # noqa: S608
        f"FROM {rows.table(CompanyExposure)} e WHERE e.company_id = {company_id}"
    )


@cache
def _open_exposure_sql() -> str:
    if connection.vendor == "postgresql":
        return _exposure_slots_sum("%s")
    return sqlite_exposure_sql()


def sqlite_exposure_sql() -> str:
    """SQL summing a company's open orders other than one, in whole cents (SQLite).

    SQLite keeps decimals as floating point and would SUM them into a float with
    binary noise (188621.1399999999999636…, which a hold reason once showed); each
    total rounded to whole cents sums exactly."""
    statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    return (
        "SELECT COALESCE(SUM(CAST(ROUND(o.grand_total * 100) AS INTEGER)), 0) "  # noqa: S608
        f"FROM {rows.table(Order)} o "
        f"WHERE o.company_id = %s AND o.status IN ({statuses}) AND o.id <> %s"
    )


def open_exposure_returning_sql() -> str | None:
    """For an order's INSERT … RETURNING: its company's committed exposure, read by the
    same statement (PostgreSQL; None elsewhere). The new order is not in it."""
    if connection.vendor != "postgresql":
        return None
    return f"({_exposure_slots_sum(f'{rows.table(Order)}.company_id')})"


def company_open_exposure(
    company_id: int,
    *,
    exclude_order_id: int | None = None,
    counted_total: Decimal = Decimal("0"),
) -> Decimal:
    """What a company owes or will owe for its open orders, other than
    ``exclude_order_id`` (unpaid invoices join here). One small query.

    On PostgreSQL this is the committed figure ``CompanyExposure`` keeps, which never
    includes the calling transaction's own changes: an order being placed is not in
    it, and an order being edited is in it at ``counted_total``, its total before the
    edit, which is taken off. Elsewhere the open orders are summed.
    """
    if connection.vendor == "postgresql":
        found = rows.fetch(_open_exposure_sql(), [company_id])
        return Decimal(found[0][0]) - counted_total
    found = rows.fetch(_open_exposure_sql(), [company_id, exclude_order_id or 0])
    return Decimal(int(found[0][0])).scaleb(-2)


def address_problems(order: Order) -> list[str]:
    problems: list[str] = []
    if order.pickup_location_id:
        return problems
    if order.ship_country == "US":
        if not order.ship_region:
            problems.append("no state")
        if order.ship_latitude is None:
            problems.append("ZIP code could not be located")
    elif not order.ship_postal_code:
        problems.append("no postal code")
    if not order.ship_name:
        problems.append("no recipient name")
    return problems


def decide_holds(
    order: Order,
    *,
    after_edit: bool = False,
    counted_total: Decimal = Decimal("0"),
    company_exposure: Decimal | None = None,
) -> list[HoldDecision]:
    """The holds ``order`` needs, with their inputs read here (one query).

    After an edit the customer is no longer new, so the first-order fraud rule no
    longer applies, and ``counted_total`` is the order's total before the edit (what
    its company's exposure still counts for it). A caller that has read the company's
    exposure already (``open_exposure_returning_sql``) passes it, saving the query."""
    if order.company_id:
        exposure = (
            company_exposure - counted_total
            if company_exposure is not None
            else company_open_exposure(
                order.company_id, exclude_order_id=order.pk, counted_total=counted_total
            )
        )
        prior, recent = 1, 0
    else:
        exposure = Decimal("0")
        prior, recent = customer_history(order.customer_id, exclude_order_id=order.pk)
        if after_edit:
            prior = max(prior, 1)
    return evaluate_holds(
        order, prior_orders=prior, recent_orders=recent, company_exposure=exposure
    )


def evaluate_holds(
    order: Order,
    *,
    prior_orders: int,
    recent_orders: int,
    company_exposure: Decimal,
) -> list[HoldDecision]:
    """The holds ``order`` needs now. Manual holds are never decided here."""
    decisions: list[HoldDecision] = []
    new_customer_limit = Decimal(settings.OMS_FRAUD_NEW_CUSTOMER_LIMIT)
    if order.company_id is None:
        if prior_orders == 0 and order.grand_total > new_customer_limit:
            decisions.append(
                HoldDecision(
                    HoldKind.FRAUD_REVIEW,
                    "First order of a new customer over "
                    f"{format_money(new_customer_limit, order.currency)} "
                    f"({format_money(order.grand_total, order.currency)}).",
                )
            )
        billing_country = (order.billing_address or {}).get("country")
        if billing_country and billing_country != order.ship_country:
            decisions.append(
                HoldDecision(
                    HoldKind.FRAUD_REVIEW,
                    f"Billing country {billing_country} differs from shipping country "
                    f"{order.ship_country}.",
                )
            )
        if recent_orders >= settings.OMS_FRAUD_VELOCITY_PER_HOUR:
            decisions.append(
                HoldDecision(
                    HoldKind.FRAUD_REVIEW,
                    f"{recent_orders} other orders from this customer in the last hour.",
                )
            )
    company = order.company
    if company is not None:
        exposure = company_exposure + order.grand_total
        # Credit matters only to companies buying on terms; prepaid ones pay up front.
        if company.payment_terms != PaymentTerms.PREPAID and exposure > company.credit_limit:
            decisions.append(
                HoldDecision(
                    HoldKind.CREDIT_LIMIT,
                    f"Open orders would total {format_money(exposure, company.currency)}, "
                    "over the credit limit of "
                    f"{format_money(company.credit_limit, company.currency)}.",
                )
            )
        if company.approval_threshold is not None and order.grand_total > (
            company.approval_threshold
        ):
            decisions.append(
                HoldDecision(
                    HoldKind.B2B_APPROVAL,
                    f"Total {format_money(order.grand_total, order.currency)} is above "
                    "the approval threshold of "
                    f"{format_money(company.approval_threshold, company.currency)}.",
                )
            )
    problems = address_problems(order)
    if problems:
        decisions.append(
            HoldDecision(HoldKind.ADDRESS, "Address incomplete: " + ", ".join(problems))
        )
    # One hold per kind; several fraud signals become one reason.
    merged: dict[str, list[str]] = {}
    for decision in decisions:
        merged.setdefault(decision.kind, []).append(decision.reason)
    return [HoldDecision(kind, " ".join(reasons)) for kind, reasons in merged.items()]
