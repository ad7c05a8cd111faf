"""Payment reminders in the console: a read-only section of the company page (the
company's latest reminders, every stage whether sent, skipped or waiting) and an inline
of the invoice page (``billing.dunning`` writes them; nobody edits them).

The company page is customers' admin as orders extended it; billing subclasses that one
and registers the subclass in its place (``core.admin.replace_admin``). Everyone who may
view the company sees its reminders; the invoice numbers link to the invoices for those
who may view them (finance, managers).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.admin import (
    ReadOnlyInlineMixin,
    admin_change_url,
    render_table,
    replace_admin,
    short_datetime,
)
from customers.models import Company
from orders.admin.customer_pages import CompanyWithOrdersAdmin

from ..dunning_models import DunningReminder

# The company page shows this many reminders, newest first: one query, whatever the count.
COMPANY_REMINDER_ROWS = 50
_OPENS_INVOICES = "_dunning_viewer_opens_invoices"


def _day(value: Any) -> str:
    return date_format(value, "Y-m-d") if value else "-"


def reminders_table(company: Company, *, opens_invoices: bool) -> SafeString:
    reminders = list(
        DunningReminder.objects.filter(company=company)
        .select_related("invoice")
        .order_by("-created_at", "-id")[:COMPANY_REMINDER_ROWS]
    )

    def invoice(reminder: DunningReminder) -> SafeString:
        number = reminder.invoice.number
        if opens_invoices:
            return format_html('<a href="{}">{}</a>', admin_change_url(reminder.invoice), number)
        return format_html("{}", number)

    return render_table(
        ("Invoice", "Stage", "Reminder day", "Status", "Amount due", "Sent to", "Sent"),
        (
            (
                invoice(reminder),
                reminder.get_stage_display(),
                _day(reminder.stage_date),
                reminder.get_status_display(),
                reminder.amount_due_display if reminder.recipient else "-",
                reminder.recipient or "-",
                short_datetime(reminder.sent_at),
            )
            for reminder in reminders
        ),
    )


class CompanyWithRemindersAdmin(CompanyWithOrdersAdmin):
    """The company page, with its payment reminders after its terms."""

    def get_object(
        self, request: HttpRequest, object_id: str, from_field: str | None = None
    ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            setattr(obj, _OPENS_INVOICES, request.user.has_perm("billing.view_invoice"))
        return obj

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (*super().get_readonly_fields(request, obj), "payment_reminders")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        after = next(
            (i + 1 for i, (name, _) in enumerate(fieldsets) if name == "Terms"), len(fieldsets)
        )
        fieldsets.insert(after, ("Payment reminders", {"fields": ("payment_reminders",)}))
        return fieldsets

    @admin.display(description="Latest reminders")
    def payment_reminders(self, obj: Company) -> SafeString:
        return reminders_table(obj, opens_invoices=getattr(obj, _OPENS_INVOICES, False))


class DunningReminderInline(ReadOnlyInlineMixin, admin.TabularInline):
    """The invoice page's reminders, stage by stage."""

    model = DunningReminder
    fk_name = "invoice"
    fields = ("stage", "stage_date", "status", "amount", "recipient", "sent", "last_error")
    readonly_fields = fields
    verbose_name = "payment reminder"
    verbose_name_plural = "payment reminders"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Part of the invoice's story: whoever may view the invoice sees them.
        return request.user.has_perm("billing.view_invoice")

    def get_queryset(self, request: HttpRequest) -> QuerySet[DunningReminder]:
        return super().get_queryset(request).order_by("stage_date", "id")

    @admin.display(description="Amount due")
    def amount(self, obj: DunningReminder) -> str:
        return obj.amount_due_display if obj.recipient else "-"

    @admin.display(description="Sent")
    def sent(self, obj: DunningReminder) -> str:
        return short_datetime(obj.sent_at)


replace_admin(Company, CompanyWithRemindersAdmin)
