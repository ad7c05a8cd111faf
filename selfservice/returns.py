"""Starting a return from the status page, and printing its label.

The form offers each line's returnable units (delivered, less returned and already
asked back: ``returns.policy.returnable_quantity``), a reason per line from the active
``ReturnReason`` list, and the method: a mail label, or a drop-off at one of the nearest
open stores that accept returns (``returns.destination.list_drop_off_stores``). The
confirmation step shows what will be asked and checks the policy; confirming calls
``returns.services.request_return``, the service of the console and the API, with the
customer as actor. A refusal of the policy is shown with the rule that refused and
nothing is written. The page after it gives the RMA and, for a mailed return, a link to
its label: under the order's signed link, for this order's returns only.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from core.errors import DomainError
from inventory.models import Location
from orders.models import Order, OrderLine, PaymentMethod
from returns.destination import list_drop_off_stores
from returns.documents import return_label_pdf
from returns.models import Resolution, ReturnMethod, ReturnReason, ReturnRequest
from returns.policy import AskedLine, check_policy, returnable_quantity
from returns.services import ReturnLineInput, request_return

from .selectors import StatusPage
from .services import customer_actor
from .views import page_for

# The replay scope of the page's requests (``ReturnRequest.client_scope``): a second
# click on "Yes, start my return" gets the same RMA, not another.
CLIENT_SCOPE = "status-page"
METHODS = [
    (ReturnMethod.MAIL.value, "By mail: print a prepaid label and post the parcel"),
    (ReturnMethod.DROP_OFF.value, "Drop it off at one of our stores"),
]
RESOLUTIONS = [
    (Resolution.REFUND.value, "A refund to my original payment"),
    (Resolution.STORE_CREDIT.value, "Store credit for my next order"),
]
NOTHING_TO_RETURN = (
    "Nothing of this order can be returned here: items can be returned once delivered, "
    "and those already returned or in a return are not offered again."
)


@dataclass(frozen=True)
class Choice:
    """One line the customer asked to return, for the confirmation page."""

    line: OrderLine
    quantity: int
    reason: ReturnReason


class ReturnForm(forms.Form):
    """Per returnable line: how many units and why; then how the parcel travels."""

    method = forms.ChoiceField(
        label="How will you send it back?", choices=METHODS, widget=forms.RadioSelect
    )
    store = forms.TypedChoiceField(
        label="Store", required=False, coerce=int, empty_value=None, widget=forms.RadioSelect
    )
    resolution = forms.ChoiceField(
        label="What would you like back?",
        choices=RESOLUTIONS,
        initial=Resolution.REFUND,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Anything we should know (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    nonce = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(
        self,
        data: Any = None,
        *,
        lines: list[OrderLine],
        reasons: list[ReturnReason],
        stores: list[tuple[Location, str]],
        store_credit: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        if not store_credit:  # an order on payment terms is credited on its invoice
            resolution_field = self.fields["resolution"]
            assert isinstance(resolution_field, forms.ChoiceField)  # noqa: S101
            resolution_field.choices = RESOLUTIONS[:1]
        self.lines = lines
        self.reasons = {reason.code: reason for reason in reasons}
        self.stores = {store.pk: store for store, _ in stores}
        reason_choices = [("", "Choose a reason"), *((r.code, r.label) for r in reasons)]
        for line in lines:
            units = returnable_quantity(line)
            self.fields[f"quantity_{line.pk}"] = forms.TypedChoiceField(
                label=f"How many of {line.description}?",
                choices=[(n, str(n)) for n in range(units + 1)],
                coerce=int,
                initial=0,
            )
            self.fields[f"reason_{line.pk}"] = forms.ChoiceField(
                label=f"Why are you returning {line.description}?",
                choices=reason_choices,
                required=False,
            )
        store_field = self.fields["store"]
        assert isinstance(store_field, forms.TypedChoiceField)  # noqa: S101
        store_field.choices = [(store.pk, label) for store, label in stores]
        if not stores:
            method_field = self.fields["method"]
            assert isinstance(method_field, forms.ChoiceField)  # noqa: S101
            method_field.choices = METHODS[:1]

    def line_fields(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"quantity_{line.pk}"], self[f"reason_{line.pk}"]) for line in self.lines]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = []
        for line in self.lines:
            quantity = cleaned.get(f"quantity_{line.pk}") or 0
            if not quantity:
                continue
            code = cleaned.get(f"reason_{line.pk}") or ""
            if code not in self.reasons:
                self.add_error(f"reason_{line.pk}", "Choose why you are returning it.")
                continue
            chosen.append(Choice(line=line, quantity=quantity, reason=self.reasons[code]))
        if not chosen and not self.errors:
            raise forms.ValidationError("Choose at least one item to return.")
        if cleaned.get("method") == ReturnMethod.DROP_OFF:
            store = cleaned.get("store")
            if store not in self.stores:
                self.add_error("store", "Choose the store where you will drop it off.")
            else:
                cleaned["store_location"] = self.stores[store]
        else:
            cleaned["store_location"] = None
        cleaned["chosen"] = chosen
        return cleaned

    def request_hash(self) -> str:
        data = self.cleaned_data
        body = {
            "lines": sorted((c.line.pk, c.quantity, c.reason.code) for c in data["chosen"]),
            "method": data["method"],
            "store": data["store_location"].pk if data["store_location"] else None,
            "note": data["note"],
            "resolution": data["resolution"],
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _form(order: Order, data: Any = None) -> ReturnForm:
    lines = [line for line in order.lines.all() if returnable_quantity(line)]
    reasons = list(ReturnReason.objects.filter(is_active=True).order_by("label"))
    stores = []
    for candidate in list_drop_off_stores(order, {line.product_id for line in lines}):
        store = candidate.location
        label = ", ".join(part for part in (store.name, store.line1, store.city) if part)
        if candidate.distance_km is not None:
            label += f" ({candidate.distance_km:,.0f} km away)"
        stores.append((store, label))
    return ReturnForm(
        data,
        lines=lines,
        reasons=reasons,
        stores=stores,
        store_credit=order.payment_method != PaymentMethod.INVOICE,
        initial={"nonce": secrets.token_hex(16), "resolution": Resolution.REFUND},
    )


def _refusal(exc: DomainError) -> str:
    """The service's message, and the rule that refused when it names one."""
    rule = exc.details.get("rule")
    if rule and str(rule) not in exc.message:
        return f"{exc.message} (Rule: {rule}.)"
    return exc.message


def _render(
    request: HttpRequest,
    page: StatusPage,
    token: str,
    form: ReturnForm,
    *,
    step: str = "form",
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {"page": page, "token": token, "form": form, "step": step, "refused": refused}
    if step == "review":
        context["chosen"] = form.cleaned_data["chosen"]
        context["store"] = form.cleaned_data["store_location"]
        context["method_label"] = dict(METHODS)[form.cleaned_data["method"]]
        context["resolution_label"] = dict(RESOLUTIONS)[form.cleaned_data["resolution"]]
    return render(request, "selfservice/return.html", context, status=status)


@require_http_methods(["GET", "POST"])
def start_return(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the form. POST ``step=review``: the confirmation (the policy checked).
    POST ``step=confirm``: the return request."""
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    order = page.order
    if not page.can_return:
        return render(
            request,
            "selfservice/return.html",
            {"page": page, "token": token, "refused": NOTHING_TO_RETURN},
            status=409,
        )
    if request.method == "GET":
        return _render(request, page, token, _form(order))
    return _post_return(request, page, token)


def _post_return(request: HttpRequest, page: StatusPage, token: str) -> HttpResponse:
    order = page.order
    form = _form(order, request.POST)
    step = request.POST.get("step")
    if not form.is_valid() or step == "edit":  # errors, or back from the confirmation
        return _render(request, page, token, form, status=200 if form.is_valid() else 400)
    chosen: list[Choice] = form.cleaned_data["chosen"]
    try:
        if step != "confirm":
            # The policy's answer before the customer confirms; the service asks again.
            asked = [
                AskedLine(order_line=c.line, quantity=c.quantity, reason=c.reason) for c in chosen
            ]
            check_policy(order, asked)
            return _render(request, page, token, form, step="review")
        rma = _request(order, form)
    except DomainError as exc:
        return _render(request, page, token, form, refused=_refusal(exc), status=exc.status)
    return HttpResponseRedirect(
        reverse("selfservice:return-done", kwargs={"token": token, "rma": rma.number})
    )


def _request(order: Order, form: ReturnForm) -> ReturnRequest:
    """The return request, as the customer; the form's nonce makes a second click
    (or a reload of the confirmation) get the same RMA."""
    data = form.cleaned_data
    return request_return(
        order=order,
        lines=[
            ReturnLineInput(order_line_id=c.line.pk, quantity=c.quantity, reason_code=c.reason.code)
            for c in data["chosen"]
        ],
        method=data["method"],
        drop_off_location=data["store_location"],
        note=data["note"],
        resolution=data["resolution"],
        actor=customer_actor(order),
        client_scope=CLIENT_SCOPE,
        idempotency_key=f"{order.pk}:{data['nonce']}" if data["nonce"] else "",
        request_hash=form.request_hash(),
    )


def _order_return(page: StatusPage, rma: str) -> ReturnRequest:
    """One of this order's returns by its number; 404 for any other."""
    found = (
        ReturnRequest.objects.select_related("destination")
        .prefetch_related("lines__order_line", "lines__reason")
        .filter(order=page.order, number=rma)
        .first()
    )
    if found is None:
        raise Http404
    return found


@require_http_methods(["GET"])
def return_done(request: HttpRequest, token: str, rma: str) -> HttpResponse:
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    found = _order_return(page, rma)
    context = {
        "page": page,
        "token": token,
        "rma": found,
        "lines": list(found.lines.all()),
        "mailed": found.method == ReturnMethod.MAIL,
    }
    return render(request, "selfservice/return_done.html", context)


@require_http_methods(["GET"])
def return_label(request: HttpRequest, token: str, rma: str) -> HttpResponse:
    """The label PDF of one of this order's returns (the order's signed link opens it)."""
    page = page_for(request, token)
    if isinstance(page, HttpResponse):
        return page
    found = _order_return(page, rma)
    response = HttpResponse(return_label_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{found.number}.pdf"'
    return response
