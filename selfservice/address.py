"""Changing the delivery address from the status page, and confirming it when the order
is held for its address.

Three steps, no JavaScript: the form (the order's address filled in), a confirmation
page with the address as it will be stored, then the change through
``fulfillment.rerouting.change_shipping_address`` (the service the console and the API
use) with the customer as actor. The address is checked by ``clean_postal_address``,
the check every address goes through, at the form step and again by the service.
Refusals of the service (picking started, a partner accepted) come back as a message,
and nothing changes.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.addresses import clean_postal_address
from core.errors import DomainError, InvalidInput
from fulfillment.rerouting import change_shipping_address
from orders.forms import ADDRESS_ERROR_FIELDS, ShippingAddressForm, address_initial

from .selectors import StatusPage
from .services import confirm_address, customer_actor
from .views import page_for

NOT_CHANGEABLE = (
    "The delivery address of this order can no longer be changed here: its preparation "
    "has started, it is a pickup order, or it is already closed. Please contact us."
)
STARTED = (
    "Your order is already being prepared (or our partner has accepted it), so its "
    "address can no longer change here. Nothing was changed. Please contact us."
)


class AddressForm(ShippingAddressForm):
    """The admin's ship-to form, with words for the customer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["ship_name"].label = "Name of the recipient"
        self.fields["ship_country"].help_text = "Two letters, e.g. US."
        for field in self.fields.values():
            field.widget.attrs.setdefault("autocomplete", "on")

    def check(self) -> dict[str, Any] | None:
        """The address as ``clean_postal_address`` stores it, or None with its complaints
        on the fields they concern."""
        if not self.is_valid():
            return None
        try:
            return clean_postal_address(self.address())
        except InvalidInput as exc:
            self.add_error(None, exc.message)
            fields = exc.details.get("fields")
            if isinstance(fields, dict):
                for key, message in fields.items():
                    name = ADDRESS_ERROR_FIELDS.get(key)
                    if name in self.fields:
                        self.add_error(name, str(message))
            return None


def _render(
    request: HttpRequest,
    page: StatusPage,
    token: str,
    *,
    form: AddressForm,
    step: str = "form",
    address: dict[str, Any] | None = None,
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "page": page,
        "token": token,
        "form": form,
        "step": step,
        "address": address,
        "refused": refused,
        "confirming_hold": page.address_hold is not None,
    }
    return render(request, "selfservice/address.html", context, status=status)


@require_http_methods(["GET", "POST"])
def change_address(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the form. POST ``step=review``: the confirmation page. POST
    ``step=confirm``: the change."""
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    confirming = request.method == "POST" and request.POST.get("step") == "confirm"
    if not (page.can_change_address or confirming):
        # The form is not offered; a confirmation already on its way is for the
        # service to refuse (the form may have been shown before picking started).
        return _render(request, page, token, form=AddressForm(), refused=NOT_CHANGEABLE, status=409)
    if request.method == "GET":
        initial = address_initial(page.order, prefix="ship_")
        return _render(request, page, token, form=AddressForm(initial=initial))
    return _post_address(request, page, token)


def _post_address(request: HttpRequest, page: StatusPage, token: str) -> HttpResponse:
    form = AddressForm(request.POST)
    address = form.check()
    step = request.POST.get("step")
    if address is None or step == "edit":  # errors, or back from the confirmation
        return _render(request, page, token, form=form, status=200 if address else 400)
    if step != "confirm":
        return _render(request, page, token, form=form, step="review", address=address)
    try:
        change_shipping_address(
            order_id=page.order.pk, address=form.address(), actor=customer_actor(page.order)
        )
    except DomainError as exc:
        refused = STARTED if exc.code == "fulfillment_started" else exc.message
        return _render(request, page, token, form=form, refused=refused, status=409)
    return HttpResponseRedirect(reverse("selfservice:status", kwargs={"token": token}))


@require_http_methods(["POST"])
def confirm_held_address(request: HttpRequest, token: str) -> HttpResponse:
    """The customer says the address of an order held for it is right: a note for the
    agent on the timeline; the hold stays until an agent releases it."""
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    try:
        confirm_address(order_id=page.order.pk, actor=customer_actor(page.order))
    except DomainError as exc:
        return _render(request, page, token, form=AddressForm(), refused=exc.message, status=409)
    return render(request, "selfservice/address_confirmed.html", {"page": page, "token": token})
