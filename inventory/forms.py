"""Forms for the stock operations of the operator console.

Each form is a ``ServiceForm``: it turns what the operator typed (SKU, location code, a
quantity, a reason) into one call of an ``inventory.services`` function. Unknown SKUs
and locations are field errors; a refused change (``DomainError``) is shown as an error
message above the form, and since every service validates before it writes, nothing
has changed when the form comes back.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from core.actors import Actor
from core.admin import ServiceForm

from . import services
from .errors import UnknownLocation, UnknownSku
from .models import Location, Product, StockBucket, StockLevel, known_time_zones
from .selectors import get_location_by_code, get_product_by_sku

REASON_HELP = "Why the stock changes; it is kept on the ledger rows."


def time_zone_choices() -> list[tuple[str, str]]:
    return [
        ("", "From the ZIP code (else the server's zone)"),
        *((zone, zone.replace("_", " ")) for zone in sorted(known_time_zones())),
    ]


class TimeZoneField(forms.ChoiceField):
    """A location's IANA time zone, picked from the zones this machine knows; blank
    lets the service take the zone of the location's US ZIP code."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Time zone")
        kwargs.setdefault("help_text", "Shipping cut-offs and working days are read on this clock.")
        super().__init__(choices=time_zone_choices, required=False, **kwargs)


def _product(sku: str) -> Product:
    try:
        return get_product_by_sku(sku)
    except UnknownSku as exc:
        raise ValidationError(exc.message, code=exc.code) from exc


def _location(code: str) -> Location:
    try:
        return get_location_by_code(code)
    except UnknownLocation as exc:
        raise ValidationError(exc.message, code=exc.code) from exc


class StockOperationForm(ServiceForm):
    """Base of the stock forms: SKU and location lookups; ``apply`` makes the service
    call and returns the stock level it changed, whose page the operator lands on."""

    # A page of the stock levels' list, not of one level: links from a level's page
    # prefill the SKU and location (``?sku=…&location=…``).
    needs_object = False

    sku = forms.CharField(label="SKU", max_length=64)
    location = forms.CharField(label="Location code", max_length=32)

    def clean_sku(self) -> Product:
        return _product(self.cleaned_data["sku"])

    def clean_location(self) -> Location:
        return _location(self.cleaned_data["location"])

    def apply(self, actor: Actor) -> StockLevel:
        raise NotImplementedError

    def describe(self) -> str:
        """One line for the success message and the admin history."""
        raise NotImplementedError

    def perform(self, actor: Actor) -> str:
        self.changed = self.apply(actor)
        return self.describe()


class ReceiveStockForm(StockOperationForm):
    permission = "inventory.receive_stock"
    title = "Receive stock"
    submit_label = "Receive"

    quantity = forms.IntegerField(min_value=1, max_value=services.MAX_STOCK_QUANTITY)
    reference = forms.CharField(
        max_length=100, required=False, help_text="Purchase order, ASN or delivery note."
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    def apply(self, actor: Actor) -> StockLevel:
        data = self.cleaned_data
        return services.receive_stock(
            location=data["location"],
            product=data["sku"],
            quantity=data["quantity"],
            actor=actor,
            reference=data["reference"],
            note=data["reason"],
        )

    def describe(self) -> str:
        data = self.cleaned_data
        return f"Received {data['quantity']} × {data['sku'].sku} at {data['location'].code}."


class AdjustStockForm(StockOperationForm):
    permission = "inventory.adjust_stock"
    title = "Adjust stock"
    submit_label = "Adjust"

    bucket = forms.ChoiceField(
        choices=[(b.value, b.label) for b in services.ADJUSTABLE_BUCKETS],
        initial=StockBucket.ON_HAND,
    )
    delta = forms.IntegerField(
        label="Change",
        help_text="Units to add (positive) or remove (negative).",
        min_value=-services.MAX_STOCK_QUANTITY,
        max_value=services.MAX_STOCK_QUANTITY,
    )
    reference = forms.CharField(max_length=100, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    def clean_delta(self) -> int:
        delta: int = self.cleaned_data["delta"]
        if delta == 0:
            raise ValidationError("The change cannot be zero.", code="zero_delta")
        return delta

    def apply(self, actor: Actor) -> StockLevel:
        data = self.cleaned_data
        return services.adjust_stock(
            location=data["location"],
            product=data["sku"],
            delta=data["delta"],
            bucket=data["bucket"],
            reason=data["reason"],
            reference=data["reference"],
            actor=actor,
        )

    def describe(self) -> str:
        data = self.cleaned_data
        return (
            f"Adjusted {data['bucket'].replace('_', ' ')} of {data['sku'].sku} at "
            f"{data['location'].code} by {data['delta']:+d}: {data['reason']}"
        )


class TransferStockForm(StockOperationForm):
    permission = "inventory.transfer_stock"
    title = "Transfer stock"
    submit_label = "Transfer"

    location = forms.CharField(label="From location", max_length=32)
    destination = forms.CharField(label="To location", max_length=32)
    quantity = forms.IntegerField(min_value=1, max_value=services.MAX_STOCK_QUANTITY)
    reference = forms.CharField(max_length=100, required=False)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    def clean_destination(self) -> Location:
        return _location(self.cleaned_data["destination"])

    def apply(self, actor: Actor) -> StockLevel:
        data = self.cleaned_data
        source_level, _ = services.transfer_stock(
            source=data["location"],
            destination=data["destination"],
            product=data["sku"],
            quantity=data["quantity"],
            reason=data["reason"],
            reference=data["reference"],
            actor=actor,
        )
        return source_level

    def describe(self) -> str:
        data = self.cleaned_data
        return (
            f"Transferred {data['quantity']} × {data['sku'].sku} from {data['location'].code} "
            f"to {data['destination'].code}: {data['reason']}"
        )


class CycleCountForm(StockOperationForm):
    permission = "inventory.count_stock"
    title = "Record a cycle count"
    submit_label = "Record count"

    counted = forms.IntegerField(
        label="Counted on hand",
        min_value=0,
        max_value=services.MAX_STOCK_QUANTITY,
        help_text="Sellable units found on the shelf; unsellable units are not counted here.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)

    def apply(self, actor: Actor) -> StockLevel:
        data = self.cleaned_data
        return services.record_cycle_count(
            location=data["location"],
            product=data["sku"],
            counted=data["counted"],
            note=data["reason"],
            actor=actor,
        )

    def describe(self) -> str:
        data = self.cleaned_data
        return (
            f"Counted {data['counted']} × {data['sku'].sku} on hand at "
            f"{data['location'].code}: {data['reason']}"
        )


class MarkUnsellableForm(StockOperationForm):
    permission = "inventory.adjust_stock"
    title = "Mark stock unsellable"
    submit_label = "Mark unsellable"

    quantity = forms.IntegerField(min_value=1, max_value=services.MAX_STOCK_QUANTITY)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), help_text="Damage found, held for QC…"
    )

    def apply(self, actor: Actor) -> StockLevel:
        data = self.cleaned_data
        return services.mark_unsellable(
            location=data["location"],
            product=data["sku"],
            quantity=data["quantity"],
            reason=data["reason"],
            actor=actor,
        )

    def describe(self) -> str:
        data = self.cleaned_data
        return (
            f"Marked {data['quantity']} × {data['sku'].sku} unsellable at "
            f"{data['location'].code}: {data['reason']}"
        )


class SafetyStockForm(StockOperationForm):
    permission = "inventory.adjust_stock"
    title = "Set safety stock"
    submit_label = "Set safety stock"

    quantity = forms.IntegerField(
        label="Safety stock",
        min_value=0,
        max_value=services.MAX_STOCK_QUANTITY,
        help_text="Units at this location kept back from promising.",
    )
    # ``set_safety_stock`` takes no note, so the reason is kept in the admin history of
    # the stock level instead of on the ledger row.
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in this stock level's admin history.",
    )

    def apply(self, actor: Actor) -> StockLevel:
        data = self.cleaned_data
        return services.set_safety_stock(
            location=data["location"], product=data["sku"], quantity=data["quantity"], actor=actor
        )

    def describe(self) -> str:
        data = self.cleaned_data
        return (
            f"Set safety stock of {data['sku'].sku} at {data['location'].code} to "
            f"{data['quantity']}: {data['reason']}"
        )


STOCK_OPERATIONS: dict[str, type[StockOperationForm]] = {
    "receive": ReceiveStockForm,
    "adjust": AdjustStockForm,
    "transfer": TransferStockForm,
    "count": CycleCountForm,
    "unsellable": MarkUnsellableForm,
    "safety-stock": SafetyStockForm,
}
