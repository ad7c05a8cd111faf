"""Orders placed on a customer's behalf: the new-draft page ("Check" prices it with live
availability and the delivery promise, "Save draft" creates it) and the pages that
reserve stock for a draft, submit it and discard it (``orders.drafts``; ``DRAFT_PAGES``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from core.actors import Actor
from core.admin import admin_changelist_url, short_datetime
from core.errors import DomainError
from core.money import format_money
from customers.selectors import get_default_shipping_address

from .. import drafts
from ..forms import (
    DRAFT_LINES_PREFIX,
    CancelReasonForm,
    DraftLineFormSet,
    DraftOrderForm,
    ShippingAddressForm,
    add_domain_error,
    address_initial,
    channel_for,
    find_customer,
)
from ..models import Order, OrderStatus
from ..selectors import get_draft_preview
from .base import (
    PLACE_ON_BEHALF_PERMISSION,
    OrderPageForm,
    OrderPagesMixin,
    actor_of,
    staff_user,
)
from .tables import draft_lines_table, draft_preview_html

# The draft page's first fields, and the empty line rows "Check" adds once all are used.
DRAFT_MAIN_FIELDS = ("customer", "shipping_method", "pickup_location")
DRAFT_EXTRA_ROWS = 3


class DraftPagesMixin(OrderPagesMixin):
    """The pages of drafts placed on a customer's behalf."""

    def new_draft_view(self, request: HttpRequest) -> HttpResponse:
        """Build an order for a customer: "Check" prices it and shows live availability
        and the delivery promise without writing; "Save draft" creates the draft."""
        self._require(request, PLACE_ON_BEHALF_PERMISSION)
        user = staff_user(request)
        check: SafeString | None = None
        if request.method == "POST":
            data = request.POST.copy()
            saving = "save" in data
            if not saving:
                self._prefill_draft(request, data)
            form = DraftOrderForm(data)
            formset = DraftLineFormSet(data, prefix=DRAFT_LINES_PREFIX)
            if form.is_valid() and formset.is_valid():
                line_forms = formset.filled_forms()
                order_request = form.order_request(
                    [f.line_request() for f in line_forms],
                    channel=channel_for(user),
                    placed_by=user,
                )
                try:
                    if saving:
                        draft = drafts.create_draft_order(
                            request=order_request, actor=actor_of(request)
                        )
                    else:
                        check = draft_preview_html(get_draft_preview(order_request))
                except DomainError as exc:
                    add_domain_error(
                        form, exc, field_names=form.field_errors_map(), line_forms=line_forms
                    )
                    check = None
                else:
                    if saving:
                        return self._done(
                            request,
                            draft,
                            f"Draft {draft.number} saved for {draft.customer.full_name} "
                            f"({format_money(draft.grand_total, draft.currency)}).",
                        )
        else:
            initial: dict[str, Any] = {}
            customer = find_customer(request.GET.get("customer", ""))
            if customer is not None:
                initial["customer"] = customer.email
                address = get_default_shipping_address(customer)
                if address is not None:
                    initial.update(address_initial(address))
            form = DraftOrderForm(initial=initial)
            formset = DraftLineFormSet(prefix=DRAFT_LINES_PREFIX)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "New order for a customer",
            "form": form,
            "formset": formset,
            "sections": [
                ("Customer and delivery", [form[n] for n in DRAFT_MAIN_FIELDS]),
                ("Ship to", form.address_fields()),
                ("Reference", [form["po_number"], form["notes"]]),
                ("Payment", [form["payment_method"]]),
            ],
            "check": check,
            "media": self.media + form.media + formset.media,
            "cancel_url": admin_changelist_url(Order),
            "errors": bool(form.errors or any(formset.errors) or formset.non_form_errors()),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/draft_form.html", context)

    def _prefill_draft(self, request: HttpRequest, data: Any) -> None:
        """On "Check": fill an empty ship-to from the customer's default shipping
        address, and offer more empty line rows once every row is used."""
        customer = find_customer(str(data.get("customer", "")))
        names = ShippingAddressForm.ADDRESS_FIELD_NAMES
        blank_address = not any(str(data.get(name, "")).strip() for name in names)
        if customer is not None and blank_address and not data.get("pickup_location"):
            address = get_default_shipping_address(customer)
            if address is not None:
                for name, value in address_initial(address).items():
                    data[name] = value  # replaces; QueryDict.update would append
                self.message_user(
                    request,
                    "Ship-to filled from the customer's default shipping address.",
                    messages.INFO,
                )
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
            "customer is sent a confirmation. Total {}.</p>{}",
            order.customer,
            format_money(order.grand_total, order.currency),
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


DRAFT_PAGES: dict[str, type[OrderPageForm]] = {
    "reserve-stock": ReserveDraftForm,
    "submit": SubmitDraftForm,
    "discard": DiscardDraftForm,
}
