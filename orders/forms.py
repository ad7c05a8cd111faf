"""Forms of the order console: what an agent or a sales rep types before one service call.

The forms check the shape of the input (a number is a number, a SKU is given); the
services decide everything else. A refusal (``DomainError``) comes back through
``add_domain_error``: its message on top of the form and each entry of
``details["fields"]`` on the field it names. Every service validates before it writes
(or rolls back), so a form that comes back with errors means nothing changed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.forms.formsets import BaseFormSet

from core.addresses import ADDRESS_FIELDS
from core.errors import DomainError
from customers.models import Customer
from inventory.models import Location
from shipping.models import ServiceLevel, ShippingMethod

from .imports import IMPORT_CHANNELS, ImportLimits, describe_size
from .models import Channel, OrderLine, PaymentMethod
from .placement import LineRequest, OrderRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

IMPORT_EXTENSIONS = (".csv", ".xlsx")

REASON_HELP = "Kept in the order's timeline."
CUSTOMIZATION_HELP = 'A JSON object, e.g. {"engraving": "Pat"}; only for customizable products.'

# Where the address errors of ``clean_postal_address`` (keyed by address field) go.
ADDRESS_ERROR_FIELDS = {key: f"ship_{key}" for key in ADDRESS_FIELDS} | {
    "latitude": "ship_postal_code",
    "shipping_address": "ship_line1",
}
_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(sku|quantity|customization)")


def _sentence(text: object) -> str:
    """``"not a pickup store"`` -> ``"Not a pickup store."``"""
    value = str(text).strip()
    if not value:
        return value
    value = value[0].upper() + value[1:]
    return value if value.endswith((".", "?", "!")) else value + "."


def add_domain_error(
    form: forms.Form,
    exc: DomainError,
    *,
    field_names: Mapping[str, str] | None = None,
    line_forms: Sequence[forms.Form] = (),
) -> None:
    """Show a refused service call on ``form``: the message as a form error, each
    ``details["fields"]`` entry on its field (``field_names`` maps the service's names
    to the form's), and line-level details on ``line_forms`` (the forms of the
    request's lines, in order)."""
    form.add_error(None, ValidationError(exc.message, code=exc.code))
    fields = exc.details.get("fields")
    if isinstance(fields, dict):
        _add_field_errors(form, fields, dict(field_names or {}), line_forms)
    if line_forms:
        _add_line_errors(exc, line_forms)


def _add_field_errors(
    form: forms.Form,
    fields: dict[str, Any],
    names: dict[str, str],
    line_forms: Sequence[forms.Form],
) -> None:
    for key, problem in fields.items():
        line = _LINE_FIELD.match(str(key))
        target = names.get(key, key)
        if line and int(line.group(1)) < len(line_forms):
            line_forms[int(line.group(1))].add_error(line.group(2), _sentence(problem))
        elif line and not line_forms and line.group(2) in form.fields:
            form.add_error(line.group(2), _sentence(problem))  # a one-line form (add line)
        elif target in form.fields:
            form.add_error(target, _sentence(problem))
        else:
            form.add_error(None, f"{key}: {problem}")


def _add_line_errors(exc: DomainError, line_forms: Sequence[forms.Form]) -> None:
    """Unknown or unsold SKUs (``skus``) and short lines (``lines``, numbered from 1)."""
    skus = exc.details.get("skus")
    if isinstance(skus, list):
        wanted = {str(s).strip().upper() for s in skus}
        problem = "Unknown SKU." if exc.code == "unknown_sku" else "Not sold any more."
        for line_form in line_forms:
            if str(line_form.cleaned_data.get("sku", "")).upper() in wanted:
                line_form.add_error("sku", problem)
    short = exc.details.get("lines")
    if isinstance(short, list):
        for entry in short:
            if not isinstance(entry, dict) or "available" not in entry:
                continue
            index = int(entry.get("line", 0)) - 1
            if 0 <= index < len(line_forms):
                line_forms[index].add_error("quantity", f"Only {entry['available']} available.")


# --- shared fields ----------------------------------------------------------------------


class CustomerEmailField(forms.CharField):
    """A customer picked by e-mail (case-insensitive, the unique index)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "Customer e-mail")
        kwargs.setdefault("max_length", 254)
        kwargs.setdefault("help_text", "The customer's exact e-mail address.")
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Customer:
        email = str(super().clean(value)).strip().lower()
        customer = find_customer(email)
        if customer is None:
            raise ValidationError(f"No customer with e-mail {email}.", code="unknown_customer")
        if not customer.is_active:
            raise ValidationError(f"Customer {email} is inactive.", code="inactive_customer")
        return customer


def find_customer(email: str) -> Customer | None:
    email = email.strip().lower()
    if not email:
        return None
    return (
        Customer.objects.select_related("company")
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email)
        .first()
    )


class CustomizationField(forms.JSONField):
    """Optional JSON object of customization values; blank means none."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Customization")
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 28}))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        # Blank, not "null" or "{}", when there is no customization.
        if value in (None, "", {}):
            return ""
        return super().prepare_value(value)

    def clean(self, value: Any) -> dict[str, Any]:
        data = super().clean(value)
        if data in (None, ""):
            return {}
        if not isinstance(data, dict):
            raise ValidationError(
                'Enter a JSON object, e.g. {"engraving": "Pat"}.', code="not_an_object"
            )
        return data


class ShippingAddressForm(forms.Form):
    """A ship-to address. Which parts are required (and valid) is decided by
    ``clean_postal_address`` in the service, the same rules as the API's."""

    ship_name = forms.CharField(label="Recipient", max_length=200, required=False)
    ship_line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    ship_line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    ship_city = forms.CharField(label="City", max_length=100, required=False)
    ship_region = forms.CharField(label="State / region", max_length=100, required=False)
    ship_postal_code = forms.CharField(label="ZIP / postal code", max_length=20, required=False)
    ship_country = forms.CharField(
        label="Country", max_length=2, required=False, help_text="ISO code, e.g. US."
    )
    ship_phone = forms.CharField(label="Phone", max_length=32, required=False)

    ADDRESS_FIELD_NAMES = tuple(f"ship_{key}" for key in ADDRESS_FIELDS)

    def address(self) -> dict[str, str]:
        return {key: self.cleaned_data.get(f"ship_{key}") or "" for key in ADDRESS_FIELDS}

    def address_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.ADDRESS_FIELD_NAMES]


def address_initial(source: Any, *, prefix: str = "") -> dict[str, str]:
    """Form initial data from an address-like object (``Address`` or an order's
    ``ship_*`` snapshot when ``prefix="ship_"``)."""
    return {f"ship_{key}": getattr(source, f"{prefix}{key}", "") or "" for key in ADDRESS_FIELDS}


# --- draft orders -----------------------------------------------------------------------


class DraftOrderForm(ShippingAddressForm):
    customer = CustomerEmailField()
    shipping_method = forms.ModelChoiceField(
        queryset=ShippingMethod.objects.filter(is_active=True).order_by("price", "code"),
        to_field_name="code",
        empty_label=None,
    )
    pickup_location = forms.ModelChoiceField(
        label="Pickup store",
        queryset=Location.objects.filter(is_active=True, pickup=True).order_by("code"),
        to_field_name="code",
        required=False,
        help_text="Only with a store pickup method; the address is then the store's.",
    )
    po_number = forms.CharField(label="PO number", max_length=64, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    payment_method = forms.ChoiceField(
        label="Payment",
        choices=[
            ("", "The buyer's usual way (card taken by phone, or invoice on terms)"),
            (PaymentMethod.STORE_CREDIT, "Store credit (the whole total, when submitted)"),
        ],
        required=False,
    )

    field_order = (
        "customer",
        "shipping_method",
        "pickup_location",
        *ShippingAddressForm.ADDRESS_FIELD_NAMES,
        "po_number",
        "notes",
        "payment_method",
    )

    def field_errors_map(self) -> dict[str, str]:
        return {
            **ADDRESS_ERROR_FIELDS,
            "shipping_method": "shipping_method",
            "pickup_location": "pickup_location",
            "po_number": "po_number",
            "payment.method": "payment_method",
        }

    def order_request(
        self, lines: list[LineRequest], *, channel: str, placed_by: User | None
    ) -> OrderRequest:
        data = self.cleaned_data
        address = self.address()
        pickup = data["pickup_location"]
        return OrderRequest(
            customer=data["customer"],
            channel=channel,
            shipping_method_code=data["shipping_method"].code,
            pickup_location_code=pickup.code if pickup else "",
            shipping_address=address if any(address.values()) else None,
            po_number=data["po_number"],
            notes=data["notes"],
            lines=lines,
            placed_by=placed_by,
            payment_method=data.get("payment_method") or "",
        )


class DraftLineForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64, required=False)
    quantity = forms.IntegerField(min_value=1, required=False)
    customization = CustomizationField(help_text=CUSTOMIZATION_HELP)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read when the form is built, so the limit follows the settings.
        self.fields["quantity"] = forms.IntegerField(
            min_value=1, max_value=settings.OMS_MAX_LINE_QUANTITY, required=False
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        sku = str(cleaned.get("sku") or "").strip().upper()
        cleaned["sku"] = sku
        quantity = cleaned.get("quantity")
        if sku and quantity is None and "quantity" not in self.errors:
            self.add_error("quantity", "Enter a quantity.")
        if not sku and (quantity is not None or cleaned.get("customization")):
            self.add_error("sku", "Enter a SKU.")
        return cleaned

    @property
    def is_filled(self) -> bool:
        return bool(getattr(self, "cleaned_data", {}).get("sku"))

    def line_request(self) -> LineRequest:
        data = self.cleaned_data
        return LineRequest(
            sku=data["sku"], quantity=data["quantity"], customization=data["customization"]
        )


if TYPE_CHECKING:
    _DraftLineFormSetBase = BaseFormSet["DraftLineForm"]
    _CancelLineFormSetBase = BaseFormSet["CancelLineForm"]
else:  # BaseFormSet is generic only in the type stubs
    _DraftLineFormSetBase = _CancelLineFormSetBase = BaseFormSet


class BaseDraftLineFormSet(_DraftLineFormSetBase):
    def filled_forms(self) -> list[DraftLineForm]:
        """The forms holding a line, in order: ``lines[i]`` of the request is the
        i-th of these."""
        return [form for form in self.forms if form.is_filled]

    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.filled_forms():
            raise ValidationError("Add at least one line.", code="no_lines")


DraftLineFormSet = cast(
    "type[BaseDraftLineFormSet]",
    forms.formset_factory(
        DraftLineForm,
        formset=BaseDraftLineFormSet,
        extra=5,
        max_num=settings.OMS_MAX_ORDER_LINES,
        validate_max=True,
    ),
)
DRAFT_LINES_PREFIX = "lines"


def channel_for(user: Any) -> str:
    """Orders a sales rep builds are sales orders; anyone else's are agent orders."""
    if user.groups.filter(name="sales_rep").exists():
        return Channel.SALES
    return Channel.AGENT


# --- cancellation -----------------------------------------------------------------------


class CancelReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=250, help_text=REASON_HELP
    )


def cancellable_quantity(line: OrderLine) -> int:
    return line.quantity_ordered - line.quantity_cancelled - line.quantity_shipped


class CancelLineForm(forms.Form):
    line_number = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, line: OrderLine, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"line_number": line.line_number})
        super().__init__(*args, **kwargs)
        self.line = line
        self.cancellable = cancellable_quantity(line)
        self.fields["quantity"] = forms.IntegerField(
            label="Quantity to cancel",
            min_value=1,
            max_value=max(self.cancellable, 1),
            required=False,
            disabled=self.cancellable <= 0,
        )

    def clean_line_number(self) -> int:
        number: int = self.cleaned_data["line_number"]
        if number != self.line.line_number:
            raise ValidationError("The order changed since this page was shown; reload it.")
        return number


class BaseCancelLineFormSet(_CancelLineFormSetBase):
    """One form per order line, in line order, whatever the posted form count."""

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        self.lines = lines
        super().__init__(*args, **kwargs)

    def total_form_count(self) -> int:
        return len(self.lines)

    def initial_form_count(self) -> int:
        return len(self.lines)

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if index is not None:
            kwargs["line"] = self.lines[index]
        return kwargs

    def quantities(self) -> dict[int, int]:
        return {
            form.line.line_number: form.cleaned_data["quantity"]
            for form in self.forms
            if form.cleaned_data.get("quantity")
        }


CancelLineFormSet = cast(
    "type[BaseCancelLineFormSet]",
    forms.formset_factory(CancelLineForm, formset=BaseCancelLineFormSet, extra=0),
)
CANCEL_LINES_PREFIX = "cancel"


# --- edits of a placed order ------------------------------------------------------------


class ChangeQuantityForm(forms.Form):
    line = forms.TypedChoiceField(coerce=int)
    quantity = forms.IntegerField(
        label="New quantity ordered",
        min_value=1,
        help_text="Cannot go below what is already cancelled, allocated or shipped.",
    )

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line = self.fields["line"]
        assert isinstance(line, forms.TypedChoiceField)  # noqa: S101 - narrows the type
        line.choices = [
            (
                li.line_number,
                (
                    f"#{li.line_number} {li.sku} — {li.description} "
                    f"(ordered {li.quantity_ordered}, cancelled {li.quantity_cancelled}, "
                    f"shipped {li.quantity_shipped})"
                ),
            )
            for li in lines
        ]


class AddLineForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    quantity = forms.IntegerField(min_value=1)
    customization = CustomizationField(help_text=CUSTOMIZATION_HELP)

    def clean_sku(self) -> str:
        return str(self.cleaned_data["sku"]).strip().upper()


class ShippingMethodForm(forms.Form):
    shipping_method = forms.ModelChoiceField(
        queryset=ShippingMethod.objects.filter(is_active=True)
        .exclude(service_level=ServiceLevel.PICKUP)
        .order_by("price", "code"),
        to_field_name="code",
        empty_label=None,
        help_text="The shipping charge follows the method.",
    )


# --- import -----------------------------------------------------------------------------


class OrderImportForm(forms.Form):
    """The upload of an import's dry run. The size is checked here, before the file
    is read into memory (and kept server-side until the real import); what it holds
    is checked by ``orders.imports.read_dataset``."""

    file = forms.FileField()
    channel = forms.ChoiceField(
        choices=[(c.value, c.label) for c in IMPORT_CHANNELS],
        initial=Channel.IMPORT,
        help_text="Re-importing skips orders already imported from the same channel.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = ImportLimits.current()
        self.fields["file"].help_text = (
            "A .csv or .xlsx file with one row per order line: at most "
            f"{self.limits.rows:,} rows and {describe_size(self.limits.file_bytes)}."
        )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if PurePath(upload.name or "").suffix.lower() not in IMPORT_EXTENSIONS:
            raise ValidationError("Upload a .csv or .xlsx file.", code="file_type")
        if upload.size > self.limits.file_bytes:
            raise ValidationError(
                f"The file is larger than {describe_size(self.limits.file_bytes)}; split it.",
                code="file_size",
            )
        return upload
