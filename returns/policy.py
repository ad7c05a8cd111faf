"""The return policy, read from ``ReturnPolicy`` rows.

For each order line the most specific active rule governs: the order's company's rule,
else the product's rule, else the rule of the product's category, else the default rule,
else the built-in default (30 days, no automatic approval). A product marked not
returnable (``Product.is_returnable``) is refused whatever the rules say. A refusal
names the rule that refused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Max, Q
from django.utils import timezone

from core.errors import Conflict, InvalidInput
from fulfillment.models import Shipment
from orders.models import Order, OrderLine

from .models import DEFAULT_WINDOW_DAYS, SCOPE_RANK, PolicyScope, ReturnPolicy, ReturnReason


class ReturnRefused(InvalidInput):
    status = 422


class ReturnWindowClosed(ReturnRefused):
    code = "return_window_closed"


class NotReturnable(ReturnRefused):
    code = "not_returnable"


class QuantityExceedsReturnable(Conflict):
    """More units asked for than were delivered and are not returned or requested yet;
    a conflict, since another request may have just taken them."""

    code = "quantity_exceeds_returnable"


SCOPE_WORDS = {
    PolicyScope.DEFAULT: "default rule",
    PolicyScope.CATEGORY: "category rule",
    PolicyScope.SKU: "product rule",
    PolicyScope.COMPANY: "company rule",
}


@dataclass(frozen=True)
class Rule:
    """The rule governing one line: a stored policy, or the built-in default."""

    policy: ReturnPolicy | None
    window_days: int = DEFAULT_WINDOW_DAYS
    non_returnable: bool = False
    auto_approve_below: Decimal | None = None
    auto_approve_reason_ids: frozenset[int] = field(default_factory=frozenset)
    refund_without_return_below: Decimal | None = None
    trust_exchanges: bool = False

    @property
    def name(self) -> str:
        if self.policy is None:
            return f"Built-in default ({DEFAULT_WINDOW_DAYS} days)"
        words = SCOPE_WORDS[PolicyScope(self.policy.scope)]
        if self.policy.category is not None:
            words = f"{words} for {self.policy.category.name}"
        return f"{self.policy.name} ({words})"

    def trace(self) -> dict[str, object]:
        return {
            "policy_id": self.policy.pk if self.policy else None,
            "rule": self.name,
            "window_days": self.window_days,
        }


def _rule(policy: ReturnPolicy | None) -> Rule:
    if policy is None:
        return Rule(policy=None)
    return Rule(
        policy=policy,
        window_days=policy.window_days,
        non_returnable=policy.non_returnable,
        auto_approve_below=policy.auto_approve_below,
        auto_approve_reason_ids=frozenset(r.pk for r in policy.auto_approve_reasons.all()),
        refund_without_return_below=policy.refund_without_return_below,
        trust_exchanges=policy.trust_exchanges,
    )


def rules_for_lines(order: Order, lines: list[OrderLine]) -> dict[int, Rule]:
    """The governing rule of each line (by order line id), in two queries.

    A category rule comes back once per product of the lines in its category, with that
    product's id in ``covered_product_id``, so the lines' products need not be read.
    """
    product_ids = {line.product_id for line in lines}
    scope = (
        Q(scope=PolicyScope.DEFAULT)
        | Q(scope=PolicyScope.SKU, product_id__in=product_ids)
        | Q(scope=PolicyScope.CATEGORY, category__products__id__in=product_ids)
    )
    if order.company_id is not None:
        scope |= Q(scope=PolicyScope.COMPANY, company_id=order.company_id)
    policies = list(
        ReturnPolicy.objects.filter(scope, is_active=True)
        .annotate(covered_product_id=F("category__products__id"))
        .select_related("category")
        .prefetch_related("auto_approve_reasons")
    )
    rules: dict[int, Rule] = {}
    for line in lines:
        applicable = [
            p
            for p in policies
            if (p.scope != PolicyScope.SKU or p.product_id == line.product_id)
            and (p.scope != PolicyScope.CATEGORY or p.covered_product_id == line.product_id)
        ]
        applicable.sort(key=lambda p: SCOPE_RANK[PolicyScope(p.scope)])
        rules[line.pk] = _rule(applicable[0] if applicable else None)
    return rules


def delivered_at(order: Order) -> dt.datetime:
    """When the order's last delivered parcel arrived; the window runs from it. An order
    with delivered units but no dated delivery (imported history) counts from when it
    was placed."""
    last = Shipment.objects.filter(order=order, delivered_at__isnull=False).aggregate(
        last=Max("delivered_at")
    )["last"]
    return last or order.created_at


def returnable_quantity(line: OrderLine) -> int:
    """Delivered, less what is returned and what open requests already ask for."""
    return max(line.quantity_delivered - line.quantity_returned - line.quantity_return_requested, 0)


@dataclass(frozen=True)
class AskedLine:
    order_line: OrderLine
    quantity: int
    reason: ReturnReason


def check_policy(
    order: Order, asked: list[AskedLine], *, now: dt.datetime | None = None
) -> dict[int, Rule]:
    """Refuse the request if any rule forbids it; the governing rule of each line.

    Call it holding the order's row lock, with lines read under it, so the returnable
    quantity cannot change before the request is written.
    """
    rules = rules_for_lines(order, [a.order_line for a in asked])
    now = now or timezone.now()
    since: dt.datetime | None = None
    for item in asked:
        line, rule = item.order_line, rules[item.order_line.pk]
        if not line.product.is_returnable:
            raise NotReturnable(
                f"{line.sku} cannot be returned: the product is marked not returnable.",
                sku=line.sku,
                rule="product is not returnable",
            )
        if rule.non_returnable:
            raise NotReturnable(
                f"{line.sku} cannot be returned under the rule “{rule.name}”.",
                sku=line.sku,
                rule=rule.name,
            )
        available = returnable_quantity(line)
        if item.quantity > available:
            raise QuantityExceedsReturnable(
                f"Only {available} of {line.sku} can be returned: "
                f"{line.quantity_delivered} delivered, {line.quantity_returned} returned, "
                f"{line.quantity_return_requested} in open return requests.",
                sku=line.sku,
                returnable=available,
                rule="maximum returnable = delivered − returned − requested",
            )
        if since is None:
            since = delivered_at(order)
        closes = since + dt.timedelta(days=rule.window_days)
        if now > closes:
            raise ReturnWindowClosed(
                f"The return window for {line.sku} closed on {closes:%Y-%m-%d} "
                f"({rule.window_days} days after delivery, rule “{rule.name}”).",
                sku=line.sku,
                rule=rule.name,
                window_days=rule.window_days,
            )
    return rules


def auto_approves(asked: list[AskedLine], rules: dict[int, Rule]) -> bool:
    """Whether every line's rule approves the request without an agent: its reason is
    one the rule trusts, or the whole request is worth less than the rule's amount."""
    total = asked_value(asked)
    for item in asked:
        rule = rules[item.order_line.pk]
        by_reason = item.reason.pk in rule.auto_approve_reason_ids
        by_amount = rule.auto_approve_below is not None and total < rule.auto_approve_below
        if not (by_reason or by_amount):
            return False
    return True


def asked_value(asked: list[AskedLine]) -> Decimal:
    """What the units asked back were sold at (unit prices, before tax)."""
    return sum((a.order_line.unit_price * a.quantity for a in asked), start=Decimal("0"))


def keeps_items(asked: list[AskedLine], rules: dict[int, Rule]) -> bool:
    """Whether the customer keeps the items and is refunded on approval: every line's
    rule refunds without return below an amount, and the request is worth less."""
    total = asked_value(asked)
    return all(
        rules[a.order_line.pk].refund_without_return_below is not None
        and total < (rules[a.order_line.pk].refund_without_return_below or Decimal("0"))
        for a in asked
    )


def trusts_exchange(asked: list[AskedLine], rules: dict[int, Rule]) -> bool:
    """Whether every line's rule lets an exchange's replacement ship before the return
    arrives."""
    return all(rules[a.order_line.pk].trust_exchanges for a in asked)
