"""The log of payment reminders (dunning), and the aging report's place in the console.

``DunningReminder`` is one row per (invoice, stage), UNIQUE: the service
(``billing.dunning``) inserts a stage's row under the invoice's row lock before it
sends anything, so each stage is decided once whatever the number of runs at once; the
e-mail itself goes out once through the order's notification log (its claim's key is
kept here). Stages a run found already past (the beat was down) are written as skipped.

``AgingReport`` is a proxy of ``Invoice`` with no table of its own: it puts "Aging
report" in the billing section of the admin index (``billing.admin.aging``).
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from core.money import format_money

from .models import Invoice


class ReminderStage(models.TextChoices):
    """When a reminder goes, relative to the invoice's due date (``billing.dunning``
    holds the days: before the due date by ``OMS_DUNNING_BEFORE_DUE_DAYS``)."""

    BEFORE_DUE = "before_due", "Before the due date"
    AT_DUE = "at_due", "On the due date"
    OVERDUE_7 = "overdue_7", "7 days overdue"
    OVERDUE_30 = "overdue_30", "30 days overdue"


class ReminderStatus(models.TextChoices):
    # Decided, the e-mail not confirmed sent yet (being sent, or its send failed and a
    # later run tries again).
    PENDING = "pending", "Being sent"
    SENT = "sent", "Sent"
    # Its day passed while no run looked (only the latest stage that applies is sent),
    # or a later stage was decided before this one's e-mail could go out.
    SKIPPED = "skipped", "Skipped"
    # Decided, but by the time its e-mail could go out nothing was owed any more.
    CANCELLED = "cancelled", "Not sent: paid meanwhile"


class DunningReminder(models.Model):
    """One stage of the reminders of one invoice on terms: sent, skipped or pending."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    company = models.ForeignKey(
        "customers.Company",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dunning_reminders",
    )
    stage = models.CharField(max_length=16, choices=ReminderStage.choices)
    status = models.CharField(
        max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.PENDING
    )
    stage_date = models.DateField(help_text="The day this stage applied from.")
    currency = models.CharField(max_length=3)
    amount_due = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        help_text="What was still owed on the invoice when the stage was decided.",
    )
    recipient = models.CharField(max_length=254, blank=True)
    notification_key = models.CharField(
        max_length=200,
        blank=True,
        help_text="The key of the e-mail's claim on the notification log.",
    )
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invoice_id", "stage_date", "id"]
        verbose_name = "payment reminder"
        indexes = [
            models.Index(fields=["company", "-created_at"], name="dunning_company_created"),
            models.Index(
                fields=["created_at"],
                name="dunning_pending",
                condition=Q(status=ReminderStatus.PENDING),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "stage"], name="dunning_invoice_stage_once"),
            models.CheckConstraint(
                condition=Q(status=ReminderStatus.SENT, sent_at__isnull=False)
                | Q(~Q(status=ReminderStatus.SENT), sent_at__isnull=True),
                name="dunning_sent_when_sent_at",
            ),
            models.CheckConstraint(condition=Q(amount_due__gte=0), name="dunning_amount_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.get_stage_display()}: reminder of {self.invoice.number}"

    @property
    def amount_due_display(self) -> str:
        return format_money(self.amount_due, self.currency)


class AgingReport(Invoice):
    """The aging report of open receivables by company (``billing.aging``); a proxy so
    that the console lists it among billing's pages. Viewing it takes
    ``billing.view_invoice``."""

    class Meta:
        proxy = True
        verbose_name = "aging report"
        verbose_name_plural = "aging report"
        default_permissions = ()
