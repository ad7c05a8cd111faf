"""Purchase orders and transfers in transit in the console.

Nothing on these pages is edited in place: recording an order, receiving a delivery and
cancelling open lines are ``ServiceForm`` pages calling ``inventory.purchase_orders``,
each under its own permission. Warehouse staff assigned to locations open the list on
their locations' supply (deliveries to them, transfers out of them); only those who may
see every location widen it, the others keep to it behind a typed URL too.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.db.models import F, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from core.actors import Actor
from core.admin import (
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    ServiceForm,
    ServicePagesMixin,
    short_datetime,
)

from .. import purchase_orders as supply
from ..models import (
    Location,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderKind,
    PurchaseOrderLine,
    PurchaseOrderReceipt,
)
from .location_scope import LocationScopeFilter, scope_to_locations

# A purchase order is a location's by where it is delivered, a transfer also by where it
# leaves from.
PO_LOCATION_FIELDS = ("location_id", "source_location_id")

LINE_PATTERN = re.compile(r"^\s*([^\s,;]+)[\s,;]+(-?\d+)\s*$")
LINES_HELP = "One line per SKU: the SKU, then the quantity (e.g. <code>KETTLE-01 24</code>)."


def parse_lines(text: str) -> list[tuple[str, int]]:
    """``SKU quantity`` per line (blank lines skipped) -> pairs; a clear error otherwise."""
    pairs = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = LINE_PATTERN.match(raw)
        if match is None:
            raise forms.ValidationError(
                f"Line {number} ({raw.strip()!r}) is not a SKU followed by a quantity."
            )
        pairs.append((match.group(1).upper(), int(match.group(2))))
    if not pairs:
        raise forms.ValidationError("Give at least one SKU and quantity.")
    return pairs


class LinesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 6, "cols": 40})

    def clean(self, value: Any) -> list[tuple[str, int]]:
        return parse_lines(super().clean(value))


class RecordPurchaseOrderForm(ServiceForm):
    title = "Record a purchase order"
    submit_label = "Record the purchase order"
    permission = "inventory.add_purchaseorder"
    needs_object = False
    error_fields = {"expected_date": "expected_date"}

    supplier = forms.CharField(max_length=200)
    location = forms.ModelChoiceField(
        Location.objects.filter(is_active=True), help_text="Where the goods are delivered."
    )
    expected_date = forms.DateField(
        help_text="The day the goods are due (YYYY-MM-DD).", widget=forms.DateInput()
    )
    reference = forms.CharField(
        max_length=100, required=False, help_text="The supplier's or ERP's number, if any."
    )
    lines = LinesField(help_text=LINES_HELP)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        po = supply.create_purchase_order(
            location=data["location"],
            supplier=data["supplier"],
            expected_date=data["expected_date"],
            reference=data["reference"],
            lines=data["lines"],
            note=data["note"],
            actor=actor,
        ).purchase_order
        self.changed = po
        count = len(data["lines"])
        return f"Recorded {po.number}: {count} line(s) now incoming at {po.location.code}."


class RecordTransferForm(ServiceForm):
    title = "Record a transfer"
    submit_label = "Send the transfer"
    permission = "inventory.transfer_stock"
    needs_object = False

    source_location = forms.ModelChoiceField(Location.objects.filter(is_active=True), label="From")
    location = forms.ModelChoiceField(Location.objects.filter(is_active=True), label="To")
    expected_date = forms.DateField(help_text="The day it arrives (YYYY-MM-DD).")
    lines = LinesField(help_text=LINES_HELP)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        po = supply.create_purchase_order(
            location=data["location"],
            source_location=data["source_location"],
            expected_date=data["expected_date"],
            lines=data["lines"],
            note=data["note"],
            actor=actor,
        ).purchase_order
        self.changed = po
        return (
            f"Recorded {po.number}: the units left {data['source_location'].code} and are "
            f"incoming at {po.location.code}."
        )


def _open_lines(po: PurchaseOrder) -> list[PurchaseOrderLine]:
    return [line for line in po.lines.select_related("product") if line.quantity_open]


class ReceivePurchaseOrderForm(ServiceForm):
    title = "Receive a delivery"
    submit_label = "Receive"
    permission = "inventory.receive_purchaseorder"

    reference = forms.CharField(
        max_length=100, required=False, help_text="The delivery note, if any."
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, data: Any = None, *, obj: Any = None, **kwargs: Any) -> None:
        super().__init__(data, obj=obj, **kwargs)
        self.open_lines = _open_lines(obj)
        for line in self.open_lines:
            self.fields[f"line_{line.pk}"] = forms.IntegerField(
                label=f"{line.product.sku} · {line.product.name}",
                min_value=0,
                max_value=line.quantity_open,
                required=False,
                help_text=f"{line.quantity_open} of {line.quantity_ordered} still open.",
            )
        self.order_fields([f"line_{line.pk}" for line in self.open_lines] + ["reference", "note"])

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        if obj.status not in supply.OPEN_STATUSES:
            return f"{obj.number} is {obj.get_status_display().lower()}: nothing to receive."
        return ""

    def received(self) -> list[tuple[str, int]]:
        return [
            (line.product.sku, self.cleaned_data[f"line_{line.pk}"])
            for line in self.open_lines
            if self.cleaned_data.get(f"line_{line.pk}")
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not self.received():
            raise forms.ValidationError("Enter the units received on at least one line.")
        return cleaned

    def perform(self, actor: Actor) -> str:
        lines = self.received()
        supply.receive_purchase_order(
            purchase_order=self.obj,
            lines=lines,
            reference=self.cleaned_data["reference"],
            note=self.cleaned_data["note"],
            actor=actor,
        )
        units = sum(q for _, q in lines)
        return f"Received {units} unit(s) on {self.obj.number}; they are on hand now."


class CancelPurchaseOrderLinesForm(ServiceForm):
    title = "Cancel open lines"
    submit_label = "Cancel the lines"
    permission = "inventory.cancel_purchaseorder"

    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data: Any = None, *, obj: Any = None, **kwargs: Any) -> None:
        super().__init__(data, obj=obj, **kwargs)
        self.fields["skus"] = forms.MultipleChoiceField(
            label="Lines",
            choices=[
                (line.product.sku, f"{line.product.sku}: {line.quantity_open} open")
                for line in _open_lines(obj)
            ],
            widget=forms.CheckboxSelectMultiple,
            help_text="Their open units stop being incoming; received units stay.",
        )
        self.order_fields(["skus", "reason"])

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        return ReceivePurchaseOrderForm.unavailable_reason(obj)

    def perform(self, actor: Actor) -> str:
        skus = self.cleaned_data["skus"]
        supply.cancel_purchase_order_lines(
            purchase_order=self.obj, skus=skus, reason=self.cleaned_data["reason"], actor=actor
        )
        return f"Cancelled the open units of {', '.join(skus)} on {self.obj.number}."


class LineInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PurchaseOrderLine
    fields = (
        "line_number",
        "product",
        "quantity_ordered",
        "quantity_received",
        "quantity_cancelled",
        "open_units",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderLine]:
        return super().get_queryset(request).select_related("product")

    @admin.display(description="Open")
    def open_units(self, obj: PurchaseOrderLine) -> int:
        return obj.quantity_open


class ReceiptInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PurchaseOrderReceipt
    fields = ("received", "reference", "units", "by", "note")
    readonly_fields = fields
    verbose_name_plural = "receipts"

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderReceipt]:
        return super().get_queryset(request).prefetch_related("lines__line__product")

    @admin.display(description="Received")
    def received(self, obj: PurchaseOrderReceipt) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="By")
    def by(self, obj: PurchaseOrderReceipt) -> str:
        return obj.actor_label

    @admin.display(description="Units")
    def units(self, obj: PurchaseOrderReceipt) -> str:
        return ", ".join(f"{rl.line.product.sku} × {rl.quantity}" for rl in obj.lines.all())


class EventInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = PurchaseOrderEvent
    fields = ("when", "what", "by", "details")
    readonly_fields = fields
    verbose_name_plural = "timeline"

    @admin.display(description="When")
    def when(self, obj: PurchaseOrderEvent) -> str:
        return short_datetime(obj.created_at)

    @admin.display(description="What")
    def what(self, obj: PurchaseOrderEvent) -> str:
        return obj.kind.replace("_", " ").capitalize()

    @admin.display(description="By")
    def by(self, obj: PurchaseOrderEvent) -> str:
        return obj.actor_label

    @admin.display(description="Details")
    def details(self, obj: PurchaseOrderEvent) -> str:
        payload = dict(obj.payload)
        lines = payload.pop("lines", {})
        parts = [f"{sku} × {qty}" for sku, qty in lines.items()]
        parts += [f"{k.replace('_', ' ')}: {v}" for k, v in payload.items()]
        return "; ".join(parts)


class PurchaseOrderScopeFilter(LocationScopeFilter):
    location_fields = PO_LOCATION_FIELDS
    mine_label = "My locations (to or from them)"


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(ServicePagesMixin, OperatorAdminMixin, admin.ModelAdmin):
    service_pages = {
        "record": RecordPurchaseOrderForm,
        "record-transfer": RecordTransferForm,
        "receive": ReceivePurchaseOrderForm,
        "cancel-lines": CancelPurchaseOrderLinesForm,
    }
    list_display = (
        "number",
        "kind",
        "origin",
        "location",
        "expected_date",
        "status",
        "open_units",
        "reference",
    )
    list_select_related = ("location", "source_location")
    list_filter = (PurchaseOrderScopeFilter, "status", "kind", "location", "expected_date")
    search_fields = ("=number", "=reference", "supplier")
    search_help_text = "Number, the supplier's reference, or the supplier's name."
    date_hierarchy = "expected_date"
    fields = (
        ("number", "status"),
        ("kind", "supplier", "source_location"),
        ("location", "expected_date"),
        "reference",
        "note",
        ("created_at", "updated_at"),
    )
    readonly_fields = (*(f for row in fields for f in (row if isinstance(row, tuple) else (row,))),)
    inlines = (LineInline, ReceiptInline, EventInline)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrder]:
        return scope_to_locations(
            request, super().get_queryset(request), PO_LOCATION_FIELDS
        ).annotate(
            open_total=Sum(
                F("lines__quantity_ordered")
                - F("lines__quantity_received")
                - F("lines__quantity_cancelled")
            )
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A purchase names its supplier, a transfer its source: not both.
        unused = "supplier" if obj and obj.kind == PurchaseOrderKind.TRANSFER else "source_location"
        return tuple(
            tuple(f for f in row if f != unused) if isinstance(row, tuple) else row
            for row in self.fields
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # recorded through the "Record a purchase order" page

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Supplier / from")
    def origin(self, obj: PurchaseOrder) -> str:
        if obj.kind == PurchaseOrderKind.TRANSFER and obj.source_location is not None:
            return f"Transfer from {obj.source_location.code}"
        return obj.supplier

    @admin.display(description="Open units", ordering="open_total")
    def open_units(self, obj: PurchaseOrder) -> int:
        return int(getattr(obj, "open_total", 0) or 0)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        tools = [
            {"url": reverse(f"admin:{self.page_url_name(slug)}"), "title": form.title}
            for slug, form in self.service_pages.items()
            if not form.needs_object and form.allowed(request.user)
        ]
        return super().changelist_view(request, {**(extra_context or {}), "list_tools": tools})

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        tools = self.service_tools(request, obj) if obj is not None else []
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "service_tools": tools}
        )
