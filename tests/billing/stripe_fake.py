"""A fake of Stripe's API, plugged in under the official SDK at its HTTP layer.

The SDK's own ``stripe.RequestsClient`` sends the requests, through a ``requests``
session whose transport adapter is ``FakeStripe``: everything above the socket (the
SDK's encoding, headers, retries, error classes, the timeout it passes) is the real
thing. The fake answers with the JSON shapes of Stripe's API reference (payment_intent,
charge and refund objects; error bodies with type, code, decline_code and the
payment_intent), keeps payment intents, charges and refunds in memory, replays a POST
by its Idempotency-Key as Stripe does, and records every request for the tests to check.

Payment methods behave like Stripe's documented test ones: ``pm_card_visa`` is
authorised, ``pm_card_visa_chargeDeclinedInsufficientFunds`` and
``pm_card_chargeDeclined`` are declined, ``pm_card_authenticationRequired`` asks for
3-D Secure.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
import stripe
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

CREATED = 1_790_000_000  # a fixed "created" timestamp, so responses are reproducible
AUTHORISATION_SECONDS = 7 * 24 * 3600

DECLINES = {
    "pm_card_visa_chargeDeclinedInsufficientFunds": (
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclined": ("generic_decline", "Your card was declined."),
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: CaseInsensitiveDict[str]
    timeout: Any


@dataclass
class Failure:
    """What the next request gets instead of Stripe's answer."""

    status: int = 0
    body: dict[str, Any] = field(default_factory=dict)
    exception: Exception | None = None


def error_body(
    type_: str, message: str, *, code: str | None = None, **fields: Any
) -> dict[str, Any]:
    return {"error": {"type": type_, "code": code, "message": message, **fields}}


class FakeStripe(BaseAdapter):
    def __init__(self, *, multicapture: bool = True, refund_status: str = "succeeded") -> None:
        super().__init__()
        self.multicapture = multicapture
        self.refund_status = refund_status
        self.requests: list[RecordedRequest] = []
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.failures: list[Failure] = []
        self._idempotent: dict[str, tuple[tuple[Any, ...], int, dict[str, Any]]] = {}
        self._ids = itertools.count(1)

    # Test helpers.

    def http_client(self, timeout: tuple[float, float] = (2.0, 10.0)) -> stripe.RequestsClient:
        """The SDK's own requests-based client, sending through this fake."""
        session = requests.Session()
        session.mount("https://", self)
        return stripe.RequestsClient(session=session, timeout=timeout)

    def fail_next(
        self,
        *,
        status: int = 0,
        body: dict[str, Any] | None = None,
        exception: Exception | None = None,
    ) -> None:
        self.failures.append(Failure(status=status, body=body or {}, exception=exception))

    def expire(self, intent_id: str) -> None:
        """Stripe cancels an uncaptured intent when its authorisation lapses."""
        intent = self.intents[intent_id]
        intent.update(status="canceled", cancellation_reason="automatic", amount_capturable=0)

    def posts(self, path_prefix: str = "") -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(path_prefix)]

    # The transport.

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = urlsplit(request.url or "")
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        recorded = RecordedRequest(
            method=(request.method or "").upper(),
            path=url.path,
            query=dict(parse_qsl(url.query)),
            form=dict(parse_qsl(body)),
            headers=CaseInsensitiveDict(request.headers),
            timeout=timeout,
        )
        self.requests.append(recorded)
        if self.failures:
            failure = self.failures.pop(0)
            if failure.exception is not None:
                raise failure.exception
            return self._response(request, failure.status, failure.body)
        key = recorded.headers.get("Idempotency-Key")
        if recorded.method == "POST" and key:
            fingerprint = (recorded.path, tuple(sorted(recorded.form.items())))
            if key in self._idempotent:
                stored_fingerprint, status, payload = self._idempotent[key]
                if stored_fingerprint != fingerprint:
                    return self._response(
                        request,
                        400,
                        error_body(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        ),
                    )
                return self._response(request, status, payload, replayed=True)
            status, payload = self._route(recorded)
            # Stripe keeps the outcome of a request that ran, declines included.
            if status < 500:
                self._idempotent[key] = (fingerprint, status, payload)
            return self._response(request, status, payload)
        status, payload = self._route(recorded)
        return self._response(request, status, payload)

    def close(self) -> None:
        return None

    def _response(
        self,
        request: requests.PreparedRequest,
        status: int,
        payload: dict[str, Any],
        *,
        replayed: bool = False,
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(payload).encode()
        response.headers = CaseInsensitiveDict(
            {"Content-Type": "application/json", "Request-Id": f"req_{next(self._ids)}"}
        )
        if replayed:
            response.headers["Idempotent-Replayed"] = "true"
        response.request = request
        response.url = request.url or ""
        return response

    # Stripe's API, the part the adapter uses.

    def _route(self, request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        parts = request.path.strip("/").split("/")
        params = request.form if request.method == "POST" else request.query
        expand = {v for k, v in params.items() if k.startswith("expand[")}
        result: tuple[int, dict[str, Any]] = (
            404,
            error_body("invalid_request_error", f"Unrecognized request URL ({request.path})."),
        )
        match request.method, parts:
            case "POST", ["v1", "payment_intents"]:
                result = self._create_intent(params, expand)
            case "GET", ["v1", "payment_intents", intent_id]:
                result = self._with_intent(intent_id, lambda i: (200, self._intent(i, expand)))
            case "POST", ["v1", "payment_intents", intent_id, "capture"]:
                result = self._with_intent(intent_id, lambda i: self._capture(i, params, expand))
            case "POST", ["v1", "payment_intents", intent_id, "cancel"]:
                result = self._with_intent(intent_id, lambda i: self._cancel(i, expand))
            case "GET", ["v1", "charges", charge_id] if charge_id in self.charges:
                result = (200, dict(self.charges[charge_id]))
            case "POST", ["v1", "refunds"]:
                result = self._refund(params)
        return result

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}"

    def _intent(self, intent: dict[str, Any], expand: set[str]) -> dict[str, Any]:
        shown = dict(intent)
        if "latest_charge" in expand and shown.get("latest_charge"):
            shown["latest_charge"] = dict(self.charges[shown["latest_charge"]])
        return shown

    def _with_intent(self, intent_id: str, action: Any) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(intent_id)
        if intent is None:
            return 404, error_body(
                "invalid_request_error",
                f"No such payment_intent: '{intent_id}'",
                code="resource_missing",
                param="intent",
            )
        result: tuple[int, dict[str, Any]] = action(intent)
        return result

    def _unexpected_state(self, intent: dict[str, Any], action: str) -> tuple[int, dict[str, Any]]:
        return 400, error_body(
            "invalid_request_error",
            f"This PaymentIntent could not be {action} because it has a status of "
            f"{intent['status']}.",
            code="payment_intent_unexpected_state",
            payment_intent=dict(intent),
        )

    def _create_intent(
        self, params: dict[str, str], expand: set[str]
    ) -> tuple[int, dict[str, Any]]:
        intent_id = self._new_id("pi")
        amount = int(params["amount"])
        payment_method = params.get("payment_method", "")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": params.get("capture_method", "automatic_async"),
            "client_secret": f"{intent_id}_secret_fake",
            "confirmation_method": "automatic",
            "created": CREATED,
            "currency": params["currency"],
            "description": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")
            },
            "next_action": None,
            "payment_method": payment_method,
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        if payment_method in DECLINES:
            decline_code, message = DECLINES[payment_method]
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": decline_code,
                "message": message,
            }
            return 402, error_body(
                "card_error",
                message,
                code="card_declined",
                decline_code=decline_code,
                param="",
                payment_intent=dict(intent),
            )
        if payment_method == "pm_card_authenticationRequired":
            intent.update(
                status="requires_action",
                next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}},
            )
            return 200, self._intent(intent, expand)
        charge_id = self._new_id("ch")
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": 0,
            "amount_refunded": 0,
            "captured": False,
            "created": CREATED,
            "currency": params["currency"],
            "paid": True,
            "payment_intent": intent_id,
            "payment_method": payment_method,
            "payment_method_details": {
                "type": "card",
                "card": {
                    "brand": "visa",
                    "last4": "4242",
                    "capture_before": CREATED + AUTHORISATION_SECONDS,
                    "multicapture": {"status": "available" if self.multicapture else "unavailable"},
                },
            },
            "refunded": False,
            "status": "succeeded",
        }
        intent.update(status="requires_capture", amount_capturable=amount, latest_charge=charge_id)
        return 200, self._intent(intent, expand)

    def _capture(
        self, intent: dict[str, Any], params: dict[str, str], expand: set[str]
    ) -> tuple[int, dict[str, Any]]:
        if intent["status"] != "requires_capture":
            return self._unexpected_state(intent, "captured")
        amount = int(params.get("amount_to_capture", intent["amount_capturable"]))
        if amount > intent["amount_capturable"]:
            return 400, error_body(
                "invalid_request_error",
                "The amount to capture is greater than the amount capturable.",
                code="amount_too_large",
                param="amount_to_capture",
            )
        final = params.get("final_capture", "true") != "false"
        charge = self.charges[intent["latest_charge"]]
        if not final and charge["payment_method_details"]["card"]["multicapture"]["status"] != (
            "available"
        ):
            return 400, error_body(
                "invalid_request_error",
                "final_capture can only be used when multicapture is available.",
                code="parameter_invalid_empty",
                param="final_capture",
            )
        charge.update(amount_captured=charge["amount_captured"] + amount, captured=True)
        intent["amount_received"] += amount
        if final:
            intent.update(status="succeeded", amount_capturable=0)
        else:
            intent["amount_capturable"] -= amount
        return 200, self._intent(intent, expand)

    def _cancel(self, intent: dict[str, Any], expand: set[str]) -> tuple[int, dict[str, Any]]:
        if intent["status"] in {"canceled", "succeeded"}:
            return self._unexpected_state(intent, "canceled")
        intent.update(status="canceled", canceled_at=CREATED + 60, amount_capturable=0)
        return 200, self._intent(intent, expand)

    def _refund(self, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if "charge" in params:
            charge = self.charges.get(params["charge"])
        else:
            intent = self.intents.get(params.get("payment_intent", ""))
            charge = self.charges.get(intent["latest_charge"]) if intent else None
        if charge is None:
            return 404, error_body(
                "invalid_request_error", "No such payment.", code="resource_missing"
            )
        refundable = charge["amount_captured"] - charge["amount_refunded"]
        amount = int(params.get("amount", refundable))
        if amount > refundable:
            return 400, error_body(
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({refundable}).",
                code="amount_too_large",
                param="amount",
            )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        refund_id = self._new_id("re")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": CREATED + 120,
            "currency": charge["currency"],
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in params.items() if k.startswith("metadata[")
            },
            "payment_intent": charge["payment_intent"],
            "reason": params.get("reason"),
            "status": self.refund_status,
        }
        self.refunds[refund_id] = refund
        return 200, dict(refund)
