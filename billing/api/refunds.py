"""``POST /api/v1/orders/{number}/refunds/``: a company's finance system refunds money
on one of its orders (``billing.refunds.refund_order``).

Company keys only; another company's order answers 404, like an unknown number. The
``Idempotency-Key`` header is required, as for placing an order: a retry with the same
key and body gets the first refund back (201 again), the same key with another body or
order is 422 ``idempotency_key_reused``. Above the refundable amount: 409
``refund_exceeds_refundable``, nothing written. ``"destination": "store_credit"`` credits
a card order's refund to the buyer's store credit instead of the card.
"""

from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.schema import problem_responses
from core.errors import InvalidInput
from customers.api.authentication import ApiClient, IsCompanyClient
from orders.api.idempotency import clean_key, request_fingerprint
from orders.api.views import IDEMPOTENCY_HEADER
from orders.models import Order
from orders.selectors import list_company_orders

from ..models import CreditReason, Refund, RefundDestination
from ..refunds import RefundLine, refund_order


class RefundLineInput(serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1, max_value=2147483647)
    quantity = serializers.IntegerField(min_value=1, max_value=2147483647)


class RefundInput(serializers.Serializer):
    """Units of the order's lines (valued as invoiced, tax included) and/or an amount
    (tax included, in the order's currency); at least one of the two."""

    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    lines = RefundLineInput(many=True, required=False)
    reason = serializers.ChoiceField(choices=CreditReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    destination = serializers.ChoiceField(
        choices=RefundDestination.choices,
        required=False,
        default=RefundDestination.ORIGINAL,
        help_text="original (the card, or the invoice on terms) or store_credit (the "
        "buyer's store credit balance; card orders only).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("amount") is None and not attrs.get("lines"):
            raise serializers.ValidationError("Give lines to refund, an amount, or both.")
        return attrs


class RefundOutput(serializers.Serializer):
    """A refund: ``status`` is ``pending`` until the card provider answered, then
    ``refunded`` (or ``failed``: finance pays it back another way); ``credited`` for an
    order paid by invoice (the invoice's amount due went down); ``store_credit`` when it
    went to the buyer's store credit balance (``destination``)."""

    id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    reason = serializers.CharField()
    note = serializers.CharField()
    status = serializers.CharField()
    destination = serializers.CharField()
    credit_notes = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_credit_notes(self, refund: Refund) -> list[str]:
        return [cn.number for cn in refund.credit_notes.all()]


def _client(request: Request) -> ApiClient:
    user = request.user
    assert isinstance(user, ApiClient)  # noqa: S101 - guaranteed by IsCompanyClient
    return user


def _company_order(client: ApiClient, number: str) -> Order:
    order = (
        list_company_orders(client.orders_company_id)
        .filter(number=number)
        .prefetch_related(None)
        .first()
    )
    if order is None:
        raise NotFound()
    return order


class OrderRefundsView(APIView):
    permission_classes = [IsCompanyClient]

    @extend_schema(
        request=RefundInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: RefundOutput},
        description="Refund units of the order's lines and/or an amount, with a reason. "
        "Each refund issues credit notes against the invoices it corrects and pays back "
        "the card (or lowers what the invoice asks for). 409 `refund_exceeds_refundable` "
        "above what can be refunded; nothing is written on a refusal.",
    )
    @problem_responses(409, 422)
    def post(self, request: Request, number: str) -> Response:
        client = _client(request)
        key = clean_key(request.headers.get("Idempotency-Key"))
        fingerprint = request_fingerprint({"order": number, "body": request.data})
        order = _company_order(client, number)
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        values: dict[str, Any] = data.validated_data
        by_number = dict(order.lines.values_list("line_number", "pk"))
        lines = []
        for item in values.get("lines") or ():
            line_id = by_number.get(item["line_number"])
            if line_id is None:
                raise InvalidInput(
                    f"The order has no line {item['line_number']}.",
                    fields={"lines": [f"No line {item['line_number']} on this order."]},
                )
            lines.append(RefundLine(order_line_id=line_id, quantity=item["quantity"]))
        arguments: dict[str, Any] = {
            "order_id": order.pk,
            "amount": values.get("amount"),
            "lines": lines,
            "reason": values["reason"],
            "note": values["note"],
            "actor": client.actor,
            "idempotency_key": f"api:{client.scope}:{key}",
            "request_hash": fingerprint,
            "destination": values["destination"],
        }
        try:
            refund = refund_order(**arguments)
        except IntegrityError:
            # The same key at the same moment for another order: refused as reused.
            refund = refund_order(**arguments)
        refund = Refund.objects.select_related("order").get(pk=refund.pk)
        return Response(RefundOutput(refund).data, status=status.HTTP_201_CREATED)
