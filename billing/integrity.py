"""Billing's invariants for ``check_integrity``: payments received add up to their
applications, invoices on terms are paid by exactly their live applications, and the
credit rule's copies of what is owed (``Order.invoiced_on_terms``,
``orders.OpenReceivable``) match the invoices."""

from decimal import Decimal

from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from core.integrity import Violation
from core.money import to_cents
from orders.models import OpenReceivable, Order, PaymentMethod

from .models import Invoice, PaymentApplication, ReceivedPayment
from .receivables import counts_as_receivable, with_balance

ZERO = Decimal("0.00")


def _live_sum(**outer: str) -> Coalesce:
    live = (
        PaymentApplication.objects.filter(
            reversed_at__isnull=True, **{key: OuterRef(value) for key, value in outer.items()}
        )
        .order_by()
        .values(*outer)
        .annotate(t=Sum("amount"))
        .values("t")
    )
    money: DecimalField = DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Subquery(live, output_field=money), Value(ZERO), output_field=money)


def payment_mismatches() -> list[Violation]:
    rows = (
        ReceivedPayment.objects.annotate(live=_live_sum(payment="pk"))
        .exclude(applied_total=F("live"))
        .values_list("pk", "applied_total", "live")
    )
    return [
        Violation(
            "received_payment_applied",
            f"payment received {pk}",
            f"applied_total {applied} but its live applications add up to {live}",
        )
        for pk, applied, live in rows
    ]


def invoice_paid_mismatches() -> list[Violation]:
    rows = (
        Invoice.objects.filter(payment_method=PaymentMethod.INVOICE)
        .annotate(live=_live_sum(invoice="pk"))
        .exclude(amount_paid=F("live"))
        .values_list("number", "amount_paid", "live")
    )
    return [
        Violation(
            "invoice_paid_by_applications",
            f"invoice {number}",
            f"amount paid {paid} but the payments applied to it add up to {live}",
        )
        for number, paid, live in rows
    ]


def receivable_mismatches() -> list[Violation]:
    """Every invoice on terms that owes money has its receivable row with its balance,
    and no other row exists."""
    kept = dict(OpenReceivable.objects.values_list("invoice_number", "balance_due"))
    owing = {}
    for invoice in with_balance(
        Invoice.objects.filter(payment_method=PaymentMethod.INVOICE).filter(
            ~Q(company=None), ~Q(due_date=None)
        )
    ).iterator():
        balance = to_cents(Decimal(invoice.balance_due))  # type: ignore[attr-defined]
        if counts_as_receivable(invoice) and balance > 0:
            owing[invoice.number] = balance
    violations = [
        Violation(
            "open_receivable",
            f"invoice {number}",
            f"owes {balance} but the credit rule counts {kept.get(number, ZERO)}",
        )
        for number, balance in owing.items()
        if kept.get(number) != balance
    ]
    violations += [
        Violation("open_receivable", f"invoice {number}", "counted as owing but owes nothing")
        for number in kept.keys() - owing.keys()
    ]
    return violations


def invoiced_on_terms_mismatches() -> list[Violation]:
    invoiced = (
        Invoice.objects.filter(order=OuterRef("pk"), payment_method=PaymentMethod.INVOICE)
        .order_by()
        .values("order")
        .annotate(t=Sum("grand_total"))
        .values("t")
    )
    money: DecimalField = DecimalField(max_digits=14, decimal_places=2)
    rows = (
        Order.objects.annotate(
            billed=Coalesce(Subquery(invoiced, output_field=money), Value(ZERO), output_field=money)
        )
        .exclude(invoiced_on_terms=F("billed"))
        .values_list("number", "invoiced_on_terms", "billed")
    )
    return [
        Violation(
            "order_invoiced_on_terms",
            f"order {number}",
            f"invoiced_on_terms {kept} but its invoices on terms add up to {billed}",
        )
        for number, kept, billed in rows
    ]


def check_receivables() -> list[Violation]:
    return [
        *payment_mismatches(),
        *invoice_paid_mismatches(),
        *receivable_mismatches(),
        *invoiced_on_terms_mismatches(),
    ]
