"""Forms for the warehouse and store side of fulfillment in the operator console.

Each action form on a fulfillment order is a ``ServiceForm``: it turns what the
operator typed (a carrier, a tracking number, per-line quantities, a reason, a pickup
code) into one call of a ``fulfillment.operations`` service. Input the form can check is
a field error; a refusal by the service (``DomainError``) is shown as an error message
above the form (a wrong pickup code on its field), and since every service checks
before it writes (and runs in one transaction), nothing has changed when the form
comes back.

The routing rule forms validate what the routing engine reads, so a typo cannot silently
change how orders are routed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseModelFormSet
from django.utils.html import format_html

from core.actors import Actor
from core.admin import ServiceForm
from core.errors import DomainError
from inventory.models import Location, Product
from shipping.models import Carrier, ServiceLevel

from . import operations
from .models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    RequestStatus,
    RoutingRule,
    RoutingStep,
)

WORK_PERMISSION = "fulfillment.work_fulfillment"
REJECT_PERMISSION = "fulfillment.reject_fulfillment"

# Statuses in which units can still be picked, shipped or handed over.
WORKABLE = (FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS)
ENDED = (FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED)


def held_reason(fo: FulfillmentOrder) -> str:
    """The refusal for work on a held fulfillment order, naming what holds it."""
    if fo.status != FulfillmentStatus.ON_HOLD:
        return ""
    return f"{fo.number} is on hold: {fo.hold_reason or 'its order is on hold.'}"


def customization_text(values: dict[str, Any] | None) -> str:
    """``{"engraving": "AB"}`` as ``engraving: AB``, for a table cell or a label."""
    return "; ".join(f"{key}: {value}" for key, value in (values or {}).items())


def _units(fo_lines: Sequence[FulfillmentOrderLine], quantities: dict[int, int]) -> str:
    by_id = {line.pk: line for line in fo_lines}
    return ", ".join(f"{by_id[pk].order_line.sku}×{qty}" for pk, qty in quantities.items())


# --- actions on one fulfillment order ------------------------------------------------------


class FulfillmentActionForm(ServiceForm):
    """One action on a fulfillment order: its button, permission, form and service call.

    ``fo`` and ``lines`` (with ``order_line`` joined) are what the page shows; the
    service locks and re-reads them, so a stale page cannot ship units twice.
    """

    slug: ClassVar[str]
    permission: ClassVar[str] = WORK_PERMISSION

    def __init__(
        self,
        data: Any = None,
        *,
        obj: FulfillmentOrder,
        lines: Sequence[FulfillmentOrderLine] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(data, obj=obj, **kwargs)
        self.fo = obj
        self.lines = list(lines)


class LineQuantitiesMixin(forms.Form):
    """One quantity field per fulfillment line with open units (``line_<id>``)."""

    lines: list[FulfillmentOrderLine]
    default_all_open: ClassVar[bool] = True

    def add_line_fields(self) -> None:
        for line in self.lines:
            open_units = line.quantity_open
            if not open_units:
                continue
            order_line = line.order_line
            custom = customization_text(order_line.customization)
            self.fields[self.line_field(line)] = forms.IntegerField(
                label=f"{order_line.sku} · {order_line.description}",
                required=False,
                min_value=0,
                max_value=open_units,
                initial=open_units if self.default_all_open else 0,
                error_messages={
                    "max_value": f"Only {open_units} units of {order_line.sku} are open.",
                    "min_value": "Quantities cannot be negative.",
                },
                help_text=format_html(
                    "{} of {} open{}",
                    open_units,
                    line.quantity,
                    format_html(" · customization: {}", custom) if custom else "",
                ),
                widget=forms.NumberInput(attrs={"class": "vIntegerField"}),
            )

    @staticmethod
    def line_field(line: FulfillmentOrderLine) -> str:
        return f"line_{line.pk}"

    def clean_quantities(self) -> dict[int, int]:
        quantities = {
            line.pk: self.cleaned_data[self.line_field(line)]
            for line in self.lines
            if self.cleaned_data.get(self.line_field(line))
        }
        if not quantities and not self.errors:
            raise ValidationError("Enter a quantity for at least one line.", code="no_units")
        return quantities

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["quantities"] = self.clean_quantities()
        return cleaned


class ShipForm(LineQuantitiesMixin, FulfillmentActionForm):
    slug = "ship"
    title = "Ship"
    submit_label = "Ship"

    carrier = forms.ModelChoiceField(
        queryset=Carrier.objects.filter(is_active=True),
        to_field_name="code",
        empty_label=None,
    )
    service_level = forms.ChoiceField(
        choices=[(v, label) for v, label in ServiceLevel.choices if v != ServiceLevel.PICKUP]
    )
    tracking_number = forms.CharField(
        max_length=64,
        required=False,
        help_text="The number on the carrier's label. Leave it empty with the simulated "
        "carrier (SIM), which generates one.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        method = self.fo.order.shipping_method
        if method.carrier is not None:
            self.fields["carrier"].initial = method.carrier.code
        if method.service_level != ServiceLevel.PICKUP:
            self.fields["service_level"].initial = method.service_level
        self.add_line_fields()

    @classmethod
    def unavailable_reason(cls, fo: FulfillmentOrder) -> str:
        if fo.is_pickup:
            return f"{fo.number} is a pickup order: it is handed over, not shipped."
        if held_reason(fo):
            return held_reason(fo)
        if fo.status not in WORKABLE:
            return f"{fo.number} is {fo.get_status_display().lower()}; nothing can ship."
        if fo.request_status == RequestStatus.SUBMITTED:
            return f"{fo.number} waits for {fo.location.code} to accept the request."
        return ""

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        shipment = operations.ship_fulfillment_order(
            fo_id=self.fo.pk,
            actor=actor,
            carrier_code=data["carrier"].code,
            service_level=data["service_level"],
            tracking_number=data["tracking_number"],
            quantities=data["quantities"],
        )
        return (
            f"{self.fo.number}: shipped {_units(self.lines, data['quantities'])} via "
            f"{data['carrier'].code} {shipment.tracking_number}."
        )


class RejectLinesForm(LineQuantitiesMixin, FulfillmentActionForm):
    slug = "reject"
    title = "Reject lines"
    submit_label = "Reject"
    permission = REJECT_PERMISSION
    # Rejecting is the exception: the operator types the units, nothing is preset.
    default_all_open = False

    reason = forms.ChoiceField(
        choices=operations.RejectionReason.choices,
        help_text="Out of stock writes the units off on hand; damaged moves them to "
        "unsellable; the other reasons leave the stock as it is. Either way the units go "
        "back to the network and the order is routed again.",
    )
    note = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept on the ledger rows and in the order's timeline.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_line_fields()

    @classmethod
    def unavailable_reason(cls, fo: FulfillmentOrder) -> str:
        if fo.status in ENDED:
            return f"{fo.number} is {fo.get_status_display().lower()}; nothing can be rejected."
        return ""

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        operations.reject_fulfillment_lines(
            fo_id=self.fo.pk,
            reason=data["reason"],
            note=data["note"],
            quantities=data["quantities"],
            actor=actor,
        )
        reason = operations.RejectionReason(data["reason"]).label
        return (
            f"{self.fo.number}: rejected {_units(self.lines, data['quantities'])} ({reason}); "
            "the units are committed to the network again for re-routing."
        )


class AcceptRequestForm(FulfillmentActionForm):
    slug = "accept"
    title = "Accept request"
    submit_label = "Accept"

    @classmethod
    def unavailable_reason(cls, fo: FulfillmentOrder) -> str:
        if fo.request_status != RequestStatus.SUBMITTED:
            return f"{fo.number} has no request waiting ({fo.get_request_status_display()})."
        if held_reason(fo):
            return held_reason(fo)
        if fo.status in ENDED:
            return f"{fo.number} is {fo.get_status_display().lower()}."
        return ""

    def perform(self, actor: Actor) -> str:
        fo = operations.accept_fulfillment_request(fo_id=self.fo.pk, actor=actor)
        return f"{fo.location.code} accepted {fo.number}."


class ReadyForPickupForm(FulfillmentActionForm):
    slug = "ready-for-pickup"
    title = "Ready for pickup"
    submit_label = "Mark ready for pickup"

    @classmethod
    def unavailable_reason(cls, fo: FulfillmentOrder) -> str:
        if not fo.is_pickup:
            return f"{fo.number} is not a pickup order."
        if fo.ready_for_pickup_at is not None:
            return f"{fo.number} is already ready for pickup."
        if held_reason(fo):
            return held_reason(fo)
        if fo.status not in WORKABLE:
            return f"{fo.number} is {fo.get_status_display().lower()}."
        return ""

    def perform(self, actor: Actor) -> str:
        fo = operations.mark_ready_for_pickup(fo_id=self.fo.pk, actor=actor)
        return f"{fo.number} is ready for pickup at {fo.location.code}; the customer is told."


class HandOverForm(FulfillmentActionForm):
    slug = "hand-over"
    title = "Hand over"
    submit_label = "Hand over"

    code = forms.CharField(
        label="Pickup code",
        max_length=12,
        help_text="The code the customer received with the ready-for-pickup message.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    @classmethod
    def unavailable_reason(cls, fo: FulfillmentOrder) -> str:
        if not fo.is_pickup:
            return f"{fo.number} is not a pickup order."
        if held_reason(fo):
            return held_reason(fo)
        if fo.status not in WORKABLE:
            return f"{fo.number} is {fo.get_status_display().lower()}."
        if fo.ready_for_pickup_at is None:
            return f"{fo.number} is not ready for pickup yet."
        return ""

    def refusal_field(self, exc: DomainError) -> str | None:
        return "code" if isinstance(exc, operations.WrongPickupCode) else None

    def perform(self, actor: Actor) -> str:
        operations.confirm_pickup(fo_id=self.fo.pk, code=self.cleaned_data["code"], actor=actor)
        return f"{self.fo.number} handed over to the customer."


FULFILLMENT_ACTIONS: dict[str, type[FulfillmentActionForm]] = {
    form.slug: form
    for form in (
        AcceptRequestForm,
        ShipForm,
        ReadyForPickupForm,
        HandOverForm,
        RejectLinesForm,
    )
}


class PickListForm(forms.Form):
    location = forms.ModelChoiceField(
        queryset=Location.objects.filter(is_active=True),
        help_text="Every open fulfillment order there, by ship-by date.",
    )


# --- routing rules --------------------------------------------------------------------

# The parameters each step reads; a step missing here takes none.
ROUTING_PARAMETERS: dict[str, frozenset[str]] = {
    RoutingStep.SHIP_TOGETHER: frozenset({"skus"}),
}


def clean_routing_parameters(step: str, value: Any) -> dict[str, Any]:
    """Check a rule's parameters against what the routing engine reads.

    An unknown key is refused rather than ignored: ``{"sku": [...]}`` on ship-together
    would otherwise mean "every line ships together".
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError("Parameters are a JSON object, such as {}.", code="not_an_object")
    allowed = ROUTING_PARAMETERS.get(step, frozenset())
    unknown = sorted(set(value) - allowed)
    if unknown:
        if not allowed:
            raise ValidationError(
                "This step takes no parameters; leave {}.", code="unknown_parameter"
            )
        raise ValidationError(
            f"Unknown parameter {unknown[0]!r}; this step takes {', '.join(sorted(allowed))}.",
            code="unknown_parameter",
        )
    if step == RoutingStep.SHIP_TOGETHER and "skus" in value:
        skus = value["skus"]
        if not isinstance(skus, list) or not all(isinstance(s, str) and s.strip() for s in skus):
            raise ValidationError(
                '"skus" is a list of SKUs, such as ["MUG-RED", "MUG-LID"]; an empty list '
                "keeps every line of an order together.",
                code="invalid_skus",
            )
        cleaned = list(dict.fromkeys(s.strip().upper() for s in skus))
        known = set(Product.objects.filter(sku__in=cleaned).values_list("sku", flat=True))
        missing = [s for s in cleaned if s not in known]
        if missing:
            raise ValidationError(f"Unknown SKU {missing[0]!r}.", code="unknown_sku")
        return {**value, "skus": cleaned}
    return value


def _duplicate_positions(positions: dict[int, int]) -> list[int]:
    seen: dict[int, int] = {}
    for position in positions.values():
        seen[position] = seen.get(position, 0) + 1
    return sorted(p for p, n in seen.items() if n > 1)


def _position_error(duplicates: list[int]) -> ValidationError:
    return ValidationError(
        f"Two steps cannot share position {duplicates[0]}: the order of the steps would "
        "be left to chance.",
        code="duplicate_position",
    )


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = ("position", "is_enabled", "parameters", "description")
        help_texts = {
            "parameters": 'Ship together: {"skus": ["SKU-1", "SKU-2"]} keeps those SKUs in '
            'one shipment; {"skus": []} keeps every line together. Other steps take {}.',
        }

    def clean_parameters(self) -> dict[str, Any]:
        return clean_routing_parameters(self.instance.step, self.cleaned_data.get("parameters"))

    def clean_position(self) -> int:
        position: int = self.cleaned_data["position"]
        positions = dict(RoutingRule.objects.values_list("pk", "position"))
        positions[self.instance.pk] = position
        duplicates = _duplicate_positions(positions)
        if position in duplicates:
            raise _position_error([position])
        return position


class RoutingRuleListFormSet(BaseModelFormSet):
    """The changelist's editable positions: checked together, so steps can swap places."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        positions = dict(RoutingRule.objects.values_list("pk", "position"))
        for form in self.forms:
            if form.instance.pk is not None and "position" in form.cleaned_data:
                positions[form.instance.pk] = form.cleaned_data["position"]
        duplicates = _duplicate_positions(positions)
        if duplicates:
            raise _position_error(duplicates)
