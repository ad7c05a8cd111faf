"""API keys for B2B clients and partners: issued once (the secret shown on one page),
then only revoked.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from core.admin import (
    ConfirmForm,
    OperatorAdminMixin,
    admin_changelist_url,
    adopt_saved,
    count_of,
    run_action_with_form,
    run_on_rows,
)
from inventory.models import LocationKind

from ..api_keys import (
    create_api_key,
    create_erp_api_key,
    create_vendor_api_key,
    revoke_api_key,
)
from ..models import ApiKey, Company, Customer

# Locations that may hold a vendor API key (they confirm their own fulfillment orders).
VENDOR_KINDS = (LocationKind.DROPSHIP_VENDOR, LocationKind.THIRD_PARTY)


class ApiKeyIssueForm(forms.ModelForm):
    """Who a new key is for: a company (and the buyer its orders are recorded for), a
    dropship vendor / 3PL, or an ERP. Only the services create the key and its
    secret."""

    class Meta:
        model = ApiKey
        fields = ("company", "buyer", "vendor", "is_erp", "name")
        labels = {"is_erp": "ERP key"}
        help_texts = {
            "company": "For B2B ordering. Leave empty for a vendor or ERP key.",
            "buyer": "Empty: the company's first active buyer.",
            "vendor": "A dropship vendor or 3PL confirming its fulfillment orders.",
            "is_erp": "For an ERP or back-office system: records purchase orders and their "
            "deliveries for every location, and nothing else (no orders, no fulfillment). "
            "Leave the company and vendor empty.",
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
        if cleaned.get("is_erp"):
            if company is not None or vendor is not None:
                self.add_error(
                    "is_erp",
                    "An ERP key is for every location, not for a company or a vendor: "
                    "leave those empty.",
                )
            elif buyer is not None:
                self.add_error("buyer", "An ERP key places no orders; leave the buyer empty.")
        elif company is not None and vendor is not None:
            # On a field, so that the model's own one-kind constraint is not reported a
            # second time in its raw wording.
            self.add_error("vendor", "A key is for either a company or a vendor.")
        elif company is None and vendor is None:
            self.add_error(
                "vendor", "Choose the company or the vendor the key is for, or tick “ERP key”."
            )
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


def key_owner(api_key: ApiKey) -> str:
    """Who or what a key is for, in words."""
    if api_key.is_erp:
        return "ERP (purchase orders of every location)"
    if api_key.is_storefront:
        return "Web storefront"
    return str(api_key.company or api_key.vendor or "-")


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
            return ("company", "buyer", "vendor", "is_erp", "name")
        return (
            "name",
            "company",
            "buyer",
            "vendor",
            "is_erp",
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
        return key_owner(obj)

    @admin.display(description="State")
    def state(self, obj: ApiKey) -> str:
        return "Active" if obj.is_active else "Revoked"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if data["is_erp"]:
            issued = create_erp_api_key(name=data["name"])
        elif data["vendor"] is not None:
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
            "title": f"API key issued for {key_owner(obj)}",
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
