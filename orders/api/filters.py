import django_filters
from django import forms

from orders.models import Order, OrderStatus


class NoBlankFiltersForm(forms.Form):
    """A filter given with no value (``?status=``) is refused rather than ignored: the
    client asked for something, and the schema says what a value must be."""

    BLANK_REFUSED = ("status", "created_since", "updated_since")

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        for name in self.BLANK_REFUSED:
            values = self.data.getlist(name) if hasattr(self.data, "getlist") else []
            if any(not value.strip() for value in values):
                self.add_error(name, "Give a value, or leave the parameter out.")
        return cleaned


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    po_number = django_filters.CharFilter()
    created_since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Order
        form = NoBlankFiltersForm
        fields = ["status", "po_number", "created_since", "updated_since"]
