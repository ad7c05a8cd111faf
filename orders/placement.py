"""``place_order``: the one way an order enters the system, whatever the channel.

Reads and validation happen first, without locks. The transaction then inserts the
order, writes lines, holds, timeline events and the outbox row, runs the caller's
``before_commit`` (the API's idempotency record), and last locks the SKUs' network
rows in product-id order and commits demand (a pickup order: allocates at its store).
That is the global lock order of ``inventory.locks``: request keys (the order's
external reference, the idempotency record) before any stock row, on every path. The
network locks come last so hot SKUs are held for a statement or two and the commit.
The query count does not depend on the number of lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core import outbox, refcache, rows
from core.actors import Actor
from core.addresses import clean_postal_address
from core.models import OutboxEvent
from core.money import format_money
from customers.models import Company, Customer, PaymentTerms
from customers.store_credit import spend_store_credit
from inventory.commitments import commit_demand
from inventory.errors import InsufficientStock, UnknownSku
from inventory.locks import (
    location_activity_for_share,
    network_stock_for_update,
    stock_levels_for_update,
)
from inventory.models import Location, MovementReason, NetworkStock, Product, StockBucket
from inventory.services import StockChangeSet
from shipping.models import ShippingMethod
from shipping.promise import Promise, estimate_promise

from . import holds as hold_rules
from . import sql
from .errors import DuplicateOrder, InvalidOrder, PoNumberRequired, UnknownShippingMethod
from .models import (
    Channel,
    Order,
    OrderEvent,
    OrderEventType,
    OrderHold,
    OrderLine,
    OrderStatus,
    PaymentMethod,
    PaymentStatus,
    TaxRate,
)
from .numbering import next_order_number, next_order_number_sql
from .pricing import apply_totals, contract_prices, money, tax_rate_for, unit_price_for

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_CUSTOMIZATION_VALUE = 200


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int
    customization: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OrderRequest:
    customer: Customer
    channel: str
    shipping_method_code: str
    lines: list[LineRequest]
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    pickup_location_code: str = ""
    po_number: str = ""
    notes: str = ""
    email: str = ""
    placed_by: User | None = None
    external_reference: str = ""
    # The payment instruction (docs/billing.md, "Payments"): a method (empty: the
    # buyer's default), and for a card the provider's token or the reference of an
    # authorisation the storefront made. A card order with neither is paid outside the
    # OMS (a phone order, an import): nothing is authorised, its status stays pending.
    payment_method: str = ""
    payment_token: str = ""
    payment_authorisation: str = ""
    # An exchange's replacement (returns.resolution): lines and shipping at no charge.
    # Set by services only; no API or form takes it.
    no_charge: bool = False


@dataclass
class PlacedOrder:
    order: Order
    lines: list[OrderLine]
    holds: list[OrderHold]


def get_active_shipping_method(code: str) -> ShippingMethod:
    """The active shipping method ``code`` (cached per process); unknown or inactive codes
    are refused with ``UnknownShippingMethod``, as placement and edits refuse them."""

    def load() -> ShippingMethod | None:
        return ShippingMethod.objects.filter(code=code, is_active=True).first()

    method = refcache.cached(("shipping_method", code), load)
    if method is None:
        raise UnknownShippingMethod(
            f"Unknown shipping method {code!r}.", fields={"shipping_method": "unknown"}
        )
    return method


def cached_tax_rate(country: str, region: str) -> TaxRate | None:
    """The tax rate of a destination, cached per process (``refcache``)."""
    return refcache.cached(("tax_rate", country, region), lambda: tax_rate_for(country, region))


def validate_request_shape(request: OrderRequest) -> None:
    """Refuse a request whose shape is wrong (channel, lines, quantities, SKUs, PO
    length) with ``InvalidOrder`` naming every bad field; reads nothing."""
    errors: dict[str, str] = {}
    if request.channel not in Channel.values:
        errors["channel"] = f"Unknown channel {request.channel!r}."
    if not request.lines:
        errors["lines"] = "An order needs at least one line."
    elif len(request.lines) > settings.OMS_MAX_ORDER_LINES:
        errors["lines"] = f"At most {settings.OMS_MAX_ORDER_LINES} lines per order."
    limit = settings.OMS_MAX_LINE_QUANTITY
    for index, line in enumerate(request.lines):
        quantity = line.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            errors[f"lines[{index}].quantity"] = "Must be a whole number."
        elif not 1 <= quantity <= limit:
            errors[f"lines[{index}].quantity"] = f"Must be between 1 and {limit}."
        if not isinstance(line.sku, str) or not line.sku.strip():
            errors[f"lines[{index}].sku"] = "A SKU is required."
        if not isinstance(line.customization, dict):
            errors[f"lines[{index}].customization"] = "Must be an object."
    if len(request.po_number) > 64:
        errors["po_number"] = "At most 64 characters."
    if errors:
        raise InvalidOrder("The order is not valid.", fields=errors)


def default_payment_method(company: Company | None) -> str:
    """A company on payment terms pays by invoice; everyone else by card."""
    if company is not None and company.payment_terms != PaymentTerms.PREPAID:
        return PaymentMethod.INVOICE
    return PaymentMethod.CARD


def apply_payment(order: Order, request: OrderRequest, company: Company | None) -> None:
    """Put the request's payment instruction on the order, or refuse it (422)."""
    method = request.payment_method or default_payment_method(company)
    token = request.payment_token.strip()
    authorisation = request.payment_authorisation.strip()
    if method not in PaymentMethod.values:
        raise InvalidOrder(
            f"Unknown payment method {method!r}.", fields={"payment.method": "unknown"}
        )
    if method == PaymentMethod.INVOICE and default_payment_method(company) != method:
        raise InvalidOrder(
            "Only a company on payment terms can pay by invoice: pay by card.",
            fields={"payment.method": "no payment terms"},
        )
    if method != PaymentMethod.CARD and (token or authorisation):
        raise InvalidOrder(
            "A card token or authorisation goes with the card method only.",
            fields={"payment.method": "not card"},
        )
    if request.payment_method == PaymentMethod.CARD and not (token or authorisation):
        raise InvalidOrder(
            "A card payment needs the card's token or the storefront's authorisation.",
            fields={"payment": "token or authorisation required"},
        )
    if token and authorisation:
        raise InvalidOrder(
            "Send a card token or an authorisation, not both.",
            fields={"payment": "token or authorisation"},
        )
    order.payment_method = method
    order.payment_token = token
    order.payment_authorisation = authorisation
    # Store credit is taken in full at placement (``spend_order_store_credit``): there
    # is nothing to authorise, so it is captured from the start.
    starting_status: dict[str, str] = {
        PaymentMethod.CARD: PaymentStatus.PENDING,
        PaymentMethod.STORE_CREDIT: PaymentStatus.CAPTURED,
    }
    order.payment_status = starting_status.get(method, PaymentStatus.NONE)


def spend_order_store_credit(order: Order, actor: Actor) -> None:
    """Take a store-credit order's total from its customer's balance: one statement on
    PostgreSQL, which locks the account row until commit. Raises
    ``InsufficientStoreCredit`` (422, naming the balance) when it does not cover the
    total; the placement's transaction then writes nothing."""
    if order.payment_method != PaymentMethod.STORE_CREDIT or order.grand_total <= 0:
        return
    spend_store_credit(
        customer_id=order.customer_id,
        amount=order.grand_total,
        currency=order.currency,
        order_number=order.number,
        actor=actor,
        reason="order placed",
    )


def request_skus(request: OrderRequest) -> list[str]:
    """The request's SKUs as products are looked up: stripped, upper case, sorted."""
    return sorted({line.sku.strip().upper() for line in request.lines})


def load_products(
    skus: list[str], company: Company | None, *, credit_slot: bool = False
) -> tuple[dict[str, Product], hold_rules.CreditLock | None]:
    """The products of ``skus`` by SKU (those that exist), in one statement.
    ``credit_slot``: that statement also takes one of the credit slots of ``company``
    (``orders.holds``), whose exposure the hold rules then read afresh."""
    slot_sql = hold_rules.credit_slot_sql() if credit_slot else None
    credit = None
    if slot_sql is not None and hold_rules.decides_credit(company):
        assert company is not None  # noqa: S101 - decides_credit
        params = [*hold_rules.credit_slot_params(company.pk), *skus]
        found = rows.fetch(sql.products_by_sku_sql(len(skus), slot_sql), params)
        credit = hold_rules.CreditLock(slot=found[0][-1])
    elif skus:
        found = rows.fetch(sql.products_by_sku_sql(len(skus)), skus)
    else:
        found = []
    products = {p.sku: p for p in (rows.instance(Product, row) for row in found) if p}
    return products, credit


def checked_products(request: OrderRequest, known: Mapping[str, Product]) -> dict[str, Product]:
    """The request's products picked from ``known`` (products by SKU, possibly more);
    refuses an unknown SKU (``UnknownSku``) or one no longer sold (``InvalidOrder``)."""
    skus = request_skus(request)
    unknown = [sku for sku in skus if sku not in known]
    if unknown:
        raise UnknownSku(f"Unknown SKU: {', '.join(unknown)}.", skus=unknown)
    products = {sku: known[sku] for sku in skus}
    inactive = sorted(sku for sku, p in products.items() if not p.is_active)
    if inactive:
        raise InvalidOrder(f"No longer sold: {', '.join(inactive)}.", skus=inactive)
    return products


def _load_products(
    request: OrderRequest, *, credit_slot: bool = False
) -> tuple[dict[str, Product], hold_rules.CreditLock | None]:
    """The request's products by SKU, in one statement (``load_products``), checked
    (``checked_products``)."""
    known, credit = load_products(
        request_skus(request), request.customer.company, credit_slot=credit_slot
    )
    return checked_products(request, known), credit


def clean_customization(index: int, product: Product, data: dict[str, Any]) -> dict[str, str]:
    """Line ``index``'s customization, checked against what ``product`` takes (stripped
    text values); raises ``InvalidOrder`` naming the line's field."""
    if not data:
        return {}
    if not product.is_customizable:
        raise InvalidOrder(
            f"{product.sku} cannot be customized.",
            fields={f"lines[{index}].customization": "not customizable"},
        )
    allowed = set(product.customization_fields)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidOrder(
            f"{product.sku} takes only {', '.join(sorted(allowed)) or 'no fields'}.",
            fields={f"lines[{index}].customization": f"unknown fields: {', '.join(unknown)}"},
        )
    cleaned = {}
    for key, value in data.items():
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_CUSTOMIZATION_VALUE:
            raise InvalidOrder(
                f"Customization {key!r} must be text of 1 to {MAX_CUSTOMIZATION_VALUE} characters.",
                fields={f"lines[{index}].customization.{key}": "invalid"},
            )
        cleaned[key] = value.strip()
    return cleaned


def _pickup_store(code: str) -> Location:
    store = Location.objects.filter(code=code.strip().upper(), is_active=True, pickup=True).first()
    if store is None:
        raise InvalidOrder(
            f"{code!r} is not a store that offers pickup.",
            fields={"pickup_location": "not a pickup store"},
        )
    return store


def snapshot_address(order: Order, address: dict[str, Any], customer: Customer) -> None:
    """Copy a cleaned address onto the order (the customer's name and phone fill gaps)."""
    order.ship_name = address["name"] or customer.full_name
    order.ship_line1 = address["line1"]
    order.ship_line2 = address["line2"]
    order.ship_city = address["city"]
    order.ship_region = address["region"]
    order.ship_postal_code = address["postal_code"]
    order.ship_country = address["country"]
    order.ship_phone = address["phone"] or customer.phone
    order.ship_latitude = address["latitude"]
    order.ship_longitude = address["longitude"]


def build_order(request: OrderRequest) -> tuple[Order, list[OrderLine], dict[str, Product]]:
    """Validate a request and price it into unsaved rows. Reads only; raises on bad input."""
    order, lines, products, _ = _build_order(request, credit_slot=False)
    return order, lines, products


def _build_order(
    request: OrderRequest, *, credit_slot: bool
) -> tuple[Order, list[OrderLine], dict[str, Product], hold_rules.CreditLock | None]:
    """``build_order``, taking a credit slot of the buyer's company on the way if asked
    (its first statement): the slot held, or None when none was taken."""
    validate_request_shape(request)
    products, credit = _load_products(request, credit_slot=credit_slot)
    order, lines = price_order(request, products)
    return order, lines, products, credit


PriceBreaks = Callable[[Company | None, list[int]], Mapping[int, list[Any]]]


def price_order(
    request: OrderRequest,
    products: Mapping[str, Product],
    *,
    breaks: PriceBreaks = contract_prices,
    clean_address: Callable[[dict[str, Any]], dict[str, Any]] = clean_postal_address,
) -> tuple[Order, list[OrderLine]]:
    """Validate a request whose shape and products are checked (``products``: its own,
    by SKU) and price it into unsaved rows. Reads only (the contract prices through
    ``breaks``, the shipping method and tax rate from the process cache); raises on bad
    input. Batch placement passes readers of what it loaded once for many orders."""
    customer = request.customer
    company: Company | None = customer.company
    method = get_active_shipping_method(request.shipping_method_code)
    order = Order(
        channel=request.channel,
        status=OrderStatus.PLACED,
        customer=customer,
        company=company,
        placed_by=request.placed_by,
        po_number=request.po_number.strip(),
        external_reference=request.external_reference.strip(),
        email=request.email or customer.email,
        shipping_method=method,
        currency=method.currency,
        notes=request.notes,
    )
    apply_payment(order, request, company)
    if method.is_pickup:
        if not request.pickup_location_code:
            raise InvalidOrder(
                "Store pickup needs a pickup location.", fields={"pickup_location": "required"}
            )
        store = _pickup_store(request.pickup_location_code)
        order.pickup_location = store
        address = clean_address(
            {
                **{f: getattr(store, f) for f in ("line1", "line2", "city", "region")},
                "postal_code": store.postal_code,
                "country": store.country,
                "latitude": store.latitude,
                "longitude": store.longitude,
                "name": (request.shipping_address or {}).get("name", ""),
                "phone": (request.shipping_address or {}).get("phone", ""),
            }
        )
    else:
        if not request.shipping_address:
            raise InvalidOrder(
                "A shipping address is required.", fields={"shipping_address": "required"}
            )
        address = clean_address(request.shipping_address)
    snapshot_address(order, address, customer)
    if request.billing_address:
        billing = dict(clean_address(request.billing_address))
        billing.pop("latitude", None)
        billing.pop("longitude", None)
        order.billing_address = billing
    if company is not None and company.po_required and not order.po_number:
        raise PoNumberRequired(
            f"{company.name} requires a PO number on every order.",
            fields={"po_number": "required"},
        )

    prices = breaks(company, [p.pk for p in products.values()])
    rate = (
        None
        if company is not None and company.tax_exempt
        else cached_tax_rate(order.ship_country, order.ship_region)
    )
    tax_rate = rate.rate if rate else Decimal("0")
    lines = []
    for index, spec in enumerate(request.lines):
        product = products[spec.sku.strip().upper()]
        unit_price = (
            Decimal("0")
            if request.no_charge
            else unit_price_for(product, spec.quantity, prices.get(product.pk, []))
        )
        line_total = money(unit_price * spec.quantity)
        lines.append(
            OrderLine(
                line_number=index + 1,
                product=product,
                sku=product.sku,
                description=product.name,
                unit_price=unit_price,
                line_total=line_total,
                customization=clean_customization(index, product, spec.customization),
                quantity_ordered=spec.quantity,
            )
        )
    order.tax_rate = tax_rate
    order.tax_shipping = bool(rate and rate.taxes_shipping)
    order.shipping_total = Decimal("0") if request.no_charge else method.price
    apply_totals(order, lines)
    return order, lines


def short_lines(lines: list[OrderLine], exc: InsufficientStock) -> InsufficientStock:
    """``exc`` (short products) restated as the order's short lines, as the API shows it."""
    short = {s["product_id"]: s for s in exc.details.get("shortages", [])}
    named = [
        {
            "line": line.line_number,
            "sku": line.sku,
            "requested": short[line.product_id]["requested"],
            "available": short[line.product_id]["available"],
        }
        for line in lines
        if line.product_id in short
    ]
    skus = ", ".join(f"{n['sku']} ({n['available']} available)" for n in named)
    return InsufficientStock(f"Not enough stock for {skus}.", lines=named)


def commit_pickup(order: Order, lines: list[OrderLine], actor: Actor) -> None:
    """A pickup order takes its units at its store at once: allocated there."""
    store = order.pickup_location
    assert store is not None  # noqa: S101 - guaranteed by build_order
    demand: dict[int, int] = {}
    for line in lines:
        demand[line.product_id] = demand.get(line.product_id, 0) + line.quantity_ordered
    networks = network_stock_for_update(demand)
    active = location_activity_for_share([store.pk])  # lock order: locations, then stock
    levels = stock_levels_for_update((store.pk, pid) for pid in demand)
    changes = StockChangeSet(
        actor=actor,
        reference=order.number,
        note="store pickup",
        networks=networks,
        active_locations=active,
    )

    # The store's units must be free there AND not promised to other orders network-wide
    # (an unrouted order may be counting on them).
    def free(pid: int) -> int:
        return min(levels[(store.pk, pid)].available_to_promise, networks[pid].available_to_promise)

    short = [
        {"product_id": pid, "requested": qty, "available": free(pid)}
        for pid, qty in demand.items()
        if free(pid) < qty
    ]
    if short:
        raise short_lines(lines, InsufficientStock("short at store", shortages=short))
    for pid, qty in demand.items():
        changes.change(
            levels[(store.pk, pid)], StockBucket.ALLOCATED, qty, MovementReason.ALLOCATION
        )
    changes.commit()
    for line in lines:
        line.quantity_allocated = line.quantity_ordered


def backorderable_product_ids(order: Order, products: Mapping[str, Product]) -> set[int]:
    """The products of this order whose shortfall is backordered instead of refused."""
    company = order.company
    if company is not None and company.allow_backorders:
        return {p.pk for p in products.values()}
    return {p.pk for p in products.values() if p.allow_backorder}


def commit_network(
    order: Order,
    lines: list[OrderLine],
    products: dict[str, Product],
    *,
    already_committed: Mapping[int, int] | None = None,
    networks: dict[int, NetworkStock] | None = None,
) -> None:
    """Commit the lines' demand (less what is ``already_committed``, e.g. by a draft's
    reservation) and record any backordered shortfall on the lines."""
    already = already_committed or {}
    demand: dict[int, int] = {}
    for line in lines:
        demand[line.product_id] = demand.get(line.product_id, 0) + line.quantity_ordered
    to_commit = {pid: qty - already.get(pid, 0) for pid, qty in demand.items()}
    to_commit = {pid: qty for pid, qty in to_commit.items() if qty > 0}
    try:
        result = commit_demand(
            to_commit, backorderable=backorderable_product_ids(order, products), networks=networks
        )
    except InsufficientStock as exc:
        raise short_lines(lines, exc) from exc
    # Spread a product's backorder over its lines, last lines first.
    remaining = dict(result.backordered)
    for line in reversed(lines):
        short = min(remaining.get(line.product_id, 0), line.quantity_ordered)
        if short:
            line.quantity_backordered = short
            remaining[line.product_id] -= short


def promise_order(order: Order, *, now: dt.datetime) -> Promise:
    """The delivery promise of an order about to be placed (no queries when warm)."""
    store = order.pickup_location
    destination = (
        (order.ship_latitude, order.ship_longitude) if order.ship_latitude is not None else None
    )
    return estimate_promise(
        order.shipping_method,
        now=now,
        destination=destination,  # type: ignore[arg-type]
        pickup_origin=(store.code, store.latitude, store.longitude) if store else None,
    )


def backorder_event(order: Order, lines: list[OrderLine], actor: Actor) -> OrderEvent | None:
    """The timeline's note of the units backordered at placement, if any (unsaved)."""
    short = [line for line in lines if line.quantity_backordered]
    if not short:
        return None
    return OrderEvent(
        order=order,
        type=OrderEventType.NOTE,
        message="Backordered: " + ", ".join(f"{li.sku} ×{li.quantity_backordered}" for li in short),
        payload={"backordered": {li.sku: li.quantity_backordered for li in short}},
        **actor.as_fields(),
    )


def _record_backorders(order: Order, lines: list[OrderLine], actor: Actor) -> bool:
    """Lines were written before demand was committed; note any shortfall (rare: only
    SKUs or companies that allow backorders get here). True if there was one."""
    event = backorder_event(order, lines, actor)
    if event is None:
        return False
    OrderLine.objects.bulk_update(
        [line for line in lines if line.quantity_backordered], ["quantity_backordered"]
    )
    event.save(force_insert=True)
    return True


def _insert_order(order: Order) -> None:
    """Insert the order. On PostgreSQL the same statement takes its number."""
    number_sql = next_order_number_sql()
    if number_sql is None:
        order.number = next_order_number()
    computed = {"number": number_sql} if number_sql else None
    if not order.external_reference:
        rows.insert([order], computed=computed)
        return
    # Imports and marketplaces may send the same order twice: the unique constraint
    # decides, inside a savepoint so the refusal is a clean 409, not a broken transaction.
    try:
        with transaction.atomic():
            rows.insert([order], computed=computed)
    except IntegrityError as exc:
        raise DuplicateOrder(
            f"Order {order.external_reference} from {order.get_channel_display()} "
            "was already imported.",
            external_reference=order.external_reference,
        ) from exc


def hold_rows(order: Order, decisions: list[hold_rules.HoldDecision]) -> list[OrderHold]:
    """The holds the rules decided for a new order (unsaved)."""
    return [
        OrderHold(order=order, kind=d.kind, reason=d.reason, placed_by_label="rules")
        for d in decisions
    ]


def placement_rows(
    order: Order,
    lines: list[OrderLine],
    placed_holds: list[OrderHold],
    request: OrderRequest,
    actor: Actor,
) -> tuple[list[OrderEvent], list[OutboxEvent]]:
    """A new order's timeline events (placed, paid with store credit, each hold) and
    its outbox events (``order.placed``, and ``order.on_hold`` when held), unsaved: the
    caller inserts them with the lines and holds, then calls ``outbox.emitted``."""
    events = [
        OrderEvent(
            order=order,
            type=OrderEventType.PLACED,
            message=f"Placed via {order.get_channel_display()}"
            + (f" by {request.placed_by.get_username()}" if request.placed_by else ""),
            payload={
                "grand_total": str(order.grand_total),
                "lines": [
                    {
                        "sku": li.sku,
                        "quantity": li.quantity_ordered,
                        "unit_price": str(li.unit_price),
                    }
                    for li in lines
                ],
            },
            **actor.as_fields(),
        ),
        *[
            OrderEvent(
                order=order,
                type=OrderEventType.NOTE,
                message=f"Paid {money_text} with store credit",
                payload={"store_credit": str(-order.grand_total)},
                **actor.as_fields(),
            )
            for money_text in _store_credit_paid(order)
        ],
        *[
            OrderEvent(
                order=order,
                type=OrderEventType.HOLD_PLACED,
                message=f"{h.get_kind_display()} hold: {h.reason}"[:300],
                payload={"kind": h.kind},
                **Actor.system("hold rules").as_fields(),
            )
            for h in placed_holds
        ],
    ]
    placed_event = outbox.new_event("order.placed", {"order_id": order.pk, "number": order.number})
    emitted = [placed_event]
    if placed_holds:  # companies hear of every hold (webhook event type order.on_hold)
        kinds = [h.kind for h in placed_holds]
        emitted.append(outbox.new_event("order.on_hold", {"order_id": order.pk, "kinds": kinds}))
    return events, emitted


def place_order(
    *,
    request: OrderRequest,
    actor: Actor,
    before_commit: Callable[[PlacedOrder], None] | None = None,
) -> PlacedOrder:
    """Place an order from any channel.

    Preconditions: a customer (a company's buyer for B2B). Validates everything
    first and raises ``InvalidInput`` subclasses (422/400) or ``InsufficientStock``
    (409, naming the short lines) without writing anything. Side effects: commits
    network demand (a pickup order allocates at its store), records holds, the
    timeline, and an ``order.placed`` outbox event (confirmation e-mail, routing).
    ``before_commit`` runs inside the transaction once the order's rows are written,
    before any stock row is locked (the API renders its response and stores its
    idempotency record there: request keys come before stock rows in the lock order).
    If committing demand then backorders some units, it runs once more with the final
    lines (the API updates the response it stored). If it, or the demand commitment
    after it, raises, nothing is written.

    The credit hold of a company on credit terms is decided under its credit slots
    (``orders.holds``): an order near the limit, or large against it, is rolled back
    and placed once more holding all of them, so concurrent orders cannot pass the
    limit together.
    """
    try:
        return _place_order(request=request, actor=actor, before_commit=before_commit)
    except hold_rules.CreditDecisionContended:
        return _place_order(
            request=request, actor=actor, before_commit=before_commit, exact_credit=True
        )


@transaction.atomic
def _place_order(
    *,
    request: OrderRequest,
    actor: Actor,
    before_commit: Callable[[PlacedOrder], None] | None,
    exact_credit: bool = False,
) -> PlacedOrder:
    """``place_order``, in one transaction. Lock order (``inventory.locks``): the
    company's credit slots (one, taken by the products statement, or all of them, first
    of all when ``exact_credit``), request keys (the order's external reference, the
    caller's idempotency record), then the SKUs' rows."""
    credit = hold_rules.lock_credit_decisions(request.customer.company) if exact_credit else None
    order, lines, products, slot = _build_order(request, credit_slot=not exact_credit)
    order.placed_at = timezone.now()
    order.promised_delivery_date = promise_order(order, now=order.placed_at).delivery_date
    _insert_order(order)

    decisions = hold_rules.decide_holds(
        order,
        credit=credit or slot or hold_rules.CreditLock(exact=connection.vendor != "postgresql"),
    )

    # Everything is written first and the SKUs' rows are locked last, so that hot SKUs
    # stay locked for two statements and the commit, not for the whole request. A
    # pickup order takes all its units at its store or is refused, so its lines are
    # written allocated.
    for line in lines:
        line.order = order
        if order.pickup_location_id:
            line.quantity_allocated = line.quantity_ordered
    placed_holds = hold_rows(order, decisions)
    events, emitted = placement_rows(order, lines, placed_holds, request, actor)
    # One statement for all of them (they refer to the order only, not to each other).
    rows.insert_groups(lines, placed_holds, events, emitted)
    outbox.emitted(*emitted)
    placed = PlacedOrder(order=order, lines=lines, holds=placed_holds)
    # The caller's idempotency record is a request key: it is written before any stock
    # row is locked, on every path (inventory.locks), so a request waiting for a
    # duplicate's key holds no SKU another request needs.
    if before_commit is not None:
        before_commit(placed)
    if order.pickup_location_id:
        commit_pickup(order, lines, actor)
    else:
        commit_network(order, lines, products)
        if _record_backorders(order, lines, actor) and before_commit is not None:
            before_commit(placed)  # the response shows what was backordered
    # The customer's store-credit account is the last row locked (after the stock
    # rows, as in cancellations and edits, so the two cannot deadlock): one statement.
    spend_order_store_credit(order, actor)
    return placed


def _store_credit_paid(order: Order) -> list[str]:
    """The timeline's "paid with store credit" line, when the order is (in the insert
    statement with the other events: no round trip of its own)."""
    if order.payment_method != PaymentMethod.STORE_CREDIT or order.grand_total <= 0:
        return []
    return [format_money(order.grand_total, order.currency)]
