"""A company's notification contacts in the console: who at the company gets copies of
which messages about its orders, by e-mail and/or SMS (``customers.notification_models``).
Saved through ``save_company_contact``, which stores the phone in E.164."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from core.errors import InvalidInput
from core.phones import InvalidPhone, normalise_phone

from ..models import Company, NotificationEvent
from ..notification_models import CompanyContact
from ..notification_preferences import save_company_contact
from .addresses import record_saved


class CompanyContactForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=NotificationEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The kinds of message this contact gets a copy of.",
    )

    class Meta:
        model = CompanyContact
        fields = ("name", "email", "phone", "events", "by_email", "by_sms", "is_active")

    def clean_phone(self) -> str:
        try:
            return normalise_phone(str(self.cleaned_data.get("phone") or ""))
        except InvalidPhone as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("by_email") and not cleaned.get("email"):
            self.add_error("email", "Copies by e-mail need an e-mail address.")
        if cleaned.get("by_sms") and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", "Copies by SMS need a phone number.")
        if not cleaned.get("events") and not cleaned.get("DELETE"):
            self.add_error("events", "Choose at least one kind of message.")
        return cleaned


class CompanyContactInline(admin.StackedInline):
    model = CompanyContact
    form = CompanyContactForm
    extra = 0
    verbose_name_plural = "notification contacts (copies of messages about the company's orders)"
    fields = (("name", "is_active"), ("email", "by_email"), ("phone", "by_sms"), "events")


def save_contacts(formset: BaseInlineFormSet, *, company: Company) -> None:
    """Every added or changed contact goes through ``save_company_contact``."""
    new: list[CompanyContact] = []
    changed: list[Any] = []  # the forms, as ``record_saved`` reads them
    deleted: list[CompanyContact] = []
    for form in formset.forms:
        existing = form.instance if form.instance.pk is not None else None
        if form in formset.deleted_forms:
            if existing is not None:
                deleted.append(existing)
                existing.delete()
            continue
        if not form.has_changed():
            continue
        data = form.cleaned_data
        try:
            saved = save_company_contact(
                company=company,
                contact=existing,
                name=data["name"],
                email=data.get("email") or "",
                phone=data.get("phone") or "",
                events=data.get("events") or [],
                by_email=data.get("by_email", False),
                by_sms=data.get("by_sms", False),
                is_active=data.get("is_active", True),
            )
        except InvalidInput as exc:  # the form checked the same rules: not expected
            raise forms.ValidationError(exc.message) from exc
        if existing is None:
            new.append(saved)
        else:
            changed.append(form)
    record_saved(formset, new=new, changed=changed, deleted=deleted)
