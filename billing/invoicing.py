"""Invoices from shipments: one per shipment, issued by the ``shipment.created`` (and
``shipment.picked_up``) outbox event's consumer, ``billing.invoice_shipment_event``."""

import datetime as dt
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from core import outbox
from core.actors import Actor
from core.errors import Conflict
from core.money import format_money
from customers.models import Address, AddressKind, PaymentTerms
from fulfillment.models import Shipment, ShipmentLine
from orders.events import record_order_event
from orders.models import Order, OrderEventType, OrderLine
from orders.services import order_for_update

from .allocation import (
    ZERO,
    ClosingAmounts,
    InvoiceAmounts,
    OrderFigures,
    OrderLineFigures,
    allocate,
)
from .models import (
    BUILT_IN_PAYMENT_TERMS,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PaymentMethod,
    PaymentTermsRule,
)
from .numbering import INVOICE_SERIES, next_number
from .receivables import track_issued_invoice

ACTOR = Actor.system("billing")
# Invoices of customers without terms (cards) are paid when issued: due on receipt.
NO_TERMS = "due_on_receipt"


class MissingPaymentTerms(Conflict):
    code = "missing_payment_terms"


def seller_details() -> dict[str, str]:
    """Our legal details as printed on a document (``OMS_LEGAL_*`` settings)."""
    return {
        "legal_name": settings.OMS_LEGAL_NAME,
        "address": settings.OMS_LEGAL_ADDRESS,
        "tax_id": settings.OMS_TAX_ID,
        "iban": settings.OMS_BANK_IBAN,
    }


def _address_fields(source: Any) -> dict[str, str]:
    names = ("name", "line1", "line2", "city", "region", "postal_code", "country")
    if isinstance(source, dict):
        return {name: str(source.get(name) or "") for name in names}
    return {name: str(getattr(source, name) or "") for name in names}


def bill_to(order: Order) -> dict[str, Any]:
    """Who an invoice of ``order`` is made out to: the company (to its buyer's
    attention) or the customer, at the order's billing address, else the company's
    default billing address, else where the order ships."""
    customer = order.customer
    company = order.company
    address: dict[str, str]
    if order.billing_address:
        address = _address_fields(order.billing_address)
    else:
        saved = (
            Address.objects.filter(company=company, kind=AddressKind.BILLING, is_default=True)
            .order_by("-id")
            .first()
            if company is not None
            else None
        )
        address = (
            _address_fields(saved)
            if saved is not None
            else {
                "name": order.ship_name,
                "line1": order.ship_line1,
                "line2": order.ship_line2,
                "city": order.ship_city,
                "region": order.ship_region,
                "postal_code": order.ship_postal_code,
                "country": order.ship_country,
            }
        )
    return {
        "name": company.name if company is not None else customer.full_name,
        "attention": customer.full_name if company is not None else "",
        "account_number": company.account_number if company is not None else "",
        "tax_exemption_number": company.tax_exemption_number if company is not None else "",
        "email": order.email,
        "po_number": order.po_number,
        "address": address,
    }


def payment_terms_for(order: Order) -> tuple[str, PaymentTermsRule]:
    """How ``order`` is paid and its terms rule: an order paid by invoice (a company
    on net terms) on the company's terms; everyone else by card (or with store credit,
    spent at placement), due on receipt.

    The order's payment method decides (placement defaults it from the company's
    terms)."""
    company = order.company
    on_terms = (
        company is not None
        and order.payment_method == PaymentMethod.INVOICE
        and company.payment_terms != PaymentTerms.PREPAID
    )
    code = company.payment_terms if on_terms and company is not None else NO_TERMS
    rule = PaymentTermsRule.objects.filter(code=code).first()
    built_in = {c: (name, days) for c, name, days in BUILT_IN_PAYMENT_TERMS}
    if rule is None and code in built_in:
        name, days = built_in[code]
        rule, _ = PaymentTermsRule.objects.get_or_create(
            code=code, defaults={"name": name, "days": days}
        )
    if rule is None:
        raise MissingPaymentTerms(
            f"No payment terms rule {code!r}: add it under Billing › Payment terms rules."
        )
    if on_terms:
        return PaymentMethod.INVOICE, rule
    if order.payment_method == PaymentMethod.STORE_CREDIT:
        return PaymentMethod.STORE_CREDIT, rule
    return PaymentMethod.CARD, rule


def _order_figures(order: Order, lines: list[OrderLine]) -> OrderFigures:
    invoiced_lines = (
        InvoiceLine.objects.filter(invoice__order=order)
        .values("order_line_id")
        .annotate(quantity=Sum("quantity"), tax=Sum("tax"))
    )
    by_line = {row["order_line_id"]: row for row in invoiced_lines}
    invoiced = Invoice.objects.filter(order=order).aggregate(
        value=Sum("subtotal"),
        shipping=Sum("shipping_total"),
        shipping_tax=Sum("shipping_tax"),
        discount=Sum("discount_total"),
    )
    line_tax = sum((line.tax_total for line in lines), ZERO)
    return OrderFigures(
        subtotal=order.subtotal,
        shipping_total=order.shipping_total,
        # apply_totals: the order's tax is its lines' tax plus the shipping's.
        shipping_tax=order.tax_total - line_tax,
        discount_total=order.discount_total,
        lines=[
            OrderLineFigures(
                order_line_id=line.pk,
                unit_price=line.unit_price,
                quantity_live=line.quantity_live,
                tax_total=line.tax_total,
                invoiced_quantity=by_line.get(line.pk, {}).get("quantity") or 0,
                invoiced_tax=by_line.get(line.pk, {}).get("tax") or ZERO,
            )
            for line in lines
            if line.quantity_live > 0
        ],
        invoiced_value=invoiced["value"] or ZERO,
        invoiced_shipping=invoiced["shipping"] or ZERO,
        invoiced_shipping_tax=invoiced["shipping_tax"] or ZERO,
        invoiced_discount=invoiced["discount"] or ZERO,
    )


def invoice_shipment(shipment_id: int, *, issue_date: dt.date | None = None) -> Invoice:
    """Issue the invoice of shipment ``shipment_id``, or return the one it has.

    Idempotent: a shipment has at most one invoice (unique), so the outbox's second
    delivery returns the first one. Atomic: the invoice, its lines, its number, the
    order's timeline entry and the ``invoice.issued`` event commit together.

    Runs under the order's row lock (the first lock of the lock order), so that two
    shipments of one order are invoiced one after the other and each sees what the
    other billed; the series counter is the last lock (``billing.numbering``).
    """
    existing = Invoice.objects.filter(shipment_id=shipment_id).first()
    if existing is not None:
        return existing
    shipment = Shipment.objects.only("pk", "order_id").get(pk=shipment_id)
    return _issue(shipment, issue_date or timezone.localdate())


def _issued_at(issue_date: dt.date) -> dt.datetime:
    """Now, or noon of a back-dated issue date (the demo's history), so that an
    invoice is never issued after its own issue date."""
    if issue_date >= timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(issue_date, dt.time(12)))


@transaction.atomic
def _issue(shipment: Shipment, issue_date: dt.date) -> Invoice:
    order = order_for_update(shipment.order_id)
    existing = Invoice.objects.filter(shipment_id=shipment.pk).first()
    if existing is not None:  # issued while this one waited for the order's lock
        return existing
    order = Order.objects.select_related("customer", "company").get(pk=order.pk)
    lines = list(OrderLine.objects.filter(order=order).order_by("line_number"))
    shipped: dict[int, int] = defaultdict(int)
    for shipment_line in ShipmentLine.objects.filter(shipment=shipment).select_related(
        "fulfillment_line"
    ):
        shipped[shipment_line.fulfillment_line.order_line_id] += shipment_line.quantity
    amounts = allocate(_order_figures(order, lines), dict(shipped))
    return create_invoice(
        order,
        amounts,
        issue_date=issue_date,
        shipment=shipment,
        lines={line.pk: line for line in lines},
    )


def create_invoice(
    order: Order,
    amounts: InvoiceAmounts | ClosingAmounts,
    *,
    issue_date: dt.date,
    shipment: Shipment | None,
    lines: dict[int, OrderLine],
) -> Invoice:
    """Write an invoice of ``amounts`` for ``order`` (locked by the caller, in its
    transaction): its number, lines, the receivable, the timeline entry and the
    ``invoice.issued`` event. ``shipment`` None: the order's closing invoice
    (``billing.settlement``)."""
    method, rule = payment_terms_for(order)
    number = next_number(INVOICE_SERIES, issue_date)
    # Store credit paid the whole order at placement: its invoices are issued paid.
    paid = method == PaymentMethod.STORE_CREDIT
    invoice = Invoice.objects.create(
        number=number,
        order=order,
        shipment=shipment,
        company=order.company,
        customer=order.customer,
        currency=order.currency,
        issue_date=issue_date,
        issued_at=_issued_at(issue_date),
        due_date=(
            issue_date + dt.timedelta(days=rule.days) if method == PaymentMethod.INVOICE else None
        ),
        payment_method=method,
        payment_terms=rule.code,
        payment_terms_days=rule.days,
        subtotal=amounts.subtotal,
        discount_total=amounts.discount_total,
        shipping_total=amounts.shipping_total,
        shipping_tax=amounts.shipping_tax,
        tax_total=amounts.tax_total,
        grand_total=amounts.grand_total,
        bill_to=bill_to(order),
        seller=seller_details(),
        completes_order=amounts.completes_order,
        status=InvoiceStatus.PAID if paid else InvoiceStatus.ISSUED,
        amount_paid=amounts.grand_total if paid else ZERO,
        paid_at=timezone.now() if paid else None,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            order_line_id=line.order_line_id,
            sku=lines[line.order_line_id].sku,
            description=lines[line.order_line_id].description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount=line.discount,
            tax=line.tax,
            line_total=line.line_total,
        )
        for position, line in enumerate(amounts.lines, start=1)
    )
    # The credit rule counts the invoiced part as the invoice's balance from now on.
    track_issued_invoice(invoice)
    total = format_money(invoice.grand_total, invoice.currency)
    due = f", due {invoice.due_date:%Y-%m-%d}" if invoice.due_date else ""
    what = (
        f"Invoice {number} issued"
        if shipment is not None
        else f"Closing invoice {number} issued (shipping and tax the shipments' invoices left)"
    )
    record_order_event(
        order=order,
        type=OrderEventType.NOTE,
        actor=ACTOR,
        message=f"{what}: {total}{due}",
        payload={
            "invoice_id": invoice.pk,
            "invoice_number": number,
            "shipment_id": shipment.pk if shipment is not None else None,
            "grand_total": str(invoice.grand_total),
        },
    )
    outbox.emit("invoice.issued", {"order_id": order.pk, "invoice_id": invoice.pk})
    return invoice
