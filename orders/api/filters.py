import django_filters

from orders.models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    po_number = django_filters.CharFilter()
    created_since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Order
        fields = ["status", "po_number", "created_since", "updated_since"]
