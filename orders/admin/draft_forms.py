"""The forms of the draft builder: the buyer picked by company and e-mail (or created in
place), lines by SKU with the customization fields the product defines, and the
checks that show every problem of a draft at once."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Q

from core.addresses import clean_postal_address
from core.errors import DomainError
from core.money import format_money
from customers.models import Company, Customer
from customers.selectors import get_default_shipping_address
from inventory.models import Product

from ..drafts import default_shipping_method_code
from ..forms import (
    BaseDraftLineFormSet,
    DraftLineForm,
    DraftOrderForm,
    add_domain_error,
    address_initial,
    find_customer,
)
from ..placement import OrderRequest, clean_customization

CUSTOM_PREFIX = "custom-"


def find_company(text: str) -> Company | None:
    """A company by its account number, or by its exact name (any case)."""
    text = text.strip()
    if not text:
        return None
    return (
        Company.objects.filter(Q(account_number__iexact=text) | Q(name__iexact=text))
        .order_by("pk")
        .first()
    )


class DraftBuilderForm(DraftOrderForm):
    """``DraftOrderForm`` with the company to pick the buyer from and a buyer created in
    place: an e-mail no customer has, with the new buyer's name, makes a new customer
    (of the company, if one is chosen) when the draft is saved."""

    company = forms.CharField(
        label="Company",
        max_length=200,
        required=False,
        help_text="Type a company's name or account number; its buyers are then offered.",
    )
    customer = forms.CharField(  # type: ignore[assignment]  # an e-mail, resolved in clean()
        label="Buyer",
        max_length=254,
        help_text="Type a name or an e-mail and pick the buyer.",
    )
    new_buyer = forms.BooleanField(
        label="Create this buyer", required=False, help_text="The e-mail is not a customer yet."
    )
    new_first_name = forms.CharField(label="First name", max_length=100, required=False)
    new_last_name = forms.CharField(label="Last name", max_length=100, required=False)
    new_phone = forms.CharField(label="Phone", max_length=32, required=False)

    field_order = ("company", "customer", *DraftOrderForm.field_order[1:])
    BUYER_FIELDS = ("company", "customer")
    NEW_BUYER_FIELDS = ("new_buyer", "new_first_name", "new_last_name", "new_phone")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("company", "customer"):
            self.fields[name].widget.attrs.update(
                {"autocomplete": "off", "data-lookup": name, "list": f"draft-{name}-options"}
            )
        self.new_customer: Customer | None = None

    def clean_company(self) -> Company | None:
        text = self.cleaned_data.get("company", "")
        if not text:
            return None
        company = find_company(text)
        if company is None:
            raise ValidationError(f"No company {text}.", code="unknown_company")
        if not company.is_active:
            raise ValidationError(f"{company.name} is inactive.", code="inactive_company")
        return company

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        email = str(self.data.get("customer", "")).strip()
        company: Company | None = cleaned.get("company")
        if "customer" in self.errors or not email:
            return cleaned
        customer = find_customer(email)
        if customer is None and not cleaned.get("new_buyer"):
            self.add_error(
                "customer",
                f"No customer with e-mail {email}: pick one, or tick "
                "“Create this buyer” and give the name.",
            )
        elif customer is None:
            self._new_buyer(email, company, cleaned)
        elif not customer.is_active:
            self.add_error("customer", f"Customer {email} is inactive.")
        elif company is not None and customer.company_id != company.pk:
            self.add_error("customer", f"{customer.full_name} is not a buyer of {company.name}.")
        else:
            cleaned["customer"] = customer
        return cleaned

    def _new_buyer(self, email: str, company: Company | None, cleaned: dict[str, Any]) -> None:
        if "@" not in email:
            self.add_error("customer", "Enter the new buyer's e-mail address.")
            return
        for name in ("new_first_name", "new_last_name"):
            if not str(cleaned.get(name) or "").strip():
                self.add_error(name, "Required for a new buyer.")
        if self.errors.get("new_first_name") or self.errors.get("new_last_name"):
            return
        # Not saved: the draft's preview prices it; saving creates it with the draft.
        self.new_customer = Customer(
            email=email,
            first_name=cleaned["new_first_name"].strip(),
            last_name=cleaned["new_last_name"].strip(),
            phone=cleaned.get("new_phone", "").strip(),
            company=company,
            company_role="buyer" if company else "",
        )
        cleaned["customer"] = self.new_customer

    def buyer_sections(self) -> list[forms.BoundField]:
        return [self[n] for n in self.BUYER_FIELDS]

    def new_buyer_fields(self) -> list[forms.BoundField]:
        return [self[n] for n in self.NEW_BUYER_FIELDS]


class BuilderLineForm(DraftLineForm):
    """A line: the SKU (looked up as typed), the quantity, and one text field per
    customization the product defines (``lines-0-custom-engraving``). The JSON field
    stays, hidden, for what the per-field inputs do not carry."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customization"].widget = forms.HiddenInput()
        self.fields["sku"].widget.attrs.update(
            {"autocomplete": "off", "data-lookup": "product", "list": "draft-product-options"}
        )
        self.product: Product | None = None

    def custom_values(self) -> dict[str, str]:
        """The per-field customization inputs posted for this line."""
        start = f"{self.prefix}-{CUSTOM_PREFIX}"
        if not self.is_bound:
            return {str(k): str(v) for k, v in (self.initial.get("customization") or {}).items()}
        return {
            key[len(start) :]: str(value).strip()
            for key, value in self.data.items()
            if key.startswith(start) and str(value).strip()
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        values = self.custom_values()
        if values:
            cleaned["customization"] = {**(cleaned.get("customization") or {}), **values}
            if not cleaned.get("sku") and "sku" not in self.errors:
                self.add_error("sku", "Enter a SKU.")
        return cleaned

    def custom_inputs(self) -> list[dict[str, str]]:
        """The customization inputs to show: the product's fields, with their values."""
        values = self.custom_values()
        names = list(self.product.customization_fields) if self.product else []
        names += [n for n in values if n not in names]
        return [
            {
                "name": name,
                "label": name.replace("_", " ").capitalize(),
                "input_name": f"{self.prefix}-{CUSTOM_PREFIX}{name}",
                "value": values.get(name, ""),
            }
            for name in names
        ]


BuilderLineFormSet = cast(
    "type[BaseDraftLineFormSet]",
    forms.formset_factory(
        BuilderLineForm,
        formset=BaseDraftLineFormSet,
        extra=3,
        max_num=settings.OMS_MAX_ORDER_LINES,
        validate_max=True,
    ),
)


def attach_products(formset: BaseDraftLineFormSet) -> dict[str, Product]:
    """Load the products the lines name (one query) and hang each on its line form."""
    typed = {form.prefix: _typed_sku(form) for form in formset.forms}
    wanted = set(typed.values()) - {""}
    products = {p.sku: p for p in Product.objects.filter(sku__in=wanted)} if wanted else {}
    for form in formset.forms:
        cast(BuilderLineForm, form).product = products.get(typed[form.prefix])
    return products


def _typed_sku(form: forms.Form) -> str:
    raw = form.data.get(f"{form.prefix}-sku", "") if form.is_bound else form.initial.get("sku")
    return str(raw or "").strip().upper()


def check_lines(formset: BaseDraftLineFormSet, products: dict[str, Product]) -> None:
    """Every line's own problems, whatever else is wrong with the draft: an unknown or
    unsold SKU, a customization the product does not take."""
    for index, form in enumerate(formset.forms):
        data = getattr(form, "cleaned_data", None) or {}
        sku = data.get("sku")
        if not sku or "sku" in form.errors:
            continue
        product = products.get(sku)
        if product is None:
            form.add_error("sku", "Unknown SKU.")
        elif not product.is_active:
            form.add_error("sku", "Not sold any more.")
        elif "customization" not in form.errors:
            try:
                clean_customization(index, product, data.get("customization") or {})
            except DomainError as exc:
                form.add_error("customization", exc.message)


def check_rules(form: DraftBuilderForm) -> None:
    """The company's PO rule, shown with the rest (placement would refuse it alone)."""
    customer = form.cleaned_data.get("customer") if hasattr(form, "cleaned_data") else None
    company = customer.company if isinstance(customer, Customer) else None
    missing = not str(form.data.get("po_number", "")).strip()
    if company is not None and company.po_required and missing and "po_number" not in form.errors:
        form.add_error("po_number", f"{company.name} requires a PO number on every order.")


def check_address(form: DraftBuilderForm) -> None:
    """The ship-to, checked as placement checks it, whatever else is wrong."""
    cleaned = getattr(form, "cleaned_data", None) or {}
    method = cleaned.get("shipping_method")
    if method is None or method.is_pickup or form.errors.get("ship_postal_code"):
        return
    address = form.address()
    if not any(address.values()):
        return  # "A shipping address is required" comes from placement, alone
    try:
        clean_postal_address(address)
    except DomainError as exc:
        add_domain_error(form, exc, field_names=form.field_errors_map())


def validate_builder(form: DraftBuilderForm, formset: BaseDraftLineFormSet) -> bool:
    """Validate the whole draft and show every problem at once: the fields, each
    line, the company's rules. True when the draft may be built."""
    form_ok = form.is_valid()
    lines_ok = formset.is_valid()
    products = attach_products(formset)
    check_lines(formset, products)
    check_rules(form)
    check_address(form)
    return form_ok and lines_ok and not form.errors and not any(f.errors for f in formset.forms)


def show_refusal(form: DraftBuilderForm, formset: BaseDraftLineFormSet, exc: DomainError) -> None:
    add_domain_error(
        form, exc, field_names=form.field_errors_map(), line_forms=formset.filled_forms()
    )


def builder_request(
    form: DraftBuilderForm, formset: BaseDraftLineFormSet, *, channel: str, placed_by: Any
) -> OrderRequest:
    return form.order_request(
        [f.line_request() for f in formset.filled_forms()], channel=channel, placed_by=placed_by
    )


def builder_problems(form: DraftBuilderForm, formset: BaseDraftLineFormSet) -> list[str]:
    """Every problem of the draft, each with where it is: "PO number: ...", "Line 2,
    SKU: ..."; the live check lists them all at once."""
    problems = [str(e) for e in form.non_field_errors()]
    for name, errors in form.errors.items():
        if name != NON_FIELD_ERRORS:
            label = form.fields[name].label or name.replace("_", " ").capitalize()
            problems.extend(f"{label}: {e}" for e in errors)
    problems.extend(str(e) for e in formset.non_form_errors())
    for number, line in enumerate(formset.forms, start=1):
        for name, errors in line.errors.items():
            field = line.fields.get(name)
            label = (field.label if field else "") or name.replace("_", " ").capitalize()
            problems.extend(f"Line {number}, {label}: {e}" for e in errors)
    return problems


# --- what the builder offers as the rep types -------------------------------------------

LOOKUP_LIMIT = 10


def _query(params: Any) -> str:
    return str(params.get("q", "")).strip()[:100]


def lookup_companies(params: Any) -> list[dict[str, Any]]:
    text = _query(params)
    companies = Company.objects.filter(is_active=True)
    if text:
        companies = companies.filter(Q(name__icontains=text) | Q(account_number__istartswith=text))
    return [
        {"value": c.account_number, "label": c.name}
        for c in companies.order_by("name")[:LOOKUP_LIMIT]
    ]


def lookup_buyers(params: Any) -> list[dict[str, Any]]:
    """Active customers by name, e-mail or company name; only the buyers of
    ``company`` when one is given."""
    text = _query(params)
    buyers = Customer.objects.filter(is_active=True).select_related("company")
    company = find_company(str(params.get("company", "")))
    if company is not None:
        buyers = buyers.filter(company=company)
    for word in text.split()[:4]:
        buyers = buyers.filter(
            Q(email__icontains=word)
            | Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(company__name__icontains=word)
        )
    return [
        {
            "value": b.email,
            "label": f"{b.full_name}" + (f" · {b.company.name}" if b.company else " · consumer"),
        }
        for b in buyers.order_by("last_name", "first_name", "pk")[:LOOKUP_LIMIT]
    ]


def lookup_buyer(params: Any) -> list[dict[str, Any]]:
    """One buyer's defaults for a new draft: company, ship-to, shipping method."""
    customer = find_customer(str(params.get("q", "")))
    if customer is None:
        return []
    address = get_default_shipping_address(customer)
    return [
        {
            "value": customer.email,
            "label": customer.full_name,
            "company": customer.company.account_number if customer.company else "",
            "shipping_method": default_shipping_method_code(customer),
            "address": address_initial(address) if address is not None else {},
        }
    ]


def lookup_company(params: Any) -> list[dict[str, Any]]:
    """One company's defaults for a new draft picked before its buyer: the shipping
    method it starts with (its default, else its latest order's, else the cheapest)."""
    company = find_company(str(params.get("q", "")))
    if company is None:
        return []
    return [
        {
            "value": company.account_number,
            "label": company.name,
            "shipping_method": default_shipping_method_code(None, company),
        }
    ]


def lookup_products(params: Any) -> list[dict[str, Any]]:
    """Products on sale by SKU (from its start) or name, with their customization."""
    text = _query(params)
    if not text:
        return []
    products = Product.objects.filter(is_active=True).filter(
        Q(sku__istartswith=text) | Q(name__icontains=text)
    )
    return [
        {
            "value": p.sku,
            "label": f"{p.name} · {format_money(p.list_price, p.currency)}",
            "fields": list(p.customization_fields) if p.is_customizable else [],
        }
        for p in products.order_by("sku")[:LOOKUP_LIMIT]
    ]
