"""Giving another card from the status page, when a card order is held for its payment
(declined, or an authorisation that lapsed).

With the test provider (``OMS_PAYMENT_PROVIDER=test``) the customer types a payment
token (``tok_approve``, ``tok_decline``… as docs/billing.md lists them): a real
provider's card form would create that token in the browser, which this page, with no
JavaScript and nothing from another origin, does not do; with another provider the
page asks the customer to contact the shop. Confirming calls
``billing.payments.authorise_new_card``, which runs the provider outside any database
transaction, as every authorisation of billing does. Approved: the payment hold is
released and the customer's step is on the timeline. Declined: a message, and the
order keeps its hold and its card.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from billing.payments import authorise_new_card, card_update_due
from core.errors import DomainError
from core.money import format_money

from .selectors import StatusPage
from .services import customer_actor
from .views import page_for

NOTHING_TO_UPDATE = "This order has no payment to update. Please contact us with any question."
OTHER_PROVIDER = (
    "To give us another card for this order, please reply to our e-mail or call us: "
    "we will send you a secure payment link."
)
UNAVAILABLE = (
    "We could not reach our payment provider just now. Nothing was charged; please try "
    "again in a few minutes."
)


class CardForm(forms.Form):
    token = forms.CharField(
        label="Payment token",
        max_length=255,
        help_text="Test payments: tok_approve is approved; tok_decline and "
        "tok_insufficient_funds are declined.",
    )


def _render(
    request: HttpRequest,
    page: StatusPage,
    token: str,
    form: CardForm | None,
    *,
    step: str = "form",
    message: str = "",
    status: int = 200,
) -> HttpResponse:
    due = card_update_due(page.order) if page.payment_hold else None
    context = {
        "page": page,
        "token": token,
        "form": form,
        "step": step,
        "message": message,
        "due": format_money(due, page.order.currency) if due is not None else "",
    }
    return render(request, "selfservice/payment.html", context, status=status)


@require_http_methods(["GET", "POST"])
def update_payment(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the card form. POST ``step=review``: the amount to authorise. POST
    ``step=confirm``: the authorisation."""
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    if page.payment_hold is None or settings.OMS_PAYMENT_PROVIDER != "test":
        # Nothing to pay, or a provider whose card form this page cannot show.
        held = page.payment_hold is not None
        message = OTHER_PROVIDER if held else NOTHING_TO_UPDATE
        return _render(request, page, token, None, message=message, status=200 if held else 409)
    if request.method == "GET":
        return _render(request, page, token, CardForm())
    form = CardForm(request.POST)
    if not form.is_valid():
        return _render(request, page, token, form, status=400)
    if request.POST.get("step") != "confirm":
        return _render(request, page, token, form, step="review")
    return _authorise(request, page, token, form.cleaned_data["token"].strip())


def _authorise(request: HttpRequest, page: StatusPage, token: str, card: str) -> HttpResponse:
    try:
        result = authorise_new_card(
            order_id=page.order.pk, token=card, actor=customer_actor(page.order)
        )
    except DomainError as exc:
        return _render(request, page, token, None, message=exc.message, status=409)
    if result.outcome == "approved":
        return HttpResponseRedirect(reverse("selfservice:status", kwargs={"token": token}))
    if result.outcome == "unavailable":
        return _render(request, page, token, CardForm(), message=UNAVAILABLE, status=503)
    declined = (
        f"This card was declined ({result.message}). Nothing was charged and your order "
        "is unchanged; please try another card."
    )
    return _render(request, page, token, CardForm(), message=declined, status=402)
