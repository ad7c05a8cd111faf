"""The filters of the billing lists. A filter given with no value (``?status=``) is
refused, as on the order list (``orders.api.filters.NoBlankFiltersForm``)."""

import django_filters
from django.db.models import QuerySet

from orders.api.filters import NoBlankFiltersForm

from ..models import CreditNote, CreditReason, Invoice
from ..receivables import DISPLAY_STATUS_CHOICES, filter_display_status


class InvoiceFiltersForm(NoBlankFiltersForm):
    BLANK_REFUSED = ("status", "order", "issued_from", "issued_to")  # type: ignore[assignment]


class CreditNoteFiltersForm(NoBlankFiltersForm):
    BLANK_REFUSED = (  # type: ignore[assignment]
        "reason",
        "order",
        "invoice",
        "issued_from",
        "issued_to",
    )


class InvoiceFilter(django_filters.FilterSet):
    # As the invoice shows it: ``overdue`` is derived (not paid and past due), and an
    # overdue invoice is not listed under ``issued`` or ``partially_paid``.
    status = django_filters.ChoiceFilter(
        choices=DISPLAY_STATUS_CHOICES, method="filter_status", label="Status"
    )
    order = django_filters.CharFilter(field_name="order__number", label="Order number")
    issued_from = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="gte", label="Issued on or after (YYYY-MM-DD)"
    )
    issued_to = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="lte", label="Issued on or before (YYYY-MM-DD)"
    )

    class Meta:
        model = Invoice
        form = InvoiceFiltersForm
        fields = ["status", "order", "issued_from", "issued_to"]

    def filter_status(
        self, queryset: QuerySet[Invoice], name: str, value: str
    ) -> QuerySet[Invoice]:
        return filter_display_status(queryset, value)


class CreditNoteFilter(django_filters.FilterSet):
    reason = django_filters.ChoiceFilter(choices=CreditReason.choices)
    order = django_filters.CharFilter(field_name="order__number", label="Order number")
    invoice = django_filters.CharFilter(field_name="invoice__number", label="Invoice number")
    issued_from = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="gte", label="Issued on or after (YYYY-MM-DD)"
    )
    issued_to = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="lte", label="Issued on or before (YYYY-MM-DD)"
    )

    class Meta:
        model = CreditNote
        form = CreditNoteFiltersForm
        fields = ["reason", "order", "invoice", "issued_from", "issued_to"]
