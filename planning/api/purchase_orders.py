"""Purchase orders through the API, for an ERP and for a 3PL's or a vendor's system.

An ERP's key (``ApiKey.is_erp``) records purchase orders for any location, naming it
in the body (``location``), sees them all and counts deliveries in against any of
them. A location's key (``ApiKey.vendor``: a 3PL warehouse or a dropship vendor)
records the supply on its way to that location only and counts deliveries in against
it; it sees no other location's orders (404), and naming another location is refused
(403 ``location_not_allowed``). Company keys and the storefront's are refused (403).

The ``reference`` is the idempotency key: the caller's own number for the order (and
the delivery note for a receipt). Sent again with the same content it answers the
order already recorded (200), with other content 409 ``duplicate_reference``.
"""

from typing import Any

from django.db.models import Prefetch, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import problem_responses
from core.errors import NotAllowed
from customers.api.authentication import ApiClient, IsPurchasingClient
from inventory.models import Location, PurchaseOrder, PurchaseOrderLine, PurchaseOrderReceipt
from inventory.purchase_orders import (
    create_purchase_order,
    get_purchase_order,
    list_purchase_orders,
    receive_purchase_order,
)

MAX_LINES = 500


def _client(request: Request) -> ApiClient:
    user = request.user
    assert isinstance(user, ApiClient)  # noqa: S101 - guaranteed by the permission class
    return user


class PurchaseOrderLineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000_000)


class PurchaseOrderInput(serializers.Serializer):
    location = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="The code of the location the goods go to. Required with an ERP's key; "
        "a location's key may leave it out (its own location).",
    )
    supplier = serializers.CharField(max_length=200)
    reference = serializers.CharField(
        max_length=100, help_text="Your number for this order; sending it again is safe."
    )
    expected_date = serializers.DateField(help_text="When the goods are due (YYYY-MM-DD).")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = serializers.ListField(
        child=PurchaseOrderLineInput(), allow_empty=False, max_length=MAX_LINES
    )


class ReceiptInput(serializers.Serializer):
    reference = serializers.CharField(
        max_length=100, help_text="The delivery note; sending it again is safe."
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    lines = serializers.ListField(
        child=PurchaseOrderLineInput(), allow_empty=False, max_length=MAX_LINES
    )


class PurchaseOrderLineOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="product.sku")
    quantity_open = serializers.IntegerField()

    class Meta:
        model = PurchaseOrderLine
        fields = [
            "line_number",
            "sku",
            "quantity_ordered",
            "quantity_received",
            "quantity_cancelled",
            "quantity_open",
        ]


class PurchaseOrderOutput(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    lines = PurchaseOrderLineOutput(many=True)

    class Meta:
        model = PurchaseOrder
        fields = [
            "number",
            "kind",
            "status",
            "supplier",
            "reference",
            "location",
            "expected_date",
            "note",
            "created_at",
            "lines",
        ]


class ReceiptLineOutput(serializers.Serializer):
    sku = serializers.CharField(source="line.product.sku")
    quantity = serializers.IntegerField()


class ReceiptOutput(serializers.ModelSerializer):
    lines = ReceiptLineOutput(many=True)
    purchase_order = PurchaseOrderOutput()

    class Meta:
        model = PurchaseOrderReceipt
        fields = ["reference", "note", "created_at", "lines", "purchase_order"]


class LocationNotAllowed(NotAllowed):
    code = "location_not_allowed"


def _own_orders(client: ApiClient) -> QuerySet[PurchaseOrder]:
    """The purchase orders the key reaches, their lines loaded: every location's for an
    ERP, its own location's for a location's key."""
    orders = list_purchase_orders().prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("product"))
    )
    location_id = client.purchasing_location_id
    return orders if location_id is None else orders.filter(location_id=location_id)


def _destination(client: ApiClient, code: str) -> Location:
    """Where a new purchase order goes: the location named, which a location's key may
    name only as itself (or leave out)."""
    code = code.strip().upper()
    if not client.is_erp:
        if code and code != client.vendor.code:
            raise LocationNotAllowed(
                f"This key records purchase orders for {client.vendor.code} only.",
                location=code,
            )
        return client.vendor
    if not code:
        raise serializers.ValidationError({"location": ["Name the location the goods go to."]})
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise serializers.ValidationError({"location": [f"No location {code}."]})
    return location


def _pairs(lines: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(line["sku"], line["quantity"]) for line in lines]


class PurchaseOrderListCreateView(generics.ListAPIView):
    """The purchase orders the key reaches (every location's for an ERP, its own
    location's for a location's key), newest first; ``?location=CODE`` narrows them."""

    queryset = PurchaseOrder.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsPurchasingClient]
    serializer_class = PurchaseOrderOutput

    def get_queryset(self) -> QuerySet[PurchaseOrder]:
        orders = _own_orders(_client(self.request))
        code = self.request.query_params.get("location", "").strip().upper()
        return orders.filter(location__code=code) if code else orders

    @extend_schema(
        parameters=[
            OpenApiParameter("location", OpenApiTypes.STR, description="A location's code.")
        ]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=PurchaseOrderInput,
        responses={201: PurchaseOrderOutput, 200: PurchaseOrderOutput},
        description="Record a purchase order to a location (an ERP's key names it in "
        "`location`; a location's key records for its own): its lines become incoming "
        "stock there. The same reference and content again answers 200 with the order "
        "already recorded.",
    )
    @problem_responses(409, 422)
    def post(self, request: Request) -> Response:
        client = _client(request)
        data = PurchaseOrderInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = create_purchase_order(
            location=_destination(client, data.validated_data["location"]),
            supplier=data.validated_data["supplier"],
            reference=data.validated_data["reference"],
            expected_date=data.validated_data["expected_date"],
            note=data.validated_data.get("note", ""),
            lines=_pairs(data.validated_data["lines"]),
            actor=client.actor,
        )
        fresh = _own_orders(client).get(pk=result.purchase_order.pk)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(PurchaseOrderOutput(fresh).data, status=code)


class PurchaseOrderDetailView(generics.RetrieveAPIView):
    queryset = PurchaseOrder.objects.none()  # for the schema; get_queryset scopes it
    permission_classes = [IsPurchasingClient]
    serializer_class = PurchaseOrderOutput
    lookup_field = "number"

    def get_queryset(self) -> QuerySet[PurchaseOrder]:
        return _own_orders(_client(self.request))


class PurchaseOrderReceiptView(APIView):
    permission_classes = [IsPurchasingClient]

    @extend_schema(
        request=ReceiptInput,
        responses={201: ReceiptOutput, 200: ReceiptOutput},
        description="Count a delivery in: each line's units move from incoming to on "
        "hand. More than a line has open (409 over_receipt) or a SKU the order does not "
        "carry (422 unknown_purchase_order_line) is refused and nothing is recorded.",
    )
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> Response:
        client = _client(request)
        po = get_purchase_order(number, location_id=client.purchasing_location_id)
        data = ReceiptInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = receive_purchase_order(
            purchase_order=po,
            reference=data.validated_data["reference"],
            note=data.validated_data.get("note", ""),
            lines=_pairs(data.validated_data["lines"]),
            actor=client.actor,
        )
        receipt = (
            PurchaseOrderReceipt.objects.prefetch_related("lines__line__product")
            .select_related("purchase_order")
            .get(pk=result.receipt.pk)
        )
        receipt.purchase_order = _own_orders(client).get(pk=po.pk)
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(ReceiptOutput(receipt).data, status=code)
