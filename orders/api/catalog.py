"""What a caller may order: the product catalog at its own prices, and availability
with the delivery promise an order placed now would get.

Both read below ``orders`` (inventory's products and network availability, the
customer's contract prices, the shipping calendar); they live here because they answer
as capture would (the same active shipping method, the same promise).
"""

from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import IdCursorPagination
from core.api.schema import problem_responses
from core.geo import coordinates_for_postal_code
from customers.api.authentication import ApiClient
from customers.models import PriceListEntry
from inventory.api.serializers import AvailabilityOutput
from inventory.models import Product
from inventory.purchase_orders import get_availability_by_date
from inventory.selectors import get_network_availability
from orders.placement import get_active_shipping_method
from shipping.promise import estimate_promise

MAX_SKUS_PER_QUERY = 100


class PriceBreakOutput(serializers.Serializer):
    min_quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)


class ProductOutput(serializers.ModelSerializer):
    contract_prices = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "sku",
            "name",
            "description",
            "list_price",
            "currency",
            "weight_grams",
            "is_customizable",
            "customization_fields",
            "is_returnable",
            "allow_backorder",
            "contract_prices",
        ]

    @extend_schema_field(PriceBreakOutput(many=True))
    def get_contract_prices(self, product: Product) -> list[dict[str, Any]]:
        entries = getattr(product, "contract_entries", [])
        return PriceBreakOutput(entries, many=True).data  # type: ignore[return-value]


class SkuPagination(IdCursorPagination):
    ordering = "sku"


class ProductListView(generics.ListAPIView):
    queryset = Product.objects.none()  # for the schema; get_queryset scopes it
    serializer_class = ProductOutput
    pagination_class = SkuPagination

    def get_queryset(self) -> QuerySet[Product]:
        client = self.request.user
        assert isinstance(client, ApiClient)  # noqa: S101
        qs = Product.objects.filter(is_active=True)
        # A company sees its contract price breaks; the storefront, list prices only.
        price_list_id = client.price_list_id
        if price_list_id:
            qs = qs.prefetch_related(
                Prefetch(
                    "price_entries",
                    queryset=PriceListEntry.objects.filter(price_list_id=price_list_id).order_by(
                        "min_quantity"
                    ),
                    to_attr="contract_entries",
                )
            )
        return qs


class DeliveryPromiseOutput(serializers.Serializer):
    shipping_method = serializers.CharField()
    ships_from = serializers.CharField(
        allow_blank=True, help_text="The location it would ship from (blank: none known)."
    )
    ship_by_date = serializers.DateField()
    delivery_date = serializers.DateField()


class SupplyByDateOutput(serializers.Serializer):
    sku = serializers.CharField()
    available_now = serializers.IntegerField()
    incoming_by_date = serializers.IntegerField(
        help_text="Units on open purchase orders and transfers due by the date."
    )
    available_by_date = serializers.IntegerField()


class AvailabilityResponse(serializers.Serializer):
    results = AvailabilityOutput(many=True)
    unknown_skus = serializers.ListField(child=serializers.CharField())
    by_date = serializers.DateField(required=False)
    supply_by_date = SupplyByDateOutput(
        many=True, required=False, help_text="With ?by=: what can be promised by then."
    )
    delivery_promise = DeliveryPromiseOutput(
        required=False, help_text="With ?shipping_method=: when an order placed now arrives."
    )


class AvailabilityView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("sku", str, many=True, required=True),
            OpenApiParameter(
                "shipping_method", str, description="With a destination: the delivery promise."
            ),
            OpenApiParameter("postal_code", str),
            OpenApiParameter("country", str, description="ISO 3166-1 alpha-2, default US."),
            OpenApiParameter(
                "by",
                OpenApiTypes.DATE,
                description="Also count purchase orders and transfers due by this day.",
            ),
        ],
        responses={200: AvailabilityResponse},
    )
    @problem_responses(422)
    def get(self, request: Request) -> Response:
        skus = [s.strip().upper() for s in request.query_params.getlist("sku") if s.strip()]
        if not skus:
            raise ValidationError({"sku": ["Give one or more ?sku= parameters."]})
        if len(skus) > MAX_SKUS_PER_QUERY:
            raise ValidationError({"sku": [f"At most {MAX_SKUS_PER_QUERY} SKUs per request."]})
        by_date = _by_date(request.query_params.get("by", ""))
        found = get_network_availability(skus)
        known = {item.sku for item in found}
        body: dict[str, Any] = {
            "results": AvailabilityOutput(found, many=True).data,
            "unknown_skus": sorted(set(skus) - known),
        }
        method_code = request.query_params.get("shipping_method", "").strip()
        if method_code:
            body["delivery_promise"] = _promise(
                method_code,
                request.query_params.get("country", "US").strip().upper(),
                request.query_params.get("postal_code", "").strip(),
            )
        if by_date is not None:
            supply = get_availability_by_date(sorted(known), by_date=by_date)
            body["by_date"] = by_date
            body["supply_by_date"] = [
                {
                    "sku": item.sku,
                    "available_now": item.available_now,
                    "incoming_by_date": item.incoming_by_date,
                    "available_by_date": item.available_by_date,
                }
                for item in supply.values()
            ]
        return Response(body)


def _by_date(raw: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({"by": ["Give a date as YYYY-MM-DD."]}) from None


def _promise(method_code: str, country: str, postal_code: str) -> dict[str, Any]:
    method = get_active_shipping_method(method_code)
    promise = estimate_promise(
        method,
        now=timezone.now(),
        destination=coordinates_for_postal_code(country, postal_code),
    )
    return {
        "shipping_method": method.code,
        "ships_from": promise.origin_code,
        "ship_by_date": promise.ship_by_date,
        "delivery_date": promise.delivery_date,
    }
