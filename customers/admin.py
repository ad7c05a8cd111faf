"""Operator console for companies, customers, their addresses, preferences and notes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.http import urlencode
from simple_history.admin import SimpleHistoryAdmin

from inventory.models import LocationKind
from oms.core.actors import Actor
from oms.core.admin import (
    ConfirmForm,
    OperatorAdminMixin,
    ReadOnlyInlineMixin,
    admin_change_url,
    admin_changelist_url,
    adopt_saved,
    count_of,
    render_table,
    run_action_with_form,
    run_on_rows,
    short_datetime,
)
from oms.core.errors import InvalidInput
from oms.core.money import format_money

from . import services
from .api_keys import create_api_key, create_vendor_api_key, revoke_api_key
from .models import (
    Address,
    ApiKey,
    Company,
    Customer,
    CustomerNote,
    NotificationPreference,
    PriceList,
    PriceListEntry,
)

# Locations that may hold a vendor API key (they confirm their own fulfillment orders).
VENDOR_KINDS = (LocationKind.DROPSHIP_VENDOR, LocationKind.THIRD_PARTY)
# Orders listed on a customer's page; the full list is one click away.
RECENT_ORDERS = 20
# Notes shown on a customer's page, newest first.
RECENT_NOTES = 50


class PostalAddressForm(forms.ModelForm):
    """A model form for anything with a postal address (saved addresses, locations).

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
        address_fields = [*services.ADDRESS_FIELDS, "latitude", "longitude"]
        if any(name in self.errors for name in address_fields):
            return cleaned
        data = {
            name: cleaned.get(name, getattr(self.instance, name, "")) for name in address_fields
        }
        try:
            normalised = services.clean_postal_address(data)
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


class AddressForm(PostalAddressForm):
    class Meta:
        model = Address
        fields = (
            "customer",
            "company",
            "kind",
            "is_default",
            "name",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
            "latitude",
            "longitude",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        # One owner (customer or company) is the model's rule, worded in
        # ``Address.validate_constraints``.
        self._check_single_default(cleaned)
        return cleaned

    def _check_single_default(self, cleaned: dict[str, Any]) -> None:
        # A new address made default takes the place of the old default (the service
        # does that); an edited one must not silently create a second default.
        if self.instance.pk is None or not cleaned.get("is_default"):
            return
        owner = (
            {"customer_id": self.instance.customer_id}
            if self.instance.customer_id
            else {"company_id": self.instance.company_id}
        )
        others = Address.objects.filter(kind=cleaned.get("kind"), is_default=True, **owner).exclude(
            pk=self.instance.pk
        )
        if others.exists():
            self.add_error(
                "is_default",
                "Another address of this kind is the default; untick it and save first.",
            )


def _record_saved(formset: Any, *, new: list[Any], changed: list[Any], deleted: list[Any]) -> None:
    """What ``formset.save()`` would have recorded; the admin's history message reads it."""
    formset.new_objects = new
    formset.changed_objects = [(form.instance, form.changed_data) for form in changed]
    formset.deleted_objects = deleted


def save_addresses(
    formset: BaseInlineFormSet, *, customer: Customer | None, company: Company | None
) -> None:
    """New addresses go through ``add_address``; edits and deletions save as usual."""
    new, changed, deleted = [], [], []
    for form in formset.initial_forms:
        if form in formset.deleted_forms:
            deleted.append(form.instance)
            form.instance.delete()
        elif form.has_changed():
            form.save()
            changed.append(form)
    for form in formset.extra_forms:
        if not form.has_changed() or form in formset.deleted_forms:
            continue
        data = form.cleaned_data
        new.append(
            services.add_address(
                kind=data["kind"],
                data=data,
                customer=customer,
                company=company,
                make_default=data["is_default"],
            )
        )
    _record_saved(formset, new=new, changed=changed, deleted=deleted)


class AddressInline(admin.StackedInline):
    model = Address
    form = AddressForm
    extra = 0
    fields = (
        ("kind", "is_default"),
        "name",
        ("line1", "line2"),
        ("city", "region", "postal_code", "country"),
        "phone",
        ("latitude", "longitude"),
    )


class CompanyAddressInline(AddressInline):
    fk_name = "company"


class CustomerAddressInline(AddressInline):
    fk_name = "customer"


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
            "is_active",
        )

    def clean_account_number(self) -> str:
        return str(self.cleaned_data["account_number"]).strip().upper()


@admin.register(Company)
class CompanyAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    form = CompanyAdminForm
    list_select_related = ("price_list",)
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
                )
            },
        ),
        ("Prices and tax", {"fields": ("price_list", "tax_exempt", "tax_exemption_number")}),
        ("Record", {"fields": ("orders_link", "buyers_link", "created_at", "updated_at")}),
    )
    inlines = (CompanyAddressInline, BuyerInline)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = ("orders_link", "buyers_link", "created_at", "updated_at")
        return ("account_number", *readonly) if obj is not None else readonly

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Company], search_term: str
    ) -> tuple[QuerySet[Company], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(account_number=term.upper()) | Q(name__icontains=term)), False

    @admin.display(description="Orders")
    def orders_link(self, obj: Company) -> str:
        if obj.pk is None:
            return "-"
        from orders.models import Order

        url = admin_changelist_url(Order, urlencode({"company__id__exact": obj.pk}))
        return format_html('<a href="{}">Orders of {}</a>', url, obj.name)

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
        extra = {"price_list": data["price_list"], "is_active": data["is_active"]}
        if extra != {"price_list": None, "is_active": True}:
            for name, value in extra.items():
                setattr(created, name, value)
            created.save(update_fields=[*extra, "updated_at"])
        adopt_saved(obj, created)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is Address:
            save_addresses(formset, customer=None, company=form.instance)
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

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("company") is None and cleaned.get("company_role"):
            self.add_error("company_role", "Only a company buyer has a company role.")
        if cleaned.get("company") is not None and not cleaned.get("company_role"):
            self.add_error("company_role", "A company buyer needs a role.")
        return cleaned


@admin.register(Customer)
class CustomerAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
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
    search_fields = ("email", "phone", "company__account_number")
    search_help_text = "Exact e-mail, phone number or company account number."
    raw_id_fields = ("company",)
    change_select_related = ("company",)
    fieldsets = (
        (None, {"fields": ("email", ("first_name", "last_name"), "phone", "is_active")}),
        ("Company", {"fields": ("company", "company_role")}),
        ("Orders", {"fields": ("recent_orders",)}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = ("recent_orders", "created_at", "updated_at")
    inlines = (CustomerAddressInline, NotificationPreferenceInline, CustomerNoteInline)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # Each branch matches an index: lower(email) (the unique constraint), phone, and
        # the company's account number through an id subquery.
        companies = Company.objects.filter(account_number=term.upper()).values("pk")
        found = queryset.alias(email_lower=Lower("email")).filter(
            Q(email_lower=term.lower()) | Q(phone=term) | Q(company__in=companies)
        )
        return found, False

    @admin.display(description="Name", ordering="last_name")
    def full_name(self, obj: Customer) -> str:
        return obj.full_name

    @admin.display(description="Latest orders")
    def recent_orders(self, obj: Customer) -> str:
        if obj.pk is None:
            return "-"
        from orders.models import Order

        orders = Order.objects.filter(customer=obj).order_by("-id")[:RECENT_ORDERS]
        table = render_table(
            ("Order", "Status", "Fulfillment", "Total", "Created"),
            (
                (
                    format_html('<a href="{}">{}</a>', admin_change_url(order), order.number),
                    order.get_status_display(),
                    order.get_fulfillment_status_display(),
                    format_money(order.grand_total, order.currency),
                    short_datetime(order.created_at),
                )
                for order in orders
            ),
        )
        url = admin_changelist_url(Order, urlencode({"customer__id__exact": obj.pk}))
        return format_html('{}<p><a href="{}">All orders of this customer</a></p>', table, url)

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
            _record_saved(formset, new=notes, changed=[], deleted=[])
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
        _record_saved(formset, new=new, changed=changed, deleted=deleted)


# --- addresses ------------------------------------------------------------------------


@admin.register(Address)
class AddressAdmin(OperatorAdminMixin, admin.ModelAdmin):
    form = AddressForm
    list_display = ("one_line", "kind", "is_default", "customer", "company", "created_at")
    list_select_related = ("customer", "company")
    list_filter = ("kind", "is_default")
    search_fields = ("customer__email", "company__account_number", "postal_code")
    search_help_text = "Exact customer e-mail, company account number or postal code."
    raw_id_fields = ("customer", "company")
    change_select_related = ("customer", "company")
    readonly_fields = ("created_at", "updated_at")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Address], search_term: str
    ) -> tuple[QuerySet[Address], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = (
            Customer.objects.alias(email_lower=Lower("email"))
            .filter(email_lower=term.lower())
            .values("pk")
        )
        companies = Company.objects.filter(account_number=term.upper()).values("pk")
        found = queryset.filter(
            Q(customer__in=customers) | Q(company__in=companies) | Q(postal_code=term)
        )
        return found, False

    @admin.display(description="Address")
    def one_line(self, obj: Address) -> str:
        return obj.one_line()

    def save_model(self, request: HttpRequest, obj: Address, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        created = services.add_address(
            kind=data["kind"],
            data=data,
            customer=data["customer"],
            company=data["company"],
            make_default=data["is_default"],
        )
        adopt_saved(obj, created)


# --- price lists ----------------------------------------------------------------------


class PriceListEntryInline(admin.TabularInline):
    model = PriceListEntry
    fields = ("product", "min_quantity", "unit_price")
    raw_id_fields = ("product",)
    extra = 0

    def get_queryset(self, request: HttpRequest) -> QuerySet[PriceListEntry]:
        return super().get_queryset(request).select_related("product")


@admin.register(PriceList)
class PriceListAdmin(OperatorAdminMixin, SimpleHistoryAdmin):
    list_display = ("code", "name", "currency", "is_active")
    list_filter = ("is_active", "currency")
    search_fields = ("code", "name")
    inlines = (PriceListEntryInline,)


# --- API keys -------------------------------------------------------------------------


class ApiKeyIssueForm(forms.ModelForm):
    """Who a new key is for: a company (and the buyer its orders are recorded for) or a
    dropship vendor / 3PL. Only the services create the key and its secret."""

    class Meta:
        model = ApiKey
        fields = ("company", "buyer", "vendor", "name")
        help_texts = {
            "company": "For B2B ordering. Leave empty for a vendor key.",
            "buyer": "Empty: the company's first active buyer.",
            "vendor": "A dropship vendor or 3PL confirming its fulfillment orders.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        vendor = self.fields.get("vendor")
        if isinstance(vendor, forms.ModelChoiceField):  # absent on an issued key's page
            vendor.queryset = vendor.queryset.filter(kind__in=VENDOR_KINDS)  # type: ignore[union-attr]

    def clean(self) -> dict[str, Any]:
        # The same refusals as the issuing services, checked before they run so that
        # they come back as form errors rather than after the form has been accepted.
        cleaned: dict[str, Any] = super().clean() or {}
        company, buyer, vendor = (cleaned.get(f) for f in ("company", "buyer", "vendor"))
        if (company is None) == (vendor is None):
            # On a field, so that the model's own company-or-vendor constraint is not
            # reported a second time in its raw wording.
            self.add_error("vendor", "A key is for either a company or a vendor.")
        elif company is not None:
            self._check_company_key(company, buyer, cleaned)
        elif buyer is not None:
            self.add_error("buyer", "A vendor key places no orders; leave the buyer empty.")
        return cleaned

    def _check_company_key(
        self, company: Company, buyer: Customer | None, cleaned: dict[str, Any]
    ) -> None:
        if not company.is_active:
            self.add_error("company", f"{company.name} is not active.")
        elif buyer is not None and buyer.company_id != company.pk:
            self.add_error("buyer", f"{buyer.email} is not a buyer of {company.name}.")
        elif buyer is None:
            # The service's default, chosen here so the row validates with its buyer.
            cleaned["buyer"] = company.buyers.filter(is_active=True).order_by("id").first()
            if cleaned["buyer"] is None:
                self.add_error("buyer", f"{company.name} has no buyer to place orders for.")


class ApiKeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(OperatorAdminMixin, admin.ModelAdmin):
    form = ApiKeyIssueForm
    list_display = (
        "name",
        "owner",
        "buyer",
        "prefix",
        "state",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_select_related = ("company", "buyer", "vendor")
    list_filter = (ApiKeyStateFilter,)
    search_fields = ("prefix", "company__account_number", "vendor__code")
    search_help_text = "Exact key prefix, company account number or vendor location code."
    raw_id_fields = ("company", "buyer")
    change_select_related = ("company", "buyer", "vendor")
    actions = ("revoke_keys",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("company", "buyer", "vendor", "name")
        return (
            "name",
            "company",
            "buyer",
            "vendor",
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
        )

    # A key is issued once and then only revoked; its hash is never shown or edited.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ApiKey], search_term: str
    ) -> tuple[QuerySet[ApiKey], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        companies = Company.objects.filter(account_number=term.upper()).values("pk")
        found = queryset.filter(
            Q(prefix=term.lower()) | Q(company__in=companies) | Q(vendor__code=term.upper())
        )
        return found, False

    @admin.display(description="For")
    def owner(self, obj: ApiKey) -> str:
        return str(obj.company or obj.vendor or "-")

    @admin.display(description="State")
    def state(self, obj: ApiKey) -> str:
        return "Active" if obj.is_active else "Revoked"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if data["vendor"] is not None:
            issued = create_vendor_api_key(vendor=data["vendor"], name=data["name"])
        else:
            issued = create_api_key(company=data["company"], name=data["name"], buyer=data["buyer"])
        adopt_saved(obj, issued.api_key)
        request._oms_issued_key = issued.raw_key  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        # The secret is shown on this one page and nowhere else: not in a message (which
        # would sit in a cookie or the session) and never in the database.
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"API key issued for {obj.company or obj.vendor}",
            "api_key": obj,
            "raw_key": getattr(request, "_oms_issued_key", ""),
            "changelist_url": admin_changelist_url(ApiKey),
        }
        return TemplateResponse(request, "admin/customers/apikey/issued.html", context)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("customers.change_apikey")

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> HttpResponse | None:
        def apply(form: forms.Form) -> None:
            active = queryset.filter(revoked_at__isnull=True).order_by("pk")
            run_on_rows(
                self,
                request,
                ((pk, f"Key {name}") for pk, name in active.values_list("pk", "name")),
                lambda key_id: revoke_api_key(api_key_id=key_id),
                done_message=lambda outcome: f"Revoked {count_of(outcome.done, 'key')}.",
                nothing_message="Every selected key was already revoked.",
            )

        return run_action_with_form(
            self,
            request,
            queryset,
            form_class=ConfirmForm,
            title="Revoke API keys",
            submit_label="Revoke",
            apply=apply,
        )
