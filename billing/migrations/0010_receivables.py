from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Sum

ACTOR_KINDS = [
    ("user", "Staff user"),
    ("api", "API client"),
    ("customer", "Customer"),
    ("system", "System"),
]


def actor_fields():
    return [
        ("actor_kind", models.CharField(choices=ACTOR_KINDS, max_length=16)),
        ("actor_label", models.CharField(max_length=150)),
        (
            "actor_user",
            models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]


def count_invoices_on_terms(apps, schema_editor):
    """What the credit rule needs of the invoices issued before: each order's total
    invoiced on terms, and a receivable row per invoice on terms that still owes money
    (total less credit notes and payments). On PostgreSQL the exposure trigger moves
    the invoiced part of open orders out of their slots as the column fills."""
    Invoice = apps.get_model("billing", "Invoice")
    CreditNote = apps.get_model("billing", "CreditNote")
    Order = apps.get_model("orders", "Order")
    OpenReceivable = apps.get_model("orders", "OpenReceivable")
    on_terms = Invoice.objects.filter(payment_method="invoice")
    for row in on_terms.values("order_id").annotate(total=Sum("grand_total")).order_by():
        Order.objects.filter(pk=row["order_id"]).update(invoiced_on_terms=row["total"])
    credited = dict(
        CreditNote.objects.filter(invoice__payment_method="invoice")
        .values("invoice_id")
        .annotate(total=Sum("grand_total"))
        .order_by()
        .values_list("invoice_id", "total")
    )
    rows = []
    for invoice in on_terms.exclude(company=None).exclude(due_date=None).iterator():
        balance = invoice.grand_total - (credited.get(invoice.pk) or 0) - invoice.amount_paid
        if balance > 0:
            rows.append(
                OpenReceivable(
                    company_id=invoice.company_id,
                    invoice_number=invoice.number,
                    due_date=invoice.due_date,
                    balance_due=balance,
                )
            )
    OpenReceivable.objects.bulk_create(rows, batch_size=1000)


def forget_invoices_on_terms(apps, schema_editor):
    apps.get_model("orders", "OpenReceivable").objects.all().delete()
    Order = apps.get_model("orders", "Order")
    Order.objects.exclude(invoiced_on_terms=0).update(invoiced_on_terms=Decimal("0"))


class Migration(migrations.Migration):
    """Payments received against invoices (and their applications), the invoice's
    paid-within-total check, and the receivables the credit rule reads, counted from
    the invoices issued so far."""

    dependencies = [
        ("billing", "0009_refund_destination"),
        ("customers", "0005_store_credit"),
        ("orders", "0022_exposure_counts_invoices"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReceivedPayment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                *actor_fields(),
                ("received_date", models.DateField(db_index=True)),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14)),
                ("currency", models.CharField(max_length=3)),
                (
                    "method",
                    models.CharField(
                        choices=[
                            ("bank_transfer", "Bank transfer"),
                            ("cheque", "Cheque"),
                            ("other", "Other"),
                        ],
                        default="bank_transfer",
                        max_length=16,
                    ),
                ),
                (
                    "bank_reference",
                    models.CharField(
                        blank=True,
                        help_text=(
                            "The bank's reference of the transfer (or the cheque number): a "
                            "statement imported twice is not booked twice."
                        ),
                        max_length=100,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                (
                    "applied_total",
                    models.DecimalField(decimal_places=2, default=Decimal("0.00"), max_digits=14),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "company",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="received_payments",
                        to="customers.company",
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        blank=True,
                        help_text="The payer when it is a customer without a company.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="received_payments",
                        to="customers.customer",
                    ),
                ),
            ],
            options={
                "ordering": ["-received_date", "-id"],
                "permissions": [
                    ("record_receivedpayment", "Can record payments received and apply them"),
                    ("import_receivedpayment", "Can import a bank statement of payments received"),
                ],
                "indexes": [
                    models.Index(
                        fields=["company", "-received_date"], name="received_payment_company_date"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("company__isnull", False), ("customer__isnull", False), _connector="OR"
                        ),
                        name="received_payment_has_payer",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount__gt", 0)),
                        name="received_payment_amount_positive",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("applied_total__gte", 0), ("applied_total__lte", models.F("amount"))
                        ),
                        name="received_payment_applied_within_amount",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(
                            ("company__isnull", False),
                            models.Q(("bank_reference", ""), _negated=True),
                        ),
                        fields=("company", "bank_reference"),
                        name="received_payment_company_reference_unique",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(
                            ("company__isnull", True),
                            models.Q(("bank_reference", ""), _negated=True),
                        ),
                        fields=("customer", "bank_reference"),
                        name="received_payment_customer_reference_unique",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="PaymentApplication",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                *actor_fields(),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14)),
                ("applied_at", models.DateTimeField()),
                ("reversed_at", models.DateTimeField(blank=True, null=True)),
                ("reversed_by_label", models.CharField(blank=True, max_length=150)),
                (
                    "invoice",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payment_applications",
                        to="billing.invoice",
                    ),
                ),
                (
                    "payment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="applications",
                        to="billing.receivedpayment",
                    ),
                ),
            ],
            options={
                "ordering": ["payment_id", "id"],
                "indexes": [
                    models.Index(
                        fields=["invoice", "reversed_at"], name="payment_application_invoice"
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount__gt", 0)),
                        name="payment_application_amount_positive",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("reversed_at__isnull", True),
                            ("reversed_at__gte", models.F("applied_at")),
                            _connector="OR",
                        ),
                        name="payment_application_reversed_after_applied",
                    ),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_paid__lte", models.F("grand_total"))),
                name="invoice_paid_within_total",
            ),
        ),
        migrations.RunPython(count_invoices_on_terms, forget_invoices_on_terms),
    ]
