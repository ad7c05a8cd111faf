"""Saved addresses in the console: their form (on the shared ``PostalAddressForm``) and
the address pages of customers and companies.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from core.admin import OperatorAdminMixin, PostalAddressForm, adopt_saved

from .. import services
from ..models import Address, Company, Customer


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


def record_saved(formset: Any, *, new: list[Any], changed: list[Any], deleted: list[Any]) -> None:
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
    record_saved(formset, new=new, changed=changed, deleted=deleted)


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
