"""Which holds an order needs. Pure rules over data the caller loads in two queries.

Credit decisions under concurrency
----------------------------------
A company's exposure is read as committed (``CompanyExposure``): two orders decided at
the same time do not see each other, so together they could pass the credit limit.
Each company on credit terms therefore has ``OMS_CREDIT_PARALLEL_ORDERS`` (K)
transaction-level advisory locks, its credit slots:

* Placement first tries the fast way: its products statement, the first statement of
  its transaction, takes one free slot (or waits for one), and the hold rules, after
  the order's INSERT, read the exposure afresh. An order is decided on the spot when it
  crosses the limit on committed orders alone (held: the orders in flight only add),
  or when it is small and far from the limit: its total is at most
  ``headroom / (K - 1)`` and exposure + total + headroom stays within the limit, where
  headroom is ``OMS_CREDIT_HEADROOM`` of the limit. Every order it cannot see holds a
  slot, so at most K - 1 of them are in flight, together at most the headroom: the
  un-held orders never pass the limit.
* Any other order is in between: ``CreditDecisionContended`` rolls its attempt back
  and ``place_order`` places it again holding all K slots (``lock_credit_decisions``),
  which waits for the company's orders in flight and keeps new ones waiting, so the
  exposure it reads is exact. Edits and draft submissions take all K slots too.

Companies far from their limit never wait for each other (up to K orders at once) and
run no extra statement for the slots; only orders near the limit, or large against it,
are decided one at a time. Prepaid companies have no credit rule and take no lock. The slots sit
in the global lock order (``inventory.locks``) right after the order row: placement
takes them before it writes anything, an edit right after locking its order. SQLite
(the demo) serialises writers and takes no lock.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from core import rows
from core.money import format_money
from customers.models import Company, PaymentTerms

from . import sql
from .models import HoldKind, Order, OrderStatus


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


@dataclass(frozen=True)
class CreditStanding:
    """What a company owes or will owe (``exposure``: open orders not invoiced yet, and
    unpaid invoices on terms), and its invoices overdue past the grace period: how many,
    and the numbers of the oldest (``orders.sql.OVERDUE_NAMED`` at most)."""

    exposure: Decimal
    overdue_count: int = 0
    overdue_numbers: tuple[str, ...] = ()


def overdue_cutoff(today: date | None = None) -> date:
    """Invoices due before this date are overdue past the grace period
    (``OMS_OVERDUE_GRACE_DAYS``)."""
    today = today or timezone.localdate()
    return today - timedelta(days=int(settings.OMS_OVERDUE_GRACE_DAYS))


def company_credit_standing(
    company_id: int,
    *,
    exclude_order_id: int | None = None,
    counted_total: Decimal = Decimal("0"),
) -> CreditStanding:
    """A company's ``CreditStanding``, other than order ``exclude_order_id``. One small
    query.

    On PostgreSQL the open orders' part is the committed figure ``CompanyExposure``
    keeps, which never includes the calling transaction's own changes: an order being
    placed is not in it, and an order being edited is in it at ``counted_total``, what
    it counted before the edit (``counted_amount``), which is taken off. Elsewhere the
    open orders are summed. The unpaid invoices are billing's ``OpenReceivable`` rows.
    """
    cutoff = overdue_cutoff()
    receivables = [company_id, company_id, cutoff, company_id, cutoff]
    if connection.vendor == "postgresql":
        found = rows.fetch(sql.open_exposure_sql(), [company_id, *receivables])[0]
        exposure = Decimal(found[0]) + Decimal(found[1]) - counted_total
    else:
        params = [company_id, exclude_order_id or 0, *receivables]
        found = rows.fetch(sql.open_exposure_sql(), params)[0]
        exposure = Decimal(int(found[0]) + int(found[1])).scaleb(-2)
    numbers = tuple(n for n in (found[3] or "").split(", ") if n)
    return CreditStanding(exposure, int(found[2] or 0), numbers)


def company_open_exposure(
    company_id: int,
    *,
    exclude_order_id: int | None = None,
    counted_total: Decimal = Decimal("0"),
) -> Decimal:
    """What a company owes or will owe: ``company_credit_standing``'s exposure."""
    return company_credit_standing(
        company_id, exclude_order_id=exclude_order_id, counted_total=counted_total
    ).exposure


def counted_amount(order: Order) -> Decimal:
    """What an open order counts in its company's exposure: what it has not invoiced on
    terms yet (billing counts the invoices' unpaid balances)."""
    return max(order.grand_total - order.invoiced_on_terms, Decimal("0"))


# Advisory lock keys of the credit slots: (CREDIT_LOCK_SPACE + slot, company key).
CREDIT_LOCK_SPACE = 0x43520000


class CreditDecisionContended(Exception):
    """This order's credit decision must wait for its company's other orders: placed
    again with all of the company's credit slots (never reaches a caller)."""


@dataclass(frozen=True)
class CreditLock:
    """The credit slots a placement holds: one (``slot``, or None when the database has
    no advisory locks or the company no credit rule) or, ``exact``, all of them."""

    slot: int | None = None
    exact: bool = False


def decides_credit(company: Company | None) -> bool:
    """Whether orders of ``company`` are checked against a credit limit."""
    return company is not None and company.payment_terms != PaymentTerms.PREPAID


def _company_key(company_id: int) -> int:
    return company_id % 2**31  # the second key of an advisory lock is an int4


def _parallel_orders() -> int:
    return max(1, int(settings.OMS_CREDIT_PARALLEL_ORDERS))


def credit_slot_sql() -> str | None:
    """A scalar SQL expression taking one credit slot of a company (the first free one,
    else waiting for one at random) and giving its number; its parameters are
    ``credit_slot_params``. None where there are no advisory locks. Placement puts it
    in its first statement, so that the exposure read by the next one is fresh."""
    if connection.vendor != "postgresql":
        return None
    return sql.credit_slot_sql(_parallel_orders(), CREDIT_LOCK_SPACE)


def credit_slot_params(company_id: int) -> list[int]:
    key = _company_key(company_id)
    return [key, key]


def lock_credit_decisions(company: Company | None) -> CreditLock:
    """Take all the credit slots of ``company``, in slot order: every order of it in
    flight has committed, and no new one is decided until this transaction ends. Call
    it right after the order row lock, before any stock row (the global lock order)."""
    if not decides_credit(company) or connection.vendor != "postgresql":
        return CreditLock(exact=True)
    assert company is not None  # noqa: S101 - decides_credit
    with connection.cursor() as cursor:
        cursor.execute(
            sql.LOCK_ALL_CREDIT_SLOTS,
            [CREDIT_LOCK_SPACE, _company_key(company.pk), _parallel_orders() - 1],
        )
    return CreditLock(exact=True)


def _decided_alone(order: Order, exposure: Decimal, credit: CreditLock) -> bool:
    """Whether this placement may decide its credit hold with the exposure it read,
    holding ``credit`` (see the module docstring)."""
    company = order.company
    if credit.exact or not decides_credit(company):
        return True
    assert company is not None  # noqa: S101 - decides_credit
    limit = company.credit_limit
    total = counted_amount(order)
    if exposure + total > limit:
        return True  # crosses on committed orders alone; the others in flight only add
    if credit.slot is None:
        return False
    others = _parallel_orders() - 1
    if others == 0:
        return True  # the only slot: nothing is in flight
    headroom = limit * Decimal(str(settings.OMS_CREDIT_HEADROOM))
    return total * others <= headroom and exposure + total + headroom <= limit


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
    credit: CreditLock | None = None,
) -> list[HoldDecision]:
    """The holds ``order`` needs, with their inputs read here (one query).

    After an edit the customer is no longer new, so the first-order fraud rule no
    longer applies, and ``counted_total`` is the order's total before the edit: its
    company's exposure still counts it, less what was invoiced on terms
    (``counted_amount``), and that is taken off.

    ``credit``: the company's credit slots the caller holds (placement). Raises
    ``CreditDecisionContended`` when they are not enough to decide (module docstring).
    Other callers take all of them first (``lock_credit_decisions``)."""
    overdue: CreditStanding | None = None
    if order.company_id:
        counted = max(counted_total - order.invoiced_on_terms, Decimal("0"))
        standing = company_credit_standing(
            order.company_id, exclude_order_id=order.pk, counted_total=counted
        )
        exposure = standing.exposure
        if credit is not None and not _decided_alone(order, exposure, credit):
            raise CreditDecisionContended(order.company_id)
        prior, recent = 1, 0
        overdue = standing
    else:
        exposure = Decimal("0")
        prior, recent = customer_history(order.customer_id, exclude_order_id=order.pk)
        if after_edit:
            prior = max(prior, 1)
    return evaluate_holds(
        order,
        prior_orders=prior,
        recent_orders=recent,
        company_exposure=exposure,
        overdue=overdue,
    )


def overdue_reason(standing: CreditStanding) -> str:
    """The credit hold's reason for invoices overdue past the grace period, naming the
    oldest of them."""
    named = ", ".join(standing.overdue_numbers)
    more = standing.overdue_count - len(standing.overdue_numbers)
    if more > 0:
        named += f" and {more} more"
    days = int(settings.OMS_OVERDUE_GRACE_DAYS)
    noun = "Invoice" if standing.overdue_count == 1 else "Invoices"
    return f"{noun} overdue by more than {days} days: {named}."


def evaluate_holds(
    order: Order,
    *,
    prior_orders: int,
    recent_orders: int,
    company_exposure: Decimal,
    overdue: CreditStanding | None = None,
) -> list[HoldDecision]:
    """The holds ``order`` needs now. Manual holds are never decided here.
    ``overdue``: the company's invoices overdue past the grace period, which put its
    orders on a credit hold (the hold's release after they are paid is finance's)."""
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
        exposure = company_exposure + counted_amount(order)
        # Credit matters only to companies buying on terms; prepaid ones pay up front.
        on_terms = company.payment_terms != PaymentTerms.PREPAID
        if on_terms and exposure > company.credit_limit:
            decisions.append(
                HoldDecision(
                    HoldKind.CREDIT_LIMIT,
                    "Open orders and unpaid invoices would total "
                    f"{format_money(exposure, company.currency)}, "
                    "over the credit limit of "
                    f"{format_money(company.credit_limit, company.currency)}.",
                )
            )
        if on_terms and overdue is not None and overdue.overdue_count:
            decisions.append(HoldDecision(HoldKind.CREDIT_LIMIT, overdue_reason(overdue)))
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
