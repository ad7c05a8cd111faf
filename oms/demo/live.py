"""The live part of the demo: today's orders, in every state an operator meets.

Historical orders are closed records. These go through the services a working day
uses, in its order: ``place_order`` from every channel (holds and backorders
included), ``route_order``, partners accepting or rejecting their requests, agents
cancelling, warehouses shipping with the simulated carrier whose parcels then move
along, stores handing over pickups, and sales reps' drafts, some holding stock.

Live order ``index`` always gets the same script (``live_script``): who it comes
from and what happens to it. Its contents are drawn from its own random stream
against the stock of the moment and capped to what can be promised, so placing it
never fails, and the same database gives the same orders.

Idempotency: the seed's actor places every live order, so the ``placed`` timeline
events it wrote count the live orders that exist and list them in index order. Every
later step checks the state it would change (no shipment yet, still open, request
still submitted, not yet ready) before it acts, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from core.actors import Actor, ActorKind
from customers.models import Customer, PriceListEntry
from fulfillment.carriers import SIMULATED_CODE
from fulfillment.changes import cancel_order
from fulfillment.models import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentStatus,
    RequestStatus,
    RoutingDecision,
    Shipment,
)
from fulfillment.operations import (
    RejectionReason,
    accept_fulfillment_request,
    confirm_pickup,
    mark_ready_for_pickup,
    reject_fulfillment_lines,
    ship_fulfillment_order,
)
from fulfillment.routing import route_order
from fulfillment.simulation import advance_simulated_shipments
from inventory.models import Location, LocationKind, NetworkStock, Product, StockLevel
from orders import holds as hold_rules
from orders.drafts import create_draft_order, reserve_draft_stock
from orders.models import (
    Channel,
    HoldKind,
    Order,
    OrderEvent,
    OrderEventType,
    OrderLine,
    OrderStatus,
)
from orders.placement import LineRequest, OrderRequest, build_order, place_order

from .common import (
    B2B_METHODS,
    B2B_QUANTITIES,
    B2C_METHODS,
    B2C_QUANTITIES,
    LINE_COUNTS,
    SAME_DAY_STATES,
    SEED_ACTOR,
    StepResult,
    batched,
    create_demo_customer,
    newcomer_spec,
    pick,
    popularity,
    random_address,
    rng,
)
from .data import (
    CANCEL_REASONS,
    CUSTOMIZATION_VALUES,
    FIRST_NAMES,
    LAST_NAMES,
    PARTIAL_CANCEL_REASONS,
    CompanySpec,
)

# One transaction per batch: with no broker, routing and e-mails run after each commit.
LIVE_BATCH = 25
PARTNER_KINDS = (LocationKind.THIRD_PARTY, LocationKind.DROPSHIP_VENDOR)
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PROCESSING)
CUSTOMER_TRIES = 8
DRAFT_NEWCOMERS = 100_000  # drafts' first-time shoppers, apart from live orders' ones
BUYER_TRIES = 6

Consumer = tuple[Customer, dict[str, Any]]
Buyer = tuple[Customer, dict[str, Any], CompanySpec]


class Kind(enum.StrEnum):
    WEB = "web"
    MARKETPLACE = "marketplace"
    AGENT = "agent"
    B2B_API = "b2b_api"
    SALES = "sales"
    PICKUP = "pickup"
    FRAUD_REVIEW = "fraud_review"  # a new customer's first order, over the fraud limit
    APPROVAL = "approval"  # a company order above its approval threshold
    BACKORDER = "backorder"  # more units than the network has, of SKUs that may wait


class Fate(enum.StrEnum):
    OPEN = "open"  # routed, waiting for the warehouse (or held, or waiting for stock)
    SHIP = "ship"
    SHIP_PART = "ship_part"
    CANCEL = "cancel"
    CANCEL_PART = "cancel_part"
    READY = "ready"  # pickup: waiting at the store
    PICKED_UP = "picked_up"


class Stage(enum.IntEnum):
    """How far the simulated carrier has taken a shipment: the number of its scans."""

    LABEL = 0
    IN_TRANSIT = 1
    OUT_FOR_DELIVERY = 2
    DELIVERED = 3


@dataclass(frozen=True)
class LiveScript:
    kind: Kind
    fate: Fate
    stage: Stage


K, F = Kind, Fate
# The first orders show every kind and fate once, so even a small seed (the tests')
# has orders placed, processing, completed and cancelled; the rest are drawn.
SHOWCASE: tuple[tuple[Kind, Fate], ...] = (
    (K.WEB, F.SHIP), (K.B2B_API, F.SHIP), (K.PICKUP, F.READY), (K.FRAUD_REVIEW, F.OPEN),
    (K.AGENT, F.CANCEL), (K.MARKETPLACE, F.OPEN), (K.APPROVAL, F.OPEN),
    (K.BACKORDER, F.OPEN), (K.SALES, F.CANCEL_PART), (K.WEB, F.SHIP_PART),
    (K.MARKETPLACE, F.SHIP), (K.B2B_API, F.OPEN), (K.WEB, F.OPEN),
    (K.PICKUP, F.PICKED_UP), (K.AGENT, F.SHIP), (K.WEB, F.SHIP), (K.SALES, F.SHIP),
    (K.MARKETPLACE, F.CANCEL), (K.WEB, F.CANCEL_PART), (K.B2B_API, F.SHIP),
    (K.WEB, F.SHIP), (K.PICKUP, F.OPEN), (K.BACKORDER, F.OPEN), (K.WEB, F.OPEN),
    (K.MARKETPLACE, F.SHIP),
)  # fmt: skip
KIND_WEIGHTS = (
    (K.WEB, 38), (K.MARKETPLACE, 14), (K.AGENT, 8), (K.B2B_API, 14), (K.SALES, 8),
    (K.PICKUP, 8), (K.FRAUD_REVIEW, 2), (K.APPROVAL, 3), (K.BACKORDER, 5),
)  # fmt: skip
FATE_WEIGHTS = ((F.SHIP, 45), (F.OPEN, 30), (F.SHIP_PART, 6), (F.CANCEL, 9), (F.CANCEL_PART, 10))
PICKUP_FATES = ((F.READY, 45), (F.PICKED_UP, 25), (F.OPEN, 30))
STAGE_WEIGHTS = (
    (Stage.DELIVERED, 35),
    (Stage.OUT_FOR_DELIVERY, 20),
    (Stage.IN_TRANSIT, 25),
    (Stage.LABEL, 20),
)
# Held and backordered orders stay as they are: that is what they show.
STAY_OPEN = {K.FRAUD_REVIEW, K.APPROVAL, K.BACKORDER}
CHANNELS = {
    K.WEB: Channel.WEB,
    K.MARKETPLACE: Channel.MARKETPLACE,
    K.AGENT: Channel.AGENT,
    K.B2B_API: Channel.B2B_API,
    K.SALES: Channel.SALES,
    K.PICKUP: Channel.WEB,
    K.FRAUD_REVIEW: Channel.WEB,
    K.BACKORDER: Channel.WEB,
}


def live_script(index: int) -> LiveScript:
    """What live order ``index`` is and what happens to it (the same on every run)."""
    r = rng("live-script", index)
    stage = pick(r, STAGE_WEIGHTS)
    if index < len(SHOWCASE):
        kind, fate = SHOWCASE[index]
    else:
        kind = pick(r, KIND_WEIGHTS)
        if kind in STAY_OPEN:
            fate = F.OPEN
        elif kind == K.PICKUP:
            fate = pick(r, PICKUP_FATES)
        else:
            fate = pick(r, FATE_WEIGHTS)
    return LiveScript(kind, fate, stage)


@dataclass(frozen=True)
class LiveOrder:
    index: int
    script: LiveScript
    order_id: int


def live_orders(limit: int) -> list[LiveOrder]:
    """The live orders that exist, in index order (the order they were placed in)."""
    ids = (
        OrderEvent.objects.filter(
            type=OrderEventType.PLACED,
            actor_kind=ActorKind.SYSTEM,
            actor_label=SEED_ACTOR.label,
        )
        .order_by("order_id")
        .values_list("order_id", flat=True)[:limit]
    )
    return [LiveOrder(index, live_script(index), order_id) for index, order_id in enumerate(ids)]


# --- building the orders --------------------------------------------------------------


class LiveOrderBook:
    """Draws the order requests of live orders from the demo's customers and stock."""

    def __init__(
        self,
        *,
        consumers: list[Consumer],
        buyers: list[Buyer],
        products: list[Product],
        users: dict[str, User],
        stores: list[Location],
    ) -> None:
        self.consumers = consumers
        self.buyers = buyers
        self.products = [p for p in products if p.is_active]
        self.weights = [popularity(p.sku) for p in self.products]
        self.users = users
        self.stores = stores
        self.contract: dict[int, list[Product]] = {}
        by_id = {p.pk: p for p in self.products}
        for entry in PriceListEntry.objects.filter(min_quantity=1).order_by("product__sku"):
            if entry.product_id in by_id:
                self.contract.setdefault(entry.price_list_id, []).append(by_id[entry.product_id])
        self.fraud_limit = Decimal(settings.OMS_FRAUD_NEW_CUSTOMER_LIMIT)

    # --- what the services would decide -------------------------------------------

    @staticmethod
    def atp(product_ids: Sequence[int]) -> dict[int, int]:
        rows = NetworkStock.objects.filter(product_id__in=list(product_ids))
        return {row.product_id: row.available_to_promise for row in rows}

    @staticmethod
    def holds(request: OrderRequest) -> set[str]:
        """The holds ``place_order`` would put on this request, by the same rules."""
        order, _, _ = build_order(request)
        customer = request.customer
        if customer.company_id:
            exposure = hold_rules.company_open_exposure(customer.company_id)
            prior, recent = 1, 0
        else:
            exposure = Decimal("0")
            prior, recent = hold_rules.customer_history(customer.pk)
        decisions = hold_rules.evaluate_holds(
            order, prior_orders=prior, recent_orders=recent, company_exposure=exposure
        )
        return {decision.kind for decision in decisions}

    # --- lines ----------------------------------------------------------------------

    def _customization(self, r: random.Random, product: Product) -> dict[str, str]:
        if not product.customization_fields or r.random() >= 0.12:
            return {}
        name = str(product.customization_fields[0])
        return {name: r.choice(CUSTOMIZATION_VALUES.get(name, ("Demo",)))}

    def draw_lines(
        self,
        r: random.Random,
        quantities: Sequence[tuple[int, int]],
        *,
        pool: list[Product] | None = None,
        count: int | None = None,
    ) -> list[LineRequest]:
        """Lines of popular SKUs, each capped to what the network can promise."""
        products = pool or self.products
        weights = [popularity(p.sku) for p in products] if pool else self.weights
        for _ in range(10):
            wanted = count or pick(r, LINE_COUNTS)
            chosen = list(dict.fromkeys(r.choices(products, weights, k=wanted)))
            atp = self.atp([p.pk for p in chosen])
            lines = []
            for product in chosen:
                quantity = pick(r, quantities)
                if product.list_price > 200:
                    quantity = min(quantity, 4)  # nobody orders fifty dining tables
                quantity = min(quantity, atp.get(product.pk, 0))
                if quantity > 0:
                    lines.append(
                        LineRequest(product.sku, quantity, self._customization(r, product))
                    )
            if lines:
                return lines
        fullest = NetworkStock.objects.select_related("product").order_by("-available").first()
        if fullest is None or fullest.available_to_promise <= 0:
            raise RuntimeError("The demo network has no stock left to sell.")
        return [LineRequest(fullest.product.sku, 1)]

    def _store_lines(self, r: random.Random, store: Location) -> list[LineRequest]:
        levels = StockLevel.objects.filter(location=store, product__is_active=True)
        free = {lv.product_id: lv.available_to_promise for lv in levels}
        # A pickup takes its store's units at once; taking units the network already
        # promised to other orders would oversell them, so stay within both.
        network = self.atp(list(free))
        products = [p for p in self.products if min(free.get(p.pk, 0), network.get(p.pk, 0)) > 0]
        if not products:
            return []
        weights = [popularity(p.sku) for p in products]
        chosen = dict.fromkeys(r.choices(products, weights, k=pick(r, ((1, 70), (2, 30)))))
        return [
            LineRequest(p.sku, min(pick(r, B2C_QUANTITIES), free[p.pk], network[p.pk]))
            for p in chosen
        ]

    def contract_pool(self, customer: Customer) -> list[Product]:
        company = customer.company
        if company is None or company.price_list_id is None:
            return []
        return self.contract.get(company.price_list_id, [])

    def company_lines(self, r: random.Random, buyer: Customer) -> list[LineRequest]:
        """A company's lines: mostly its contract SKUs when it has a price list."""
        contract = self.contract_pool(buyer)
        pool = contract if contract and r.random() < 0.7 else None
        return self.draw_lines(r, B2B_QUANTITIES, pool=pool)

    # --- requests -------------------------------------------------------------------

    def _newcomer(self, index: int) -> Consumer:
        """A first-time shopper, created the first time it is needed."""
        spec = newcomer_spec(index)
        customer = Customer.objects.filter(email__iexact=spec.email).first()
        if customer is None:
            customer = create_demo_customer(spec)
        return customer, spec.shipping

    def consumer_request(
        self,
        r: random.Random,
        newcomer: int,
        *,
        channel: str,
        lines: list[LineRequest],
        placed_by: User | None = None,
        external_reference: str = "",
        store: Location | None = None,
    ) -> OrderRequest:
        """The request for the first of a few customers it would not put on hold, or
        else of a first-time shopper (``newcomer_spec(newcomer)``).

        Right after seeding, the velocity rule holds the order of anyone with a few
        imported orders (``customer_history`` counts them as placed in the last hour),
        so it is the rules, asked beforehand, that pick among the customers."""
        candidates = r.sample(self.consumers, k=min(CUSTOMER_TRIES, len(self.consumers)))
        method = pick(r, B2C_METHODS)
        gift_to = None
        if r.random() < 0.08:
            # A gift: shipped to someone else, somewhere else.
            gift_to = random_address(r, f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}")
        request = None
        for candidate in [*candidates, None]:
            customer, address = candidate or self._newcomer(newcomer)
            ship_to = gift_to or address
            code = method
            if store is not None:
                code, ship_to = "PICKUP", {"name": customer.full_name, "phone": customer.phone}
            elif code == "SAME_DAY" and ship_to["region"] not in SAME_DAY_STATES:
                code = "EXPRESS"
            request = OrderRequest(
                customer=customer,
                channel=channel,
                shipping_method_code=code,
                lines=lines,
                shipping_address=ship_to,
                pickup_location_code=store.code if store else "",
                placed_by=placed_by,
                external_reference=external_reference,
            )
            if not self.holds(request):
                break
        assert request is not None  # noqa: S101 - the loop runs at least once
        return request  # held only when the rules would hold it whoever bought it

    def company_request(
        self,
        r: random.Random,
        buyer: Buyer,
        lines: list[LineRequest],
        *,
        channel: str,
        placed_by: User | None = None,
    ) -> OrderRequest:
        customer, address, _ = buyer
        company = customer.company
        po_number = ""
        if (company is not None and company.po_required) or r.random() < 0.4:
            po_number = f"PO-{r.randint(100000, 999999)}"
        method = pick(r, B2B_METHODS)
        return OrderRequest(
            customer=customer,
            channel=channel,
            shipping_method_code=method,
            lines=lines,
            shipping_address=address,
            po_number=po_number,
            placed_by=placed_by,
        )

    def request(self, index: int, script: LiveScript) -> OrderRequest:
        """The order request of live order ``index``."""
        r = rng("live-order", index)
        kind = script.kind
        if kind == K.PICKUP:
            return self._pickup(r, index)
        if kind in (K.B2B_API, K.SALES):
            sales = kind == K.SALES
            return self._company_order(
                r,
                channel=Channel.SALES if sales else Channel.B2B_API,
                placed_by=self.users.get("sales") if sales else None,
            )
        if kind == K.FRAUD_REVIEW:
            return self._fraud_review(r, index)
        if kind == K.APPROVAL:
            return self._approval(r)
        if kind == K.BACKORDER:
            return self._backorder(r, index)
        return self.consumer_request(
            r,
            index,
            channel=CHANNELS[kind],
            lines=self.draw_lines(r, B2C_QUANTITIES),
            placed_by=self.users.get("agent") if kind == K.AGENT else None,
            external_reference=f"MKT-{26_000_000 + index}" if kind == K.MARKETPLACE else "",
        )

    def _pickup(self, r: random.Random, index: int) -> OrderRequest:
        stores = list(self.stores)
        r.shuffle(stores)
        for store in stores:
            lines = self._store_lines(r, store)
            if lines:
                return self.consumer_request(
                    r, index, channel=Channel.WEB, lines=lines, store=store
                )
        lines = self.draw_lines(r, B2C_QUANTITIES)
        return self.consumer_request(r, index, channel=Channel.WEB, lines=lines)

    def _company_order(
        self, r: random.Random, *, channel: str, placed_by: User | None
    ) -> OrderRequest:
        """An order of one of a few buyers whose company takes it without a hold (the
        order, or a quarter of it, within approval threshold and credit limit)."""
        candidates = r.sample(self.buyers, k=min(BUYER_TRIES, len(self.buyers)))
        requests = []
        for buyer in candidates:
            lines = self.company_lines(r, buyer[0])
            request = self.company_request(r, buyer, lines, channel=channel, placed_by=placed_by)
            smaller = replace(
                request, lines=[replace(li, quantity=max(1, li.quantity // 4)) for li in lines]
            )
            for candidate in (request, smaller):
                if not self.holds(candidate):
                    return candidate
            requests.append(request)
        return requests[0]

    def _fraud_review(self, r: random.Random, index: int) -> OrderRequest:
        """A first-time shopper's big first order: held for fraud review."""
        customer, address = self._newcomer(index)
        pricey = [p for p in self.products if p.list_price >= 120 and not p.allow_backorder]
        weights = [popularity(p.sku) for p in pricey]
        method = pick(r, B2C_METHODS)
        if method == "SAME_DAY" and address["region"] not in SAME_DAY_STATES:
            method = "EXPRESS"
        lines: list[LineRequest] = []
        request = None
        for _ in range(12):
            product = r.choices(pricey, weights)[0]
            free = self.atp([product.pk]).get(product.pk, 0)
            if free <= 0 or any(li.sku == product.sku for li in lines):
                continue
            lines.append(LineRequest(product.sku, min(r.randint(1, 3), free)))
            request = OrderRequest(
                customer=customer,
                channel=Channel.WEB,
                shipping_method_code=method,
                lines=list(lines),
                shipping_address=address,
            )
            if build_order(request)[0].grand_total > self.fraud_limit * Decimal("1.1"):
                break
        if request is None:
            raise RuntimeError("No stock left for a large first order.")
        return request

    def _approval(self, r: random.Random) -> OrderRequest:
        """A company order above its approval threshold: quantities double (within
        stock), and lines are added, until the approval rule holds it."""
        eligible = sorted(
            (b for b in self.buyers if b[2].approval_threshold is not None),
            key=lambda b: (b[2].approval_threshold, b[0].email),
        )
        if not eligible:
            return self._company_order(r, channel=Channel.B2B_API, placed_by=None)
        buyer = r.choice(eligible[:6])
        request = self.company_request(
            r, buyer, self.company_lines(r, buyer[0]), channel=Channel.B2B_API
        )
        ids = {p.sku: p.pk for p in self.products}
        for _ in range(8):
            if HoldKind.B2B_APPROVAL in self.holds(request):
                break
            atp = self.atp([ids[li.sku] for li in request.lines])
            lines = [
                replace(li, quantity=min(li.quantity * 2, atp.get(ids[li.sku], 0)))
                for li in request.lines
            ]
            lines = [li for li in lines if li.quantity > 0]
            if sum(li.quantity for li in lines) <= sum(li.quantity for li in request.lines):
                # Out of stock to double: another line or two instead.
                taken = {li.sku for li in lines}
                lines += [li for li in self.company_lines(r, buyer[0]) if li.sku not in taken]
            request = replace(request, lines=lines or request.lines)
        return request

    def _backorder(self, r: random.Random, index: int) -> OrderRequest:
        """More units than the network has: a shopper's out-of-stock SKU that may be
        backordered, or a company allowed to backorder anything."""
        may_wait = [p for p in self.products if p.allow_backorder and not p.dropship_vendor_id]
        atp = self.atp([p.pk for p in may_wait])
        short = sorted(
            (p for p in may_wait if atp.get(p.pk, 0) <= 2), key=lambda p: (atp[p.pk], p.sku)
        )
        patient = [b for b in self.buyers if b[2].allow_backorders]
        if short and (not patient or r.random() < 0.6):
            product = r.choice(short[:4])
            lines = [LineRequest(product.sku, atp[product.pk] + r.randint(1, 2))]
            return self.consumer_request(r, index, channel=Channel.WEB, lines=lines)
        if not patient:
            lines = self.draw_lines(r, B2C_QUANTITIES)
            return self.consumer_request(r, index, channel=Channel.WEB, lines=lines)
        buyer = r.choice(patient)
        # The scarcest SKUs (sold out ones included): a line no single location could
        # fill would wait unrouted, as routing never splits a line.
        cheap = [p for p in self.products if p.list_price <= 150 and not p.dropship_vendor_id]
        atp = self.atp([p.pk for p in cheap])
        product = r.choice(sorted(cheap, key=lambda p: (atp.get(p.pk, 0), p.sku))[:8])
        lines = [LineRequest(product.sku, atp.get(product.pk, 0) + r.randint(4, 20))]
        return self.company_request(r, buyer, lines, channel=Channel.B2B_API)


# --- the steps --------------------------------------------------------------------------


def staff_users() -> dict[str, User]:
    return {
        u.username: u
        for u in User.objects.filter(username__in=["agent", "sales", "warehouse"], is_active=True)
    }


def staff_actor(users: dict[str, User], username: str) -> Actor:
    user = users.get(username)
    return Actor.for_user(user) if user is not None else SEED_ACTOR


def place_live_orders(result: StepResult, *, count: int, book: LiveOrderBook) -> None:
    existing = len(live_orders(count))
    result.existing = existing
    for chunk in batched(range(existing, count), LIVE_BATCH):
        with transaction.atomic():
            for index in chunk:
                request = book.request(index, live_script(index))
                place_order(request=request, actor=SEED_ACTOR)
                result.created += 1


@transaction.atomic
def route_live_orders(result: StepResult, live: list[LiveOrder]) -> None:
    """Route what is placed and was never routed. With no broker and auto-routing on,
    placement already did; ``route_order`` is idempotent either way."""
    ids = [item.order_id for item in live]
    decided = set(
        RoutingDecision.objects.filter(order_id__in=ids).values_list("order_id", flat=True)
    )
    result.existing = len(decided)
    waiting = (
        Order.objects.filter(pk__in=ids, status=OrderStatus.PLACED)
        .exclude(pk__in=decided)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for order_id in list(waiting):
        if route_order(order_id=order_id) is not None:
            result.created += 1


def _partner_requests(order_ids: list[int]) -> dict[int, list[FulfillmentOrder]]:
    found: dict[int, list[FulfillmentOrder]] = {}
    rows = (
        FulfillmentOrder.objects.filter(
            order_id__in=order_ids,
            request_status=RequestStatus.SUBMITTED,
            status=FulfillmentStatus.OPEN,
        )
        .select_related("location")
        .order_by("pk")
    )
    for fo in rows:
        found.setdefault(fo.order_id, []).append(fo)
    return found


@transaction.atomic
def answer_partner_requests(result: StepResult, live: list[LiveOrder]) -> None:
    """Partners accept most requests of open orders and leave a few pending; the first
    3PL request of the demo is rejected (no capacity), and its order routed again."""
    waiting = [item for item in live if item.script.fate == F.OPEN]
    ids = [item.order_id for item in waiting]
    requests = _partner_requests(ids)
    rejected = FulfillmentOrderLine.objects.filter(
        fulfillment_order__order_id__in=[item.order_id for item in live], quantity_rejected__gt=0
    ).exists()
    result.existing = FulfillmentOrder.objects.filter(
        order_id__in=ids, request_status__in=[RequestStatus.ACCEPTED, RequestStatus.REJECTED]
    ).count()
    for item in waiting:
        fos = requests.get(item.order_id, [])
        third_party = [fo for fo in fos if fo.location.kind == LocationKind.THIRD_PARTY]
        if not rejected and third_party:
            reject_fulfillment_lines(
                fo_id=third_party[0].pk,
                reason=RejectionReason.PARTNER_REJECTED,
                actor=SEED_ACTOR,
                note="No capacity left this week",
            )
            route_order(order_id=item.order_id)
            rejected = True
            result.created += 1
            continue
        if fos and rng("live-partner", item.index).random() < 0.6:
            for fo in fos:
                accept_fulfillment_request(fo_id=fo.pk, actor=SEED_ACTOR)
                result.created += 1


@transaction.atomic
def cancel_live_orders(result: StepResult, live: list[LiveOrder], *, agent: Actor) -> None:
    """Agents cancel some orders whole, and a few units or lines of others."""
    chosen = {i.order_id: i for i in live if i.script.fate in (F.CANCEL, F.CANCEL_PART)}
    shipped = set(
        Shipment.objects.filter(order_id__in=list(chosen)).values_list("order_id", flat=True)
    )
    orders = Order.objects.filter(pk__in=list(chosen)).prefetch_related("lines").order_by("pk")
    for order in orders:
        item = chosen[order.pk]
        r = rng("live-cancel", item.index)
        lines = sorted(order.lines.all(), key=lambda li: li.line_number)
        if order.status not in OPEN_STATUSES or order.pk in shipped:
            result.existing += order.status == OrderStatus.CANCELLED
            continue
        if item.script.fate == F.CANCEL:
            cancel_order(order_id=order.pk, reason=r.choice(CANCEL_REASONS), actor=agent)
            result.created += 1
            continue
        if any(line.quantity_cancelled for line in lines):
            result.existing += 1
            continue
        wanted = _partial_cancellation(r, lines)
        if wanted:
            cancel_order(
                order_id=order.pk,
                reason=r.choice(PARTIAL_CANCEL_REASONS),
                actor=agent,
                lines=wanted,
            )
            result.created += 1


def _partial_cancellation(r: random.Random, lines: list[OrderLine]) -> dict[int, int]:
    """Some units of the biggest line, or else the last of several lines."""
    biggest = max(lines, key=lambda li: (li.quantity_live, -li.line_number))
    if biggest.quantity_live >= 2:
        return {biggest.line_number: r.randint(1, biggest.quantity_live - 1)}
    if len(lines) > 1:
        return {lines[-1].line_number: lines[-1].quantity_live}
    return {}  # a single unit: nothing to cancel in part


def _open_fulfillment_orders(order_id: int) -> list[FulfillmentOrder]:
    return list(
        FulfillmentOrder.objects.filter(
            order_id=order_id,
            is_pickup=False,
            status__in=[FulfillmentStatus.OPEN, FulfillmentStatus.IN_PROGRESS],
        )
        .select_related("location")
        .prefetch_related("lines")
        .order_by("pk")
    )


def _part_of(fos: list[FulfillmentOrder]) -> list[tuple[FulfillmentOrder, dict[int, int] | None]]:
    """What a partial shipment takes: the first of several parcels, half of a line's
    units, or the first of several lines."""
    if len(fos) > 1:
        return [(fos[0], None)]
    fo = fos[0]
    lines = [li for li in fo.lines.all() if li.quantity_open]
    if len(lines) == 1 and lines[0].quantity_open >= 2:
        return [(fo, {lines[0].pk: lines[0].quantity_open // 2})]
    if len(lines) > 1:
        return [(fo, {lines[0].pk: lines[0].quantity_open})]
    return [(fo, None)]


def _ship_order(item: LiveOrder, *, warehouse: Actor) -> int:
    fos = _open_fulfillment_orders(item.order_id)
    if not fos:
        return 0  # held, or waiting for stock
    plan: list[tuple[FulfillmentOrder, dict[int, int] | None]] = (
        _part_of(fos) if item.script.fate == F.SHIP_PART else [(fo, None) for fo in fos]
    )
    for fo, quantities in plan:
        partner = fo.location.kind in PARTNER_KINDS
        if fo.request_status == RequestStatus.SUBMITTED:
            accept_fulfillment_request(fo_id=fo.pk, actor=SEED_ACTOR)
        ship_fulfillment_order(
            fo_id=fo.pk,
            actor=SEED_ACTOR if partner else warehouse,
            carrier_code=SIMULATED_CODE,
            quantities=quantities,
        )
    return len(plan)


@transaction.atomic
def ship_live_orders(result: StepResult, live: list[LiveOrder], *, warehouse: Actor) -> None:
    """Ship with the simulated carrier in waves, one per stage; after each wave its
    parcels are moved along with a ``now`` as far ahead as their stage."""
    step = dt.timedelta(minutes=settings.OMS_SIMULATED_CARRIER_STEP_MINUTES)
    to_ship = [item for item in live if item.script.fate in (F.SHIP, F.SHIP_PART)]
    shipped = set(
        Shipment.objects.filter(order_id__in=[i.order_id for i in to_ship]).values_list(
            "order_id", flat=True
        )
    )
    for stage in sorted(Stage, reverse=True):
        wave = [item for item in to_ship if item.script.stage == stage]
        started = timezone.now()
        created = 0
        for item in wave:
            if item.order_id in shipped:
                result.existing += 1
                continue
            created += _ship_order(item, warehouse=warehouse)
        if created and stage:
            # Each scan comes one step after the previous one; half a step of margin
            # keeps the next scan of this wave (and of the earlier ones) in the future.
            advance_simulated_shipments(now=started + step * stage + step / 2)
        result.created += created


@transaction.atomic
def hand_over_pickups(result: StepResult, live: list[LiveOrder], *, staff: Actor) -> None:
    """Stores get pickups ready; a few customers have already collected theirs."""
    chosen = {
        i.order_id: i
        for i in live
        if i.script.kind == K.PICKUP and i.script.fate in (F.READY, F.PICKED_UP)
    }
    fos = FulfillmentOrder.objects.filter(order_id__in=list(chosen), is_pickup=True).order_by("pk")
    for fo in fos:
        fate = chosen[fo.order_id].script.fate
        if fo.status in (FulfillmentStatus.CLOSED, FulfillmentStatus.CANCELLED):
            result.existing += 1
            continue
        if fo.ready_for_pickup_at is None:
            mark_ready_for_pickup(fo_id=fo.pk, actor=staff)
            result.created += 1
        elif fate == F.READY:
            result.existing += 1
        if fate == F.PICKED_UP:
            confirm_pickup(fo_id=fo.pk, code=fo.pickup_code, actor=staff)
            result.created += 1


# --- drafts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftSpec:
    rep: str  # the staff user building it
    account_number: str  # "" for a B2C customer
    lines: int
    reserve_for: dt.timedelta | None


DRAFTS: tuple[DraftSpec, ...] = (
    DraftSpec("sales", "ACC-10001", 3, dt.timedelta(days=3)),
    DraftSpec("sales", "ACC-10010", 2, None),
    DraftSpec("agent", "", 2, dt.timedelta(hours=24)),
    DraftSpec("sales", "ACC-10008", 2, dt.timedelta(days=7)),
)


def seed_drafts(result: StepResult, *, book: LiveOrderBook) -> None:
    """Quotes being built: drafts by the sales rep and an agent, some holding stock."""
    existing = OrderEvent.objects.filter(
        type=OrderEventType.CREATED, actor_kind=ActorKind.SYSTEM, actor_label=SEED_ACTOR.label
    ).count()
    result.existing = min(existing, len(DRAFTS))
    for index in range(existing, len(DRAFTS)):
        spec = DRAFTS[index]
        r = rng("draft", index)
        with transaction.atomic():
            request = _draft_request(r, index, spec, book)
            if request is None:
                continue
            draft = create_draft_order(request=request, actor=SEED_ACTOR)
            if spec.reserve_for is not None:
                reserve_draft_stock(order_id=draft.pk, actor=SEED_ACTOR, hold_for=spec.reserve_for)
            result.created += 1


def _draft_request(
    r: random.Random, index: int, spec: DraftSpec, book: LiveOrderBook
) -> OrderRequest | None:
    rep = book.users.get(spec.rep)
    if not spec.account_number:
        lines = book.draw_lines(r, B2C_QUANTITIES, count=spec.lines)
        return book.consumer_request(
            r, DRAFT_NEWCOMERS + index, channel=Channel.AGENT, lines=lines, placed_by=rep
        )
    buyers = [b for b in book.buyers if b[2].account_number == spec.account_number]
    if not buyers:
        return None
    buyer = buyers[0]
    contract = book.contract_pool(buyer[0])
    lines = book.draw_lines(r, B2B_QUANTITIES, pool=contract or None, count=spec.lines)
    return book.company_request(r, buyer, lines, channel=Channel.SALES, placed_by=rep)
