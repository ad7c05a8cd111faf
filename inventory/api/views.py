from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import PriceListEntry
from inventory.models import Product
from inventory.selectors import get_network_availability
from oms.api.authentication import ApiClient
from oms.api.pagination import IdCursorPagination

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

    def get_contract_prices(self, product: Product) -> list[dict[str, Any]]:
        entries = getattr(product, "contract_entries", [])
        return PriceBreakOutput(entries, many=True).data  # type: ignore[return-value]


class SkuPagination(IdCursorPagination):
    ordering = "sku"


class ProductListView(generics.ListAPIView):
    serializer_class = ProductOutput
    pagination_class = SkuPagination

    def get_queryset(self) -> QuerySet[Product]:
        client = self.request.user
        assert isinstance(client, ApiClient)  # noqa: S101
        qs = Product.objects.filter(is_active=True)
        if client.company.price_list_id:
            qs = qs.prefetch_related(
                Prefetch(
                    "price_entries",
                    queryset=PriceListEntry.objects.filter(
                        price_list_id=client.company.price_list_id
                    ).order_by("min_quantity"),
                    to_attr="contract_entries",
                )
            )
        return qs


class LocationAvailabilityOutput(serializers.Serializer):
    location = serializers.CharField(source="location_code")
    name = serializers.CharField(source="location_name")
    available_to_promise = serializers.IntegerField()


class AvailabilityOutput(serializers.Serializer):
    sku = serializers.CharField()
    available_to_promise = serializers.IntegerField()
    locations = LocationAvailabilityOutput(many=True)


class AvailabilityView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("sku", str, many=True, required=True)],
        responses={200: AvailabilityOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        skus = [s.strip().upper() for s in request.query_params.getlist("sku") if s.strip()]
        if not skus:
            raise ValidationError({"sku": ["Give one or more ?sku= parameters."]})
        if len(skus) > MAX_SKUS_PER_QUERY:
            raise ValidationError({"sku": [f"At most {MAX_SKUS_PER_QUERY} SKUs per request."]})
        found = get_network_availability(skus)
        known = {item.sku for item in found}
        return Response(
            {
                "results": AvailabilityOutput(found, many=True).data,
                "unknown_skus": sorted(set(skus) - known),
            }
        )
