"""The console's return pages: each valid submit makes one call to ``returns.services``.

A refusal (``DomainError``) is shown above the form as typed and nothing changes.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from core.actors import Actor
from core.admin import ServiceForm
from inventory.models import Location, LocationKind
from orders.models import Order, OrderLine
from shipping.models import Carrier

from .. import resolution, services, tracking
from ..models import (
    Condition,
    Disposition,
    Resolution,
    ReturnMethod,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from ..policy import returnable_quantity
from ..resolution import ExchangeLineInput

ADD_PERMISSION = "returns.add_returnrequest"


class ReturnPageForm(ServiceForm):
    obj: ReturnRequest


class ApproveReturnForm(ReturnPageForm):
    title = "Approve return"
    submit_label = "Approve"
    permission = services.APPROVE_PERMISSION

    note = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        if obj.status != ReturnStatus.REQUESTED:
            return f"Return {obj.number} is {obj.get_status_display().lower()}: nothing to approve."
        return ""

    def perform(self, actor: Actor) -> str:
        services.approve_return(request_id=self.obj.pk, actor=actor, note=self.cleaned_data["note"])
        return f"Return {self.obj.number} approved."


class RejectReturnForm(ReturnPageForm):
    title = "Reject return"
    submit_label = "Reject"
    permission = services.APPROVE_PERMISSION

    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The customer is told this.",
    )

    unavailable_reason = ApproveReturnForm.unavailable_reason

    def perform(self, actor: Actor) -> str:
        services.reject_return(
            request_id=self.obj.pk, actor=actor, reason=self.cleaned_data["reason"]
        )
        return f"Return {self.obj.number} rejected; its units may be asked for again."


class CancelReturnForm(ReturnPageForm):
    title = "Cancel return"
    submit_label = "Cancel the return"
    permission = services.APPROVE_PERMISSION

    confirm = forms.BooleanField(label="Yes, the customer withdraws this return")

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        if obj.status not in (ReturnStatus.REQUESTED, ReturnStatus.APPROVED):
            status = obj.get_status_display().lower()
            return f"Return {obj.number} is {status}: it cannot be cancelled."
        return ""

    def perform(self, actor: Actor) -> str:
        services.cancel_return(request_id=self.obj.pk, actor=actor)
        return f"Return {self.obj.number} cancelled."


class CloseReturnForm(ReturnPageForm):
    title = "Close return"
    submit_label = "Close"
    permission = services.APPROVE_PERMISSION

    note = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Units still expected are given up and may be asked for again.",
    )

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        if obj.status not in (ReturnStatus.RECEIVED, ReturnStatus.INSPECTED):
            return f"Return {obj.number} is {obj.get_status_display().lower()}: nothing to close."
        return ""

    def perform(self, actor: Actor) -> str:
        services.close_return(request_id=self.obj.pk, actor=actor, note=self.cleaned_data["note"])
        return f"Return {self.obj.number} closed."


def return_locations() -> Any:
    return Location.objects.filter(is_active=True, accepts_returns=True).order_by("code")


class ReceiveReturnForm(ReturnPageForm):
    """One row per line still expected: how many arrived, their condition and where
    they go. The hidden token makes a second submit of the same page a no-op."""

    title = "Receive and inspect"
    submit_label = "Record receipt"
    permission = services.RECEIVE_PERMISSION

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), label="Received at")

    def __init__(self, data: Any = None, *, obj: ReturnRequest, **kwargs: Any) -> None:
        super().__init__(data, obj=obj, **kwargs)
        location_field = self.fields["location"]
        assert isinstance(location_field, forms.ModelChoiceField)  # noqa: S101
        location_field.queryset = return_locations()
        self.initial.setdefault("location", obj.destination_id)
        self.initial.setdefault("token", uuid.uuid4().hex)
        self.lines = list(obj.lines.select_related("order_line"))
        for line in self.lines:
            if not line.quantity_outstanding:
                continue
            label = f"{line.order_line.sku} ({line.quantity_outstanding} expected)"
            self.fields[f"quantity_{line.pk}"] = forms.IntegerField(
                label=label, min_value=0, max_value=line.quantity_outstanding, initial=0
            )
            self.fields[f"condition_{line.pk}"] = forms.ChoiceField(
                label=f"{line.order_line.sku}: condition",
                choices=Condition.choices,
                initial=Condition.NEW,
            )
            self.fields[f"disposition_{line.pk}"] = forms.ChoiceField(
                label=f"{line.order_line.sku}: disposition",
                choices=Disposition.choices,
                initial=Disposition.RESTOCK,
            )

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        if obj.status not in (
            ReturnStatus.APPROVED,
            ReturnStatus.IN_TRANSIT,
            ReturnStatus.RECEIVED,
        ):
            return (
                f"Return {obj.number} is {obj.get_status_display().lower()}: "
                "only approved returns are received."
            )
        return ""

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        units = [
            services.ReceivedUnits(
                line_id=line.pk,
                quantity=data[f"quantity_{line.pk}"],
                condition=data[f"condition_{line.pk}"],
                disposition=data[f"disposition_{line.pk}"],
            )
            for line in self.lines
            if data.get(f"quantity_{line.pk}")
        ]
        receipt = services.receive_return(
            request_id=self.obj.pk,
            token=data["token"],
            location=data["location"],
            units=units,
            actor=actor,
        )
        received = sum(i.quantity for i in receipt.inspections.all())
        return f"{received} unit(s) of {self.obj.number} received at {receipt.location.code}."


class TrackingForm(ReturnPageForm):
    """The return label's carrier and tracking number, so that the carrier's scans
    update the return."""

    title = "Return label tracking"
    submit_label = "Save tracking"
    permission = services.APPROVE_PERMISSION

    carrier = forms.ModelChoiceField(queryset=Carrier.objects.none())
    tracking_number = forms.CharField(
        required=False,
        max_length=64,
        help_text="As printed on the carrier's label; empty to have the carrier issue one "
        "(simulated carrier only).",
    )

    def __init__(self, data: Any = None, *, obj: ReturnRequest, **kwargs: Any) -> None:
        super().__init__(data, obj=obj, **kwargs)
        carrier_field = self.fields["carrier"]
        assert isinstance(carrier_field, forms.ModelChoiceField)  # noqa: S101
        carrier_field.queryset = Carrier.objects.filter(is_active=True).order_by("name")

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        if obj.status not in tracking.TRACKABLE:
            return (
                f"Return {obj.number} is {obj.get_status_display().lower()}: only an approved "
                "return on its way gets a tracking number."
            )
        return ""

    def perform(self, actor: Actor) -> str:
        rma = tracking.set_return_tracking(
            request_id=self.obj.pk,
            carrier=self.cleaned_data["carrier"],
            tracking_number=self.cleaned_data["tracking_number"],
            actor=actor,
        )
        return f"Return {rma.number} is tracked as {rma.tracking_number}."


class RefundReturnForm(ReturnPageForm):
    """Refund what the return made due and is not refunded yet (normally done at
    receipt, or on approval when the customer keeps the items)."""

    title = "Refund the return"
    submit_label = "Refund"
    permission = services.APPROVE_PERMISSION

    confirm = forms.BooleanField(label="Yes, refund the units due now")

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        if obj.status in (ReturnStatus.REQUESTED, ReturnStatus.REJECTED, ReturnStatus.CANCELLED):
            return f"Return {obj.number} is {obj.get_status_display().lower()}: nothing is due."
        return ""

    def perform(self, actor: Actor) -> str:
        made = resolution.refund_return(request_id=self.obj.pk, actor=actor)
        if made is None:
            return f"Nothing is due on {self.obj.number}: it is refunded as far as it can be."
        return f"Return {self.obj.number}: refund made."


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Any number of files in one input; the service checks each (type, size, count)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": "image/*"}))
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        files = data if isinstance(data, list | tuple) else [data]
        return [super(PhotosField, self).clean(f, initial) for f in files if f]


class RequestReturnForm(ServiceForm):
    """An agent asks for a return on the customer's behalf, from the order page."""

    title = "Ask for a return"
    # A page with a file input: the form posts multipart.
    template = "returns/admin/request_form.html"
    submit_label = "Create return"
    permission = ADD_PERMISSION
    obj: Order

    method = forms.ChoiceField(choices=ReturnMethod.choices, initial=ReturnMethod.MAIL)
    drop_off_location = forms.ModelChoiceField(
        queryset=Location.objects.none(),
        required=False,
        label="Drop-off store",
        help_text="Drop-off only; empty for the store nearest the customer.",
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    photos = PhotosField(
        required=False, help_text="Up to 5 images (JPEG, PNG, WebP or GIF), 5 MB each."
    )
    resolution = forms.ChoiceField(
        choices=Resolution.choices, initial=Resolution.REFUND, required=False
    )
    exchange_lines = forms.CharField(
        required=False,
        label="Replacements",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Exchange only: one replacement a line, its SKU and quantity (MUG-BLUE 1).",
    )

    def __init__(self, data: Any = None, *, obj: Order, **kwargs: Any) -> None:
        super().__init__(data, obj=obj, **kwargs)
        store_field = self.fields["drop_off_location"]
        assert isinstance(store_field, forms.ModelChoiceField)  # noqa: S101
        store_field.queryset = return_locations().filter(kind=LocationKind.STORE)
        reasons = [(r.code, r.label) for r in ReturnReason.objects.filter(is_active=True)]
        self.lines = [
            line for line in OrderLine.objects.filter(order=obj) if returnable_quantity(line)
        ]
        for line in self.lines:
            self.fields[f"quantity_{line.pk}"] = forms.IntegerField(
                label=f"{line.sku} ({returnable_quantity(line)} returnable)",
                min_value=0,
                max_value=returnable_quantity(line),
                initial=0,
            )
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(
                label=f"{line.sku}: reason", choices=reasons
            )

    def clean_exchange_lines(self) -> list[ExchangeLineInput]:
        wanted = []
        for row in self.cleaned_data["exchange_lines"].splitlines():
            parts = row.replace("×", " ").split()
            if not parts:
                continue
            if len(parts) == 1:
                parts.append("1")
            if len(parts) != 2 or not parts[1].isdigit():
                raise forms.ValidationError(
                    f"“{row.strip()}”: write a SKU and a quantity, e.g. MUG-BLUE 1."
                )
            wanted.append(ExchangeLineInput(sku=parts[0], quantity=int(parts[1])))
        return wanted

    @classmethod
    def unavailable_reason(cls, obj: Any) -> str:
        lines = OrderLine.objects.filter(order=obj)
        if not any(returnable_quantity(line) for line in lines):
            return f"Order {obj.number} has no delivered units left to return."
        return ""

    def perform(self, actor: Actor) -> str:
        data = self.cleaned_data
        lines = [
            services.ReturnLineInput(
                order_line_id=line.pk,
                quantity=data[f"quantity_{line.pk}"],
                reason_code=data[f"reason_{line.pk}"],
            )
            for line in self.lines
            if data.get(f"quantity_{line.pk}")
        ]
        rma = services.request_return(
            order=self.obj,
            lines=lines,
            method=data["method"],
            actor=actor,
            note=data["note"],
            drop_off_location=data["drop_off_location"],
            photos=data["photos"] or [],
            resolution=data["resolution"] or Resolution.REFUND,
            exchange_lines=data["exchange_lines"],
        )
        self.changed = rma
        return f"Return {rma.number} created ({rma.get_status_display().lower()})."


RETURN_PAGES: dict[str, type[ServiceForm]] = {
    "receive": ReceiveReturnForm,
    "approve": ApproveReturnForm,
    "reject": RejectReturnForm,
    "close": CloseReturnForm,
    "cancel": CancelReturnForm,
    "tracking": TrackingForm,
    "refund": RefundReturnForm,
}
ORDER_RETURN_PAGES: dict[str, type[ServiceForm]] = {"request-return": RequestReturnForm}
