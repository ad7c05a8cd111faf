"""Orders placed on a customer's behalf: the draft builder (company and buyer picked as
the rep types, or the buyer created in place; lines by SKU or name with the product's
customization fields; prices, availability per location, the promise and the warnings
of submitting checked live, every problem at once), the same page to edit a saved
draft, and the draft's buttons: send it as a quote, reserve stock, submit, discard;
and "Order again" on any past order (``orders.drafts``, ``orders.quotes``;
``DRAFT_PAGES``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from core.actors import Actor
from core.admin import admin_change_url, admin_changelist_url, short_datetime
from core.errors import DomainError
from core.money import format_money
from customers.selectors import get_default_shipping_address
from customers.services import create_customer

from .. import drafts, quotes
from ..forms import (
    DRAFT_LINES_PREFIX,
    CancelReasonForm,
    ShippingAddressForm,
    address_initial,
    channel_for,
    find_customer,
)
from ..models import Order, OrderStatus, PaymentMethod
from ..placement import OrderRequest
from ..selectors import get_draft_preview
from .base import (
    PLACE_ON_BEHALF_PERMISSION,
    OrderPageForm,
    OrderPagesMixin,
    actor_of,
    staff_user,
)
from .draft_forms import (
    BuilderLineFormSet,
    DraftBuilderForm,
    attach_products,
    builder_problems,
    builder_request,
    find_company,
    lookup_buyer,
    lookup_buyers,
    lookup_companies,
    lookup_company,
    lookup_products,
    show_refusal,
    validate_builder,
)
from .tables import draft_lines_table, draft_preview_html

# The builder's delivery fields, and the empty line rows "Check" adds once all are used.
DRAFT_MAIN_FIELDS = ("shipping_method", "pickup_location")
DRAFT_EXTRA_ROWS = 3


class DraftPagesMixin(OrderPagesMixin):
    """The pages of drafts placed on a customer's behalf: the draft builder (new and
    edit), its live check and lookups, and the draft's buttons (``DRAFT_PAGES``)."""

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name

        def route(suffix: str, view: Callable[..., HttpResponse], name: str) -> URLPattern:
            return path(
                suffix, self.admin_site.admin_view(view), name="{}_{}_{}".format(*info, name)
            )

        # Ahead of Django's own patterns, whose "<path:object_id>/" would take them.
        return [
            route("draft-lookup/<str:kind>/", self.draft_lookup_view, "draft_lookup"),
            route("<path:object_id>/edit-draft/", self.edit_draft_view, "edit_draft"),
            *super().get_urls(),
        ]

    def draft_tools(self, request: HttpRequest, obj: Order) -> list[dict[str, str]]:
        """The order page's buttons of this module: on a draft "Edit draft" and "Send
        quote", on any other order "Order again"; for those who place orders on a
        customer's behalf."""
        if not request.user.has_perm(PLACE_ON_BEHALF_PERMISSION):
            return []

        def tool(slug: str, title: str) -> dict[str, str]:
            return {
                "url": reverse(f"admin:{self.page_url_name(slug)}", args=[obj.pk]),
                "title": title,
            }

        if obj.status == OrderStatus.DRAFT:
            return [tool("edit-draft", "Edit draft"), tool("send-quote", SendQuoteForm.title)]
        return [tool("reorder", ReorderForm.title)]

    def new_draft_view(self, request: HttpRequest) -> HttpResponse:
        """Build an order for a customer; see ``_builder_view``."""
        return self._builder_view(request, draft=None)

    def edit_draft_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Change a saved draft (its buyer, delivery, reference and lines) until it is
        submitted."""
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        draft = self.get_object(request, unquote(object_id))
        if draft is None:
            raise Http404("No such order.")
        if draft.status != OrderStatus.DRAFT:
            self.message_user(
                request,
                f"{draft.number} is {draft.get_status_display().lower()}; only drafts are edited.",
                messages.WARNING,
            )
            return HttpResponseRedirect(admin_change_url(draft))
        return self._builder_view(request, draft=draft)

    def _builder_view(self, request: HttpRequest, *, draft: Order | None) -> HttpResponse:
        """The draft builder. Every change of the form is checked live (``preview``: a
        fragment with every problem at once, prices, availability per location, the
        promise and the warnings of submitting; nothing written); "Check" does the same
        on the whole page; "Save draft" creates or updates the draft."""
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        user = staff_user(request)
        live = "preview" in request.POST
        check: SafeString | None = None
        warnings: list[drafts.DraftWarning] = []
        if request.method == "POST":
            data = request.POST.copy()
            saving = "save" in data and not live
            self._prefill_draft(request, data, quiet=saving or live)
            form = DraftBuilderForm(data)
            formset = BuilderLineFormSet(data, prefix=DRAFT_LINES_PREFIX)
            if validate_builder(form, formset):
                order_request = builder_request(
                    form, formset, channel=channel_for(user), placed_by=user
                )
                try:
                    if saving:
                        saved = self._save_draft(form, order_request, draft, actor_of(request))
                    else:
                        preview = get_draft_preview(order_request)
                        check = draft_preview_html(preview)
                        warnings = drafts.draft_warnings(preview.order)
                except DomainError as exc:
                    show_refusal(form, formset, exc)
                    check = None
                else:
                    if saving:
                        verb = "saved" if draft is None else "updated"
                        return self._done(
                            request,
                            saved,
                            f"Draft {saved.number} {verb} for {saved.customer.full_name} "
                            f"({format_money(saved.grand_total, saved.currency)}).",
                        )
        else:
            form = DraftBuilderForm(initial=self._builder_initial(request, draft))
            formset = BuilderLineFormSet(
                prefix=DRAFT_LINES_PREFIX, initial=self._lines_initial(draft)
            )
            attach_products(formset)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Edit draft {draft.number}" if draft else "New order for a customer",
            "original": draft,
            "form": form,
            "formset": formset,
            "sections": [
                ("Delivery", [form[n] for n in DRAFT_MAIN_FIELDS]),
                ("Ship to", form.address_fields()),
                ("Reference", [form["po_number"], form["notes"]]),
                ("Payment", [form["payment_method"]]),
            ],
            "check": check,
            "warnings": warnings,
            "problems": builder_problems(form, formset),
            "media": self.media + form.media + formset.media,
            "lookup_url": reverse(f"admin:{self.page_url_name('draft-lookup')}", args=["_"]),
            "cancel_url": admin_change_url(draft) if draft else admin_changelist_url(Order),
            "errors": bool(form.errors or any(formset.errors) or formset.non_form_errors()),
        }
        request.current_app = self.admin_site.name
        template = "draft_live.html" if live else "draft_form.html"
        return TemplateResponse(request, f"admin/orders/order/{template}", context)

    @staticmethod
    def _save_draft(
        form: DraftBuilderForm, order_request: OrderRequest, draft: Order | None, actor: Actor
    ) -> Order:
        """Create or update the draft; a buyer created in place is registered in the
        same transaction, so a refused draft leaves no customer behind."""
        with transaction.atomic():
            new = form.new_customer
            if new is not None:
                customer = create_customer(
                    email=new.email,
                    first_name=new.first_name,
                    last_name=new.last_name,
                    phone=new.phone,
                    company=new.company,
                )
                order_request = replace(order_request, customer=customer)
            if draft is None:
                return drafts.create_draft_order(request=order_request, actor=actor)
            return drafts.update_draft_order(order_id=draft.pk, request=order_request, actor=actor)

    @staticmethod
    def _builder_initial(request: HttpRequest, draft: Order | None) -> dict[str, Any]:
        if draft is not None:
            return {
                "company": draft.company.account_number if draft.company else "",
                "customer": draft.customer.email,
                "shipping_method": draft.shipping_method.code,
                "pickup_location": draft.pickup_location.code if draft.pickup_location else "",
                **address_initial(draft, prefix="ship_"),
                "po_number": draft.po_number,
                "notes": draft.notes,
                "payment_method": draft.payment_method
                if draft.payment_method == PaymentMethod.STORE_CREDIT
                else "",
            }
        initial: dict[str, Any] = {}
        customer = find_customer(request.GET.get("customer", ""))
        company = find_company(request.GET.get("company", ""))
        if customer is not None:
            initial["customer"] = customer.email
            company = customer.company
            address = get_default_shipping_address(customer)
            if address is not None:
                initial.update(address_initial(address))
        if company is not None:
            initial["company"] = company.account_number
        initial["shipping_method"] = drafts.default_shipping_method_code(customer, company)
        return initial

    @staticmethod
    def _lines_initial(draft: Order | None) -> list[dict[str, Any]]:
        if draft is None:
            return []
        return [
            {"sku": li.sku, "quantity": li.quantity_ordered, "customization": li.customization}
            for li in draft.lines.order_by("line_number")
        ]

    def draft_lookup_view(self, request: HttpRequest, kind: str) -> HttpResponse:
        """What the builder offers as the rep types (JSON): companies, their buyers,
        one buyer's defaults, products by SKU or name."""
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        lookups = {
            "company": lookup_companies,
            "company-defaults": lookup_company,
            "customer": lookup_buyers,
            "buyer": lookup_buyer,
            "product": lookup_products,
        }
        if kind not in lookups:
            raise Http404("No such lookup.")
        return JsonResponse({"results": lookups[kind](request.GET)})

    def _prefill_draft(self, request: HttpRequest, data: Any, *, quiet: bool = False) -> None:
        """Fill an empty ship-to from the customer's default shipping address, and on
        "Check" offer more empty line rows once every row is used."""
        customer = find_customer(str(data.get("customer", "")))
        names = ShippingAddressForm.ADDRESS_FIELD_NAMES
        blank_address = not any(str(data.get(name, "")).strip() for name in names)
        if customer is not None and blank_address and not data.get("pickup_location"):
            address = get_default_shipping_address(customer)
            if address is not None:
                for name, value in address_initial(address).items():
                    data[name] = value  # replaces; QueryDict.update would append
                if not quiet:
                    self.message_user(
                        request,
                        "Ship-to filled from the customer's default shipping address.",
                        messages.INFO,
                    )
        if quiet:
            return
        total_key = f"{DRAFT_LINES_PREFIX}-TOTAL_FORMS"
        try:
            total = int(data.get(total_key, ""))
        except ValueError:
            return
        if not 0 < total < settings.OMS_MAX_ORDER_LINES:
            return  # the formset itself refuses a count out of range
        used = sum(
            1
            for index in range(total)
            if str(data.get(f"{DRAFT_LINES_PREFIX}-{index}-sku", "")).strip()
        )
        if total == used:
            data[total_key] = str(min(total + DRAFT_EXTRA_ROWS, settings.OMS_MAX_ORDER_LINES))


class DraftPageForm(OrderPageForm):
    """A confirmation page on a draft: what it will do, and the draft's lines."""

    permission = PLACE_ON_BEHALF_PERMISSION
    statuses = (OrderStatus.DRAFT,)
    not_applicable = "it is not a draft"


class ReserveDraftForm(DraftPageForm):
    title = "Reserve stock"

    @classmethod
    def hours(cls) -> int:
        return int(drafts.DEFAULT_RESERVATION.total_seconds() // 3600)

    @property
    def submit_label(self) -> str:  # type: ignore[override]
        return f"Reserve stock ({self.hours()} h)"

    @property
    def page_title(self) -> str:
        return f"Reserve stock for draft {self.order.number} ({self.hours()} h)"

    def summary(self) -> str:
        return format_html(
            "<p>Holds the draft's units in the network for {} hours, replacing any "
            "earlier reservation of this draft.</p>{}",
            self.hours(),
            draft_lines_table(self.order),
        )

    def perform(self, actor: Actor) -> str:
        until = drafts.reserve_draft_stock(order_id=self.order.pk, actor=actor)
        return f"{self.order.number}: stock reserved until {short_datetime(until)}."


class SubmitDraftForm(DraftPageForm):
    title = "Submit draft"
    submit_label = "Submit order"

    @property
    def page_title(self) -> str:
        return f"Submit draft {self.order.number}"

    def summary(self) -> str:
        order = self.order
        return format_html(
            "<p>Places the order for {}: its reservation (if any) becomes the "
            "order's commitment, the rest is committed now, holds are checked and the "
            "customer is sent a confirmation. Total {}.</p>{}{}",
            order.customer,
            format_money(order.grand_total, order.currency),
            warnings_html(drafts.draft_warnings(order)),
            draft_lines_table(order),
        )

    def perform(self, actor: Actor) -> str:
        placed = drafts.submit_draft_order(order_id=self.order.pk, actor=actor)
        order = self.changed = placed.order
        held = ", ".join(h.get_kind_display() for h in placed.holds)
        return f"{order.number} placed ({format_money(order.grand_total, order.currency)})" + (
            f"; on hold: {held}." if held else "."
        )


class DiscardDraftForm(DraftPageForm, CancelReasonForm):
    title = "Discard draft"
    submit_label = "Discard draft"

    @property
    def page_title(self) -> str:
        return f"Discard draft {self.order.number}"

    def summary(self) -> str:
        return format_html(
            "<p>The draft of {} ends cancelled without being placed; any stock it "
            "reserved goes back. Nothing is sent to the customer.</p>",
            self.order.customer,
        )

    def perform(self, actor: Actor) -> str:
        drafts.discard_draft_order(
            order_id=self.order.pk, reason=self.cleaned_data["reason"], actor=actor
        )
        return f"Draft {self.order.number} discarded."


def warnings_html(warnings: list[drafts.DraftWarning]) -> SafeString:
    """What submitting would run into, as a warning list (empty when nothing)."""
    if not warnings:
        return mark_safe("")
    return format_html(
        '<div class="oms-warnings" role="status"><p><strong>Before you submit</strong></p>'
        "<ul>{}</ul></div>",
        format_html_join("", "<li>{}</li>", ((w.message,) for w in warnings)),
    )


class SendQuoteForm(DraftPageForm):
    title = "Send quote"
    submit_label = "Send quote"

    valid_days = forms.IntegerField(
        label="Valid for (days)",
        min_value=1,
        max_value=quotes.MAX_VALIDITY_DAYS,
        initial=quotes.DEFAULT_VALIDITY_DAYS,
        help_text="The stock is held for the buyer until the quote expires.",
    )
    email = forms.EmailField(
        label="Send to",
        required=False,
        help_text="Empty: the draft's e-mail.",
    )

    @property
    def page_title(self) -> str:
        return f"Send draft {self.order.number} as a quote"

    def summary(self) -> str:
        order = self.order
        current = drafts.open_quote(order)
        replaced = (
            format_html(
                "<p>Quote {} (valid until {}) is withdrawn: the buyer can no longer accept it.</p>",
                current.number,
                short_datetime(current.expires_at),
            )
            if current
            else ""
        )
        return format_html(
            "<p>E-mails {} a PDF quote of {} with its expiry date, and holds the draft's "
            "units in the network until then. The buyer accepts it through the API; the "
            "draft stays editable (an edit withdraws the quote).</p>{}{}{}",
            order.email,
            format_money(order.grand_total, order.currency),
            replaced,
            warnings_html(drafts.draft_warnings(order)),
            draft_lines_table(order),
        )

    def perform(self, actor: Actor) -> str:
        quote = quotes.send_quote(
            order_id=self.order.pk,
            actor=actor,
            sent_by=self.user if self.user and self.user.is_authenticated else None,
            valid_days=self.cleaned_data["valid_days"],
            email=self.cleaned_data.get("email") or "",
        )
        return (
            f"Quote {quote.number} sent to {quote.sent_to}, valid until "
            f"{short_datetime(quote.expires_at)}; the stock is held until then."
        )


class ReorderForm(OrderPageForm):
    """Any order the customer placed, ordered again: a new draft to check and edit."""

    permission = PLACE_ON_BEHALF_PERMISSION
    statuses = tuple(s for s in OrderStatus.values if s != OrderStatus.DRAFT)
    not_applicable = "edit the draft instead"
    title = "Order again"
    submit_label = "Create the draft"

    @property
    def page_title(self) -> str:
        return f"Order {self.order.number} again"

    def summary(self) -> str:
        return format_html(
            "<p>Creates a new draft for {} with the same lines (units not cancelled) and "
            "delivery, at today's prices; you check and edit it before it is placed. The PO "
            "number is left empty for the buyer's new one.</p>{}",
            self.order.customer,
            draft_lines_table(self.order),
        )

    def perform(self, actor: Actor) -> str:
        user = self.user if self.user and self.user.is_authenticated else None
        draft = self.changed = drafts.create_reorder_draft(
            order_id=self.order.pk,
            actor=actor,
            channel=channel_for(user) if user else "agent",
            placed_by=user,
        )
        return (
            f"Draft {draft.number} created from {self.order.number} at today's prices "
            f"({format_money(draft.grand_total, draft.currency)}); edit it, then submit it."
        )


DRAFT_PAGES: dict[str, type[OrderPageForm]] = {
    "send-quote": SendQuoteForm,
    "reorder": ReorderForm,
    "reserve-stock": ReserveDraftForm,
    "submit": SubmitDraftForm,
    "discard": DiscardDraftForm,
}
