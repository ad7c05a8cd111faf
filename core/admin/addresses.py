"""The address form every address page of the console builds on."""

from __future__ import annotations

from typing import Any

from django import forms

from core.addresses import ADDRESS_FIELDS, clean_postal_address
from core.errors import InvalidInput


class PostalAddressForm(forms.ModelForm):
    """A model form for anything with a postal address (saved addresses of customers and
    companies, locations); each app's form names its model in ``Meta``.

    It applies ``clean_postal_address`` so the admin accepts exactly what the services
    accept, shows each refusal on its field, and stores the normalised values, with
    coordinates filled from a US ZIP code when none were typed.
    """

    # Captions a person reads, not the model's field names ("Line1").
    ADDRESS_LABELS = {
        "line1": "Address line 1",
        "line2": "Address line 2",
        "region": "State / region",
        "postal_code": "ZIP / postal code",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in self.ADDRESS_LABELS.items():
            if name in self.fields:
                self.fields[name].label = label

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        address_fields = [*ADDRESS_FIELDS, "latitude", "longitude"]
        if any(name in self.errors for name in address_fields):
            return cleaned
        data = {
            name: cleaned.get(name, getattr(self.instance, name, "")) for name in address_fields
        }
        try:
            normalised = clean_postal_address(data)
        except InvalidInput as exc:
            fields = exc.details.get("fields") or {}
            for name, message in fields.items():
                self.add_error(name if name in self.fields else None, message)
            if not fields:
                self.add_error(None, exc.message)
            return cleaned
        for name, value in normalised.items():
            if name in self.fields:
                cleaned[name] = value
            else:
                setattr(self.instance, name, value)
        return cleaned
