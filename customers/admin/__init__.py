"""Operator console for companies, customers, their addresses, preferences and notes.

The company and customer pages live here; addresses, price lists and API keys have
modules of their own, imported below so that their admins register. Orders sit above
customers, so the order sections of these pages (the company's orders link, the
customer's latest orders) are added by orders' admin, which subclasses the admins below
and registers the subclasses in their place.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.http import urlencode
from simple_history.admin import SimpleHistoryAdmin

from core.actors import Actor
from core.admin import (
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    admin_changelist_url,
    adopt_saved,
)
from core.phones import InvalidPhone, normalise_phone
from core.search import SearchTerm
from shipping.models import ServiceLevel, ShippingMethod

from .. import services
from ..models import Address, Company, Customer, CustomerNote, NotificationPreference
from ..notification_models import CompanyContact
from ..search import matching_customer_ids
from . import api_keys, price_lists  # noqa: F401 - their admins register on import
from .addresses import (
    CompanyAddressInline,
    CustomerAddressInline,
    record_saved,
    save_addresses,
)
from .contacts import CompanyContactInline, save_contacts
from .store_credit import StoreCreditAdminMixin

# Notes shown on a customer's page, newest first.
RECENT_NOTES = 50

# --- companies ------------------------------------------------------------------------


class BuyerInline(ReadOnlyInlineMixin, admin.TabularInline):
    model = Customer
    fk_name = "company"
    verbose_name = "buyer"
    fields = ("email", "first_name", "last_name", "phone", "company_role", "is_active")
    readonly_fields = fields
    show_change_link = True
    max_rows = 100
    newest_first = ("-id",)


class CompanyAdminForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = (
            "account_number",
            "name",
            "payment_terms",
            "currency",
            "credit_limit",
            "approval_threshold",
            "po_required",
            "allow_backorders",
            "tax_exempt",
            "tax_exemption_number",
            "price_list",
            "default_shipping_method",
            "is_active",
        )
        labels = {"default_shipping_method": "Default shipping method"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        method = self.fields.get("default_shipping_method")
        if isinstance(method, forms.ModelChoiceField):
            # Offered: the methods a draft can ship with as they stand (active, and not
            # a store pickup, which needs a store the company's default cannot name),
            # plus the current one so that the page shows it even once retired.
            offered = Q(is_active=True) & ~Q(service_level=ServiceLevel.PICKUP)
            if self.instance.default_shipping_method_id is not None:
                offered |= Q(pk=self.instance.default_shipping_method_id)
            method.queryset = ShippingMethod.objects.filter(offered).order_by("price", "code")

    def clean_account_number(self) -> str:
        return str(self.cleaned_data["account_number"]).strip().upper()

    def clean_default_shipping_method(self) -> ShippingMethod | None:
        method: ShippingMethod | None = self.cleaned_data.get("default_shipping_method")
        if method is None:
            return None
        if method.is_pickup:
            raise forms.ValidationError(
                f"{method.name} is a store pickup, which needs a store for each order; "
                "choose a method that ships, or leave it empty."
            )
        if not method.is_active:
            raise forms.ValidationError(
                f"{method.name} is no longer offered; choose another, or leave it empty."
            )
        return method


@admin.register(Company)
class CompanyAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    form = CompanyAdminForm
    list_select_related = ("price_list", "default_shipping_method")
    list_display = (
        "account_number",
        "name",
        "payment_terms",
        "credit_limit",
        "currency",
        "po_required",
        "tax_exempt",
        "approval_threshold",
        "price_list",
        "is_active",
    )
    list_filter = ("payment_terms", "is_active", "tax_exempt", "po_required", "allow_backorders")
    search_fields = ("account_number", "name")
    search_help_text = "Exact account number, or part of the name."
    fieldsets = (
        (None, {"fields": ("account_number", "name", "is_active")}),
        (
            "Terms",
            {
                "fields": (
                    "payment_terms",
                    "currency",
                    "credit_limit",
                    "approval_threshold",
                    "po_required",
                    "allow_backorders",
                    "default_shipping_method",
                )
            },
        ),
        ("Prices and tax", {"fields": ("price_list", "tax_exempt", "tax_exemption_number")}),
        ("Record", {"fields": ("buyers_link", "created_at", "updated_at")}),
    )
    inlines = (CompanyAddressInline, BuyerInline, CompanyContactInline)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = ("buyers_link", "created_at", "updated_at")
        return ("account_number", *readonly) if obj is not None else readonly

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Company], search_term: str
    ) -> tuple[QuerySet[Company], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(account_number=term.upper()) | Q(name__icontains=term)), False

    @admin.display(description="Buyers")
    def buyers_link(self, obj: Company) -> str:
        if obj.pk is None:
            return "-"
        url = admin_changelist_url(Customer, urlencode({"company__id__exact": obj.pk}))
        return format_html(
            '<a href="{}">All buyers</a> (the list below shows the newest {})',
            url,
            BuyerInline.max_rows,
        )

    def save_model(self, request: HttpRequest, obj: Company, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.create_company(
            account_number=data["account_number"],
            name=data["name"],
            payment_terms=data["payment_terms"],
            credit_limit=data["credit_limit"],
            currency=data["currency"],
            tax_exempt=data["tax_exempt"],
            tax_exemption_number=data["tax_exemption_number"],
            po_required=data["po_required"],
            approval_threshold=data["approval_threshold"],
            allow_backorders=data["allow_backorders"],
        )
        # What ``create_company`` does not take is saved on the new row right after.
        extra = {
            "price_list": data["price_list"],
            "default_shipping_method": data["default_shipping_method"],
            "is_active": data["is_active"],
        }
        if extra != {"price_list": None, "default_shipping_method": None, "is_active": True}:
            for name, value in extra.items():
                setattr(created, name, value)
            created.save(update_fields=[*extra, "updated_at"])
        adopt_saved(obj, created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is Address:
            save_addresses(formset, customer=None, company=form.instance)
        elif formset.model is CompanyContact:
            save_contacts(formset, company=form.instance)
        else:
            super().save_formset(request, form, formset, change)


# --- customers ------------------------------------------------------------------------


class NotificationPreferenceForm(forms.ModelForm):
    class Meta:
        model = NotificationPreference
        fields = ("event", "email", "sms")

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # The parent arrives with the values typed in the same save, so a phone number
        # added together with SMS is accepted.
        customer = cleaned.get("customer")
        if cleaned.get("sms") and customer is not None and not customer.phone:
            self.add_error("sms", "SMS needs a phone number on the customer.")
        return cleaned


class NotificationPreferenceInline(admin.TabularInline):
    model = NotificationPreference
    form = NotificationPreferenceForm
    extra = 0
    verbose_name_plural = "notification preferences (no row: e-mail on, SMS off)"

    # Adding or removing a row is changing the customer's preference.
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("customers.change_notificationpreference")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("customers.change_notificationpreference")


class CustomerNoteInline(admin.TabularInline):
    """Notes are append-only: old ones are shown, a new one is written by the service."""

    model = CustomerNote
    fk_name = "customer"
    extra = 1
    can_delete = False
    fields = ("created_at", "author", "body")
    readonly_fields = ("created_at", "author")
    max_rows = RECENT_NOTES
    newest_first = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CustomerNote]:
        return super().get_queryset(request).select_related("author")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CustomerKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("b2c", "Consumer (B2C)"), ("b2b", "Company buyer (B2B)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "b2c":
            return queryset.filter(company__isnull=True)
        if self.value() == "b2b":
            return queryset.filter(company__isnull=False)
        return queryset


class CustomerAdminForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = (
            "email",
            "first_name",
            "last_name",
            "phone",
            "company",
            "company_role",
            "is_active",
        )

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip()
        taken = (
            Customer.objects.alias(email_lower=Lower("email"))
            .filter(email_lower=email.lower())
            .exclude(pk=self.instance.pk)
        )
        if taken.exists():
            raise forms.ValidationError("A customer with this e-mail address already exists.")
        return email

    def clean_phone(self) -> str:
        # Stored in E.164: text messages need it.
        try:
            return normalise_phone(str(self.cleaned_data.get("phone") or ""))
        except InvalidPhone as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("company") is None and cleaned.get("company_role"):
            self.add_error("company_role", "Only a company buyer has a company role.")
        if cleaned.get("company") is not None and not cleaned.get("company_role"):
            self.add_error("company_role", "A company buyer needs a role.")
        return cleaned


@admin.register(Customer)
class CustomerAdmin(StoreCreditAdminMixin, OperatorAdminMixin, SimpleHistoryAdmin):
    form = CustomerAdminForm
    list_display = (
        "email",
        "full_name",
        "phone",
        "company",
        "company_role",
        "is_active",
        "created_at",
    )
    list_select_related = ("company",)
    list_filter = (CustomerKindFilter, "is_active", "company_role", "created_at")
    search_fields = ("email",)  # shows the box; ``get_search_results`` does the search
    search_help_text = (
        "Name, part of the e-mail, phone (any format), company name or account number."
    )
    raw_id_fields = ("company",)
    change_select_related = ("company",)
    fieldsets = (
        (None, {"fields": ("email", ("first_name", "last_name"), "phone", "is_active")}),
        ("Company", {"fields": ("company", "company_role")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = ("created_at", "updated_at")
    inlines = (CustomerAddressInline, NotificationPreferenceInline, CustomerNoteInline)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        term = SearchTerm.parse(search_term)
        if not term:
            return queryset, False
        return queryset.filter(pk__in=matching_customer_ids(term)), False

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, obj: Customer) -> str:
        return obj.full_name

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.create_customer(
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            phone=data["phone"],
            company=data["company"],
            company_role=data["company_role"],
        )
        if not data["is_active"]:
            created.is_active = False
            created.save(update_fields=["is_active", "updated_at"])
        adopt_saved(obj, created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        customer = form.instance
        if formset.model is Address:
            save_addresses(formset, customer=customer, company=None)
        elif formset.model is NotificationPreference:
            self._save_preferences(formset, customer)
        elif formset.model is CustomerNote:
            notes = [
                services.add_customer_note(
                    customer=customer,
                    body=note_form.cleaned_data["body"],
                    actor=Actor.for_user(request.user),
                )
                for note_form in formset.extra_forms
                if note_form.has_changed()
            ]
            record_saved(formset, new=notes, changed=[], deleted=[])
        else:
            super().save_formset(request, form, formset, change)

    @staticmethod
    def _save_preferences(formset: Any, customer: Customer) -> None:
        new, changed, deleted = [], [], []
        for pref_form in formset.forms:
            if pref_form in formset.deleted_forms:
                # No row means the default again (e-mail on, SMS off).
                if pref_form.instance.pk is not None:
                    deleted.append(pref_form.instance)
                    pref_form.instance.delete()
                continue
            if not pref_form.has_changed():
                continue
            data = pref_form.cleaned_data
            if pref_form.instance.pk is not None and "event" in pref_form.changed_data:
                # The row now speaks for another event; the old event falls back to the
                # default rather than keeping a stale choice.
                pref_form.instance.delete()
            saved = services.set_notification_preference(
                customer=customer, event=data["event"], email=data["email"], sms=data["sms"]
            )
            if pref_form.instance.pk is None:
                new.append(saved)
            else:
                changed.append(pref_form)
        record_saved(formset, new=new, changed=changed, deleted=deleted)
