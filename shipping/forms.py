"""The carrier's console form: its tracking webhook secret is write-only.

The tracking webhook (``fulfillment.api``) checks the secret set here, so the page never
shows it and an empty field keeps it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .models import Carrier

MIN_WEBHOOK_SECRET_LENGTH = 16


def mask_secret(secret: str) -> str:
    """A stored secret shown without revealing it: its length class and last characters."""
    if not secret:
        return "-"
    if len(secret) < 12:
        return "••••••••"
    return "••••••••" + secret[-4:]


class CarrierAdminForm(forms.ModelForm):
    """The webhook secret is write-only: the page never renders it, an empty field keeps
    it, and removing it is an explicit choice."""

    new_webhook_secret = forms.CharField(
        label="New webhook secret",
        required=False,
        min_length=MIN_WEBHOOK_SECRET_LENGTH,
        max_length=128,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="The carrier sends it in the X-Carrier-Token header with tracking events. "
        "Leave empty to keep the current secret.",
    )
    remove_webhook_secret = forms.BooleanField(
        label="Remove the webhook secret",
        required=False,
        help_text="The carrier's tracking webhooks are refused until a new secret is set.",
    )

    class Meta:
        model = Carrier
        fields = ("code", "name", "tracking_url_template", "offers_return_pickup", "is_active")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("new_webhook_secret") and cleaned.get("remove_webhook_secret"):
            raise ValidationError(
                "Either set a new webhook secret or remove it, not both.", code="secret_choice"
            )
        return cleaned

    def save(self, commit: bool = True) -> Carrier:
        carrier: Carrier = super().save(commit=False)
        if self.cleaned_data.get("new_webhook_secret"):
            carrier.webhook_secret = self.cleaned_data["new_webhook_secret"]
        elif self.cleaned_data.get("remove_webhook_secret"):
            carrier.webhook_secret = ""
        if commit:
            carrier.save()
        return carrier
