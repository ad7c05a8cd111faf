"""Builders of the demo data set.

Each step writes only what is missing, through the domain services, so running the
seed again changes nothing and an interrupted run picks up where it stopped. Natural
keys decide what exists: location codes, carrier and method codes, SKUs, account
numbers, e-mail addresses, usernames, tax-rate regions, price-list codes, API key
names; stock is recognised by its ledger rows, historical orders by the timeline event
the seed's actor wrote when importing them, and live orders and drafts by the ones it
wrote when placing or creating them (``oms.demo.live``). Reference data without a
service (tax rates, price lists) is in ``oms.demo.reference``; the demo's API keys and
carrier webhook secrets in ``oms.demo.credentials``.

Randomness is deterministic: every entity draws from its own stream seeded with its
key (``common.rng("customer", 17)``), so asking for more customers or orders never changes
the ones already generated.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from core.actors import Actor, ActorKind
from customers.models import (
    Address,
    AddressKind,
    Company,
    CompanyRole,
    Customer,
)
from customers.services import (
    add_address,
    create_company,
    create_customer,
)
from inventory.models import (
    Location,
    LocationKind,
    MovementReason,
    Product,
    StockBucket,
    StockMovement,
)
from inventory.services import (
    create_location,
    create_product,
    ensure_product_category,
    expect_stock,
    receive_stock,
    set_safety_stock,
)
from orders.models import Channel, OrderEvent, OrderEventType, OrderStatus
from orders.services import HistoricalLine, import_historical_order, money
from shipping.models import Carrier, ShippingMethod
from shipping.services import create_carrier, create_shipping_method

from . import billing, history, live, returns
from .bins import seed_bins
from .catalog import ProductSpec, product_specs
from .common import (
    AREA_CODES,
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
    customer_spec,
    email_local_part,
    phone_number,
    pick,
    popularity,
    random_address,
    rng,
)
from .contacts import seed_company_contacts
from .credentials import ensure_demo_api_keys, ensure_webhook_secrets
from .data import (
    CARRIERS,
    COMPANIES,
    DROPSHIP_VENDOR_CODE,
    FIRST_NAMES,
    LAST_NAMES,
    LOCATIONS,
    SALES_TAX_RATES,
    SHIPPING_METHODS,
    CompanySpec,
)
from .planning import seed_planning
from .reference import ensure_price_lists, ensure_tax_rates
from .users import assign_demo_staff_locations, ensure_demo_users
from .webhooks import seed_demo_webhook_receiver

STOCK_REFERENCE = "SEED"
PURCHASE_ORDER_PREFIX = "SEED-PO-"
DEFAULT_ORDERS = 3000
DEFAULT_CUSTOMERS = 300
DEFAULT_LIVE_ORDERS = 150  # today's orders, placed through the services (``.live``)
HISTORY_DAYS = 180
# The history runs up to yesterday; import_historical_order dates completion five days
# after placement, so the newest orders are closed sooner (``history.settle_recent_history``).
NEWEST_ORDER_AGE_DAYS = 1
# Batches bound both the work lost to an interruption and the time SQLite's single
# writer lock is held.
ORDER_BATCH = 500
CUSTOMER_BATCH = 100
PRODUCT_BATCH = 25

STORE_MAX_WEIGHT_GRAMS = 10_000  # stores do not stock furniture or large appliances


@dataclass(frozen=True)
class StockPlan:
    location_code: str
    receive: int
    safety: int = 0
    incoming: int = 0
    purchase_order: str = ""


@dataclass(frozen=True)
class BuyerSpec:
    email: str
    first_name: str
    last_name: str
    phone: str
    role: str


def company_buyers(spec: CompanySpec) -> list[BuyerSpec]:
    """A company's buyers (one to four): its account admin first, then an approver when
    its orders need approval, then plain buyers."""
    r = rng("company", spec.account_number)
    count = r.choice((1, 2, 2, 3, 3, 4))
    buyers = []
    taken: set[str] = set()
    for position in range(count):
        first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
        local = email_local_part(first, last)
        while local in taken:
            local += str(r.randint(1, 9))
        taken.add(local)
        role: str = CompanyRole.BUYER
        if position == 0:
            role = CompanyRole.ADMIN
        elif position == 1 and spec.approval_threshold is not None:
            role = CompanyRole.APPROVER
        phone = phone_number(r, AREA_CODES.get(spec.postal_code, "555"))
        buyers.append(BuyerSpec(f"{local}@{spec.email_domain}", first, last, phone, role))
    return buyers


def _opening_quantity(spec: ProductSpec, kind: str, base: float, r: random.Random) -> int | None:
    """Units of a SKU a location of ``kind`` starts with; None when it does not carry it."""
    if kind == LocationKind.STORE:
        if spec.weight_grams > STORE_MAX_WEIGHT_GRAMS or r.random() < 0.25:
            return None
        quantity = max(1, int(12 * base * r.uniform(0.5, 1.5)))
    elif kind == LocationKind.THIRD_PARTY:
        if r.random() < 0.3:
            return None
        quantity = max(5, int(60 * base * r.uniform(0.6, 1.4)))
    else:
        quantity = max(10, int(150 * base * r.uniform(0.6, 1.4)))
    if spec.backorder and r.random() < 0.5:
        return 0  # backorderable SKUs run dry; the next purchase order is due
    return quantity


def stock_plan(spec: ProductSpec) -> list[StockPlan]:
    """Where a SKU is stocked and how much: a deterministic function of its SKU."""
    r = rng("stock", spec.sku)
    base = popularity(spec.sku)
    if spec.dropship:
        # The vendor holds the stock and ships it; nobody else carries it.
        return [StockPlan(DROPSHIP_VENDOR_CODE, receive=max(8, int(120 * base)))]
    if r.random() < 0.03:
        return []  # a few SKUs sold out everywhere, for the low-stock reports
    plans = []
    for location in LOCATIONS:
        if location.kind == LocationKind.DROPSHIP_VENDOR:
            continue
        quantity = _opening_quantity(spec, location.kind, base, r)
        if quantity is None:
            continue
        safety = 0
        if quantity >= 20 and location.kind != LocationKind.STORE and r.random() < 0.35:
            safety = min(quantity // 5, r.randint(3, 15))
        incoming = 0
        purchase_order = ""
        if location.kind != LocationKind.STORE and (quantity == 0 or r.random() < 0.15):
            incoming = r.choice((24, 48, 60, 96, 120, 144, 240))
            purchase_order = f"{PURCHASE_ORDER_PREFIX}{r.randint(40000, 49999)}"
        if quantity or incoming:
            plans.append(StockPlan(location.code, quantity, safety, incoming, purchase_order))
    return plans


class DemoSeeder:
    """Runs the steps in dependency order and reports each as it finishes."""

    def __init__(
        self,
        *,
        orders: int = DEFAULT_ORDERS,
        customers: int = DEFAULT_CUSTOMERS,
        live_orders: int = DEFAULT_LIVE_ORDERS,
        report: Callable[[StepResult], None] | None = None,
        now: dt.datetime | None = None,
        random_passwords: bool = False,
    ) -> None:
        self.order_count = orders
        self.customer_count = customers
        self.live_order_count = live_orders
        self.report = report or (lambda result: None)
        self.now = now or timezone.now()
        self.random_passwords = random_passwords
        # What this run created that only it can show: the new users' passwords and
        # the carriers' new webhook secrets.
        self.new_passwords: dict[str, str] = {}
        self.new_webhook_secrets: dict[str, str] = {}
        self.locations: dict[str, Location] = {}
        self.methods: dict[str, ShippingMethod] = {}
        self.products: dict[str, Product] = {}
        self.results: list[StepResult] = []

    def run(self) -> list[StepResult]:
        steps: list[tuple[str, Callable[[StepResult], None]]] = [
            ("Staff users", self.seed_users),
            ("Locations", self.seed_locations),
            ("Staff locations", assign_demo_staff_locations),
            ("Carriers", self.seed_carriers),
            ("Carrier webhooks", self.seed_webhook_secrets),
            ("Shipping methods", self.seed_shipping_methods),
            ("Tax rates", self.seed_tax_rates),
            ("Products", self.seed_products),
            ("Stock receipts", self.seed_stock_receipts),
            ("Safety stock", self.seed_safety_stock),
            ("Incoming stock", self.seed_incoming_stock),
            ("Companies", self.seed_companies),
            ("Company buyers", self.seed_company_buyers),
            ("Company contacts", seed_company_contacts),
            ("Price lists", self.seed_price_lists),
            ("B2C customers", self.seed_customers),
            ("Historical orders", self.seed_orders),
            ("Recent history", lambda r: history.settle_recent_history(r, now=self.now)),
            ("Invoices of history", self.seed_history_invoices),
            ("Shipped history", self.seed_history_shipments),
            ("Cancelled history", history.record_cancellations),
            ("History dates", history.date_history),
            ("Returns", self.seed_returns),
            ("Stock planning", seed_planning),
            ("API keys", self.seed_api_keys),
        ]
        if self.live_order_count:
            steps += self._live_steps()
        # After every step that may create a stock level (receipts, routing, transfers),
        # so that a second run finds every level with its bin.
        steps.append(("Bins", seed_bins))
        # Last: the seed's own events go to no receiver (webhooks.receiver).
        steps.append(("Webhook receiver", seed_demo_webhook_receiver))
        for name, step in steps:
            result = StepResult(name)
            started = time.perf_counter()
            step(result)
            result.seconds = time.perf_counter() - started
            self.results.append(result)
            self.report(result)
        return self.results

    # --- the live operation (``oms.demo.live``) ------------------------------------

    def _live_steps(self) -> list[tuple[str, Callable[[StepResult], None]]]:
        # Built when first needed: the staff users and price lists are seeded by then.
        books: list[live.LiveOrderBook] = []

        def book() -> live.LiveOrderBook:
            if not books:
                stores = Location.objects.filter(kind=LocationKind.STORE, pickup=True)
                books.append(
                    live.LiveOrderBook(
                        consumers=self._consumers(),
                        buyers=self._buyers(),
                        products=sorted(self.products.values(), key=lambda p: p.sku),
                        users=live.staff_users(),
                        stores=list(stores.order_by("code")),
                    )
                )
            return books[0]

        def orders() -> list[live.LiveOrder]:
            return live.live_orders(self.live_order_count)

        def staff(username: str) -> Actor:
            return live.staff_actor(book().users, username)

        return [
            (
                "Live orders",
                lambda r: live.place_live_orders(r, count=self.live_order_count, book=book()),
            ),
            ("Routing", lambda r: live.route_live_orders(r, orders())),
            ("Partner requests", lambda r: live.answer_partner_requests(r, orders())),
            ("Cancellations", lambda r: live.cancel_live_orders(r, orders(), agent=staff("agent"))),
            (
                "Shipments",
                lambda r: live.ship_live_orders(r, orders(), warehouse=staff("warehouse")),
            ),
            ("Pickups", lambda r: live.hand_over_pickups(r, orders(), staff=staff("warehouse"))),
            ("Drafts", lambda r: live.seed_drafts(r, book=book())),
        ]

    # --- staff and master data ------------------------------------------------------

    def seed_users(self, result: StepResult) -> None:
        self.new_passwords, result.existing = ensure_demo_users(
            random_passwords=self.random_passwords
        )
        result.created = len(self.new_passwords)

    @transaction.atomic
    def seed_locations(self, result: StepResult) -> None:
        self.locations = {
            loc.code: loc
            for loc in Location.objects.filter(code__in=[spec.code for spec in LOCATIONS])
        }
        result.existing = len(self.locations)
        for spec in LOCATIONS:
            if spec.code in self.locations:
                continue
            self.locations[spec.code] = create_location(
                code=spec.code,
                name=spec.name,
                kind=spec.kind,
                address={
                    "line1": spec.line1,
                    "city": spec.city,
                    "region": spec.region,
                    "postal_code": spec.postal_code,
                    "country": "US",
                    "phone": spec.phone,
                },
                ships=spec.ships,
                pickup=spec.pickup,
                customization=spec.customization,
                priority=spec.priority,
                daily_capacity=spec.daily_capacity,
                cost_per_shipment=spec.cost_per_shipment,
                contact_email=spec.contact_email,
                time_zone=spec.time_zone,
            )
            result.created += 1

    @transaction.atomic
    def seed_carriers(self, result: StepResult) -> None:
        existing = set(
            Carrier.objects.filter(code__in=[c.code for c in CARRIERS]).values_list(
                "code", flat=True
            )
        )
        result.existing = len(existing)
        for spec in CARRIERS:
            if spec.code not in existing:
                create_carrier(
                    code=spec.code,
                    name=spec.name,
                    tracking_url_template=spec.tracking_url_template,
                    offers_return_pickup=spec.offers_return_pickup,
                )
                result.created += 1

    def seed_webhook_secrets(self, result: StepResult) -> None:
        self.new_webhook_secrets, result.existing = ensure_webhook_secrets()
        result.created = len(self.new_webhook_secrets)

    def seed_tax_rates(self, result: StepResult) -> None:
        result.created, result.existing = ensure_tax_rates()

    def seed_price_lists(self, result: StepResult) -> None:
        products = sorted(self.products.values(), key=lambda p: p.sku)
        result.created, result.existing = ensure_price_lists(products)

    def seed_api_keys(self, result: StepResult) -> None:
        result.created, result.existing = ensure_demo_api_keys()

    @transaction.atomic
    def seed_shipping_methods(self, result: StepResult) -> None:
        carriers = {c.code: c for c in Carrier.objects.all()}
        self.methods = {
            m.code: m
            for m in ShippingMethod.objects.filter(code__in=[s.code for s in SHIPPING_METHODS])
        }
        result.existing = len(self.methods)
        for spec in SHIPPING_METHODS:
            if spec.code in self.methods:
                continue
            self.methods[spec.code] = create_shipping_method(
                code=spec.code,
                name=spec.name,
                service_level=spec.service_level,
                carrier=carriers[spec.carrier_code] if spec.carrier_code else None,
                transit_days_min=spec.transit_days[0],
                transit_days_max=spec.transit_days[1],
                cutoff_time=spec.cutoff,
                operating_days=spec.operating_days,
                price=spec.price,
            )
            result.created += 1

    def seed_products(self, result: StepResult) -> None:
        specs = product_specs()
        self.products = {p.sku: p for p in Product.objects.filter(sku__in=[s.sku for s in specs])}
        result.existing = len(self.products)
        vendor = self.locations[DROPSHIP_VENDOR_CODE]
        categories = {
            name: ensure_product_category(code=slugify(name), name=name)
            for name in dict.fromkeys(spec.category for spec in specs)
        }
        # A catalogue seeded before products had categories gets them now.
        for name, category in categories.items():
            Product.objects.filter(
                sku__in=[s.sku for s in specs if s.category == name], category__isnull=True
            ).update(category=category)
        for chunk in batched([s for s in specs if s.sku not in self.products], 100):
            with transaction.atomic():
                for spec in chunk:
                    self.products[spec.sku] = create_product(
                        sku=spec.sku,
                        name=spec.name,
                        description=spec.description,
                        list_price=spec.price,
                        weight_grams=spec.weight_grams,
                        is_customizable=bool(spec.customization_fields),
                        customization_fields=list(spec.customization_fields),
                        is_returnable=spec.returnable,
                        allow_backorder=spec.backorder,
                        dropship_vendor=vendor if spec.dropship else None,
                        category=categories[spec.category],
                    )
                    result.created += 1

    # --- stock ----------------------------------------------------------------------

    def _stock_work(self) -> list[tuple[Location, Product, StockPlan]]:
        work = []
        for spec in product_specs():
            for plan in stock_plan(spec):
                work.append((self.locations[plan.location_code], self.products[spec.sku], plan))
        return work

    @staticmethod
    def _ledgered_pairs(**filters: Any) -> set[tuple[int, int]]:
        """(location id, product id) pairs with at least one matching ledger row."""
        return set(
            StockMovement.objects.filter(**filters)
            .values_list("location_id", "product_id")
            .distinct()
        )

    def _apply_stock(
        self,
        result: StepResult,
        done: set[tuple[int, int]],
        wanted: Callable[[StockPlan], bool],
        write: Callable[[Location, Product, StockPlan], object],
    ) -> None:
        todo = []
        for location, product, plan in self._stock_work():
            if not wanted(plan):
                continue
            if (location.pk, product.pk) in done:
                result.existing += 1
            else:
                todo.append((location, product, plan))
        # One transaction per batch: one commit per receipt would dominate on SQLite.
        for chunk in batched(todo, PRODUCT_BATCH * len(LOCATIONS)):
            with transaction.atomic():
                for location, product, plan in chunk:
                    write(location, product, plan)
                    result.created += 1

    def seed_stock_receipts(self, result: StepResult) -> None:
        self._apply_stock(
            result,
            self._ledgered_pairs(
                reason=MovementReason.RECEIPT,
                bucket=StockBucket.ON_HAND,
                reference=STOCK_REFERENCE,
            ),
            lambda plan: plan.receive > 0,
            lambda location, product, plan: receive_stock(
                location=location,
                product=product,
                quantity=plan.receive,
                actor=SEED_ACTOR,
                reference=STOCK_REFERENCE,
                note="Opening stock of the demo",
            ),
        )

    def seed_safety_stock(self, result: StepResult) -> None:
        # Any earlier safety-stock change on a row wins over the demo's value: someone
        # may have tuned it since.
        self._apply_stock(
            result,
            self._ledgered_pairs(bucket=StockBucket.SAFETY_STOCK),
            lambda plan: plan.safety > 0,
            lambda location, product, plan: set_safety_stock(
                location=location, product=product, quantity=plan.safety, actor=SEED_ACTOR
            ),
        )

    def seed_incoming_stock(self, result: StepResult) -> None:
        self._apply_stock(
            result,
            self._ledgered_pairs(
                reason=MovementReason.EXPECTED, reference__startswith=PURCHASE_ORDER_PREFIX
            ),
            lambda plan: plan.incoming > 0,
            lambda location, product, plan: expect_stock(
                location=location,
                product=product,
                quantity=plan.incoming,
                actor=SEED_ACTOR,
                reference=plan.purchase_order,
            ),
        )

    # --- customers ------------------------------------------------------------------

    @transaction.atomic
    def seed_companies(self, result: StepResult) -> None:
        existing = set(
            Company.objects.filter(
                account_number__in=[c.account_number for c in COMPANIES]
            ).values_list("account_number", flat=True)
        )
        result.existing = len(existing)
        for spec in COMPANIES:
            if spec.account_number in existing:
                continue
            company = create_company(
                account_number=spec.account_number,
                name=spec.name,
                payment_terms=spec.payment_terms,
                credit_limit=spec.credit_limit,
                tax_exempt=bool(spec.tax_exemption_number),
                tax_exemption_number=spec.tax_exemption_number,
                po_required=spec.po_required,
                approval_threshold=spec.approval_threshold,
                allow_backorders=spec.allow_backorders,
            )
            if spec.default_shipping_method:
                company.default_shipping_method = ShippingMethod.objects.get(
                    code=spec.default_shipping_method
                )
                company.save(update_fields=["default_shipping_method"])
            address = {
                "name": spec.name,
                "line1": spec.line1,
                "city": spec.city,
                "region": spec.region,
                "postal_code": spec.postal_code,
                "country": "US",
            }
            add_address(kind=AddressKind.BILLING, data=address, company=company, make_default=True)
            add_address(
                kind=AddressKind.SHIPPING,
                data={**address, "line2": "Attn: Receiving"},
                company=company,
                make_default=True,
            )
            result.created += 1

    @transaction.atomic
    def seed_company_buyers(self, result: StepResult) -> None:
        companies = {
            c.account_number: c
            for c in Company.objects.filter(
                account_number__in=[s.account_number for s in COMPANIES]
            )
        }
        wanted = [(spec, buyer) for spec in COMPANIES for buyer in company_buyers(spec)]
        existing = self._existing_emails([buyer.email for _, buyer in wanted])
        for spec, buyer in wanted:
            if buyer.email.lower() in existing:
                result.existing += 1
                continue
            create_customer(
                email=buyer.email,
                first_name=buyer.first_name,
                last_name=buyer.last_name,
                phone=buyer.phone,
                company=companies[spec.account_number],
                company_role=buyer.role,
            )
            result.created += 1

    @staticmethod
    def _existing_emails(emails: list[str]) -> set[str]:
        found: set[str] = set()
        # Chunked: SQLite caps the number of parameters of one query.
        for chunk in batched(emails, 500):
            found.update(
                e.lower()
                for e in Customer.objects.filter(email__in=chunk).values_list("email", flat=True)
            )
        return found

    def seed_customers(self, result: StepResult) -> None:
        specs = [customer_spec(i) for i in range(self.customer_count)]
        existing = self._existing_emails([s.email for s in specs])
        todo = [s for s in specs if s.email.lower() not in existing]
        result.existing = len(specs) - len(todo)
        for chunk in batched(todo, CUSTOMER_BATCH):
            # A customer, its addresses and preferences commit together, so a customer
            # that exists is complete and the natural key (e-mail) is enough to skip it.
            with transaction.atomic():
                for spec in chunk:
                    create_demo_customer(spec)
                    result.created += 1

    # --- orders ---------------------------------------------------------------------

    def seed_orders(self, result: StepResult) -> None:
        result.existing = OrderEvent.objects.filter(
            type=OrderEventType.IMPORTED,
            actor_kind=ActorKind.SYSTEM,
            actor_label=SEED_ACTOR.label,
        ).count()
        if result.existing >= self.order_count:
            return
        book = OrderBook(
            consumers=self._consumers(),
            buyers=self._buyers(),
            products=sorted(self.products.values(), key=lambda p: p.sku),
            methods=self.methods,
            count=self.order_count,
            now=self.now,
        )
        for chunk in batched(range(result.existing, self.order_count), ORDER_BATCH):
            with transaction.atomic():
                for index in chunk:
                    import_historical_order(**book.order(index), actor=SEED_ACTOR)
                    result.created += 1

    def seed_history_invoices(self, result: StepResult) -> None:
        billing.invoice_history(result, warehouse=self._history_warehouse(), now=self.now)

    def _history_warehouse(self) -> Location:
        # Historical orders shipped from the main warehouse (the first in the spec).
        return next(
            self.locations[spec.code]
            for spec in LOCATIONS
            if spec.code in self.locations
            and self.locations[spec.code].kind
            in (LocationKind.WAREHOUSE, LocationKind.DISTRIBUTION_CENTER)
        )

    def seed_history_shipments(self, result: StepResult) -> None:
        history.ship_older_history(result, warehouse=self._history_warehouse())

    def seed_returns(self, result: StepResult) -> None:
        returns.seed_returns(result, now=self.now)

    def _consumers(self) -> list[tuple[Customer, dict[str, Any]]]:
        emails = [customer_spec(i).email for i in range(self.customer_count)]
        by_email: dict[str, Customer] = {}
        for chunk in batched(emails, 500):
            by_email.update((c.email.lower(), c) for c in Customer.objects.filter(email__in=chunk))
        addresses = _default_shipping_addresses(customer__isnull=False)
        return [
            (by_email[email.lower()], addresses[by_email[email.lower()].pk])
            for email in emails
            if email.lower() in by_email and by_email[email.lower()].pk in addresses
        ]

    def _buyers(self) -> list[tuple[Customer, dict[str, Any], CompanySpec]]:
        specs = {spec.account_number: spec for spec in COMPANIES}
        buyers = list(
            Customer.objects.select_related("company")
            .filter(company__account_number__in=list(specs))
            .order_by("email")
        )
        addresses = _default_shipping_addresses(company__account_number__in=list(specs))
        return [
            (buyer, addresses[buyer.company_id], specs[buyer.company.account_number])
            for buyer in buyers
            if buyer.company is not None and buyer.company_id in addresses
        ]


def _default_shipping_addresses(**owner: Any) -> dict[int, dict[str, Any]]:
    """Default shipping addresses as order-address dicts, by owner (customer or company) id."""
    rows = Address.objects.filter(kind=AddressKind.SHIPPING, is_default=True, **owner)
    found: dict[int, dict[str, Any]] = {}
    for address in rows:
        owner_id = address.customer_id or address.company_id
        if owner_id is None:
            continue  # the database refuses an address without an owner
        found[owner_id] = {
            "name": address.name,
            "line1": address.line1,
            "line2": address.line2,
            "city": address.city,
            "region": address.region,
            "postal_code": address.postal_code,
            "country": address.country,
            "phone": address.phone,
            # Geocoded when saved; passing them on spares a second lookup.
            "latitude": address.latitude,
            "longitude": address.longitude,
        }
    return found


B2C_CHANNELS = ((Channel.WEB, 65), (Channel.MARKETPLACE, 20), (Channel.AGENT, 15))
B2B_CHANNELS = ((Channel.B2B_API, 60), (Channel.SALES, 40))
# Orders per hour of the day, US Eastern time: quiet nights, a lunchtime and an evening peak.
HOURLY_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 10, 10, 9, 9, 8, 8, 8, 9, 10, 9, 7, 4, 2)
ORDER_TIME_ZONE = ZoneInfo("America/New_York")
B2B_SHARE = 0.25
CANCEL_RATE = 0.05
MARKETPLACE_CANCEL_RATE = 0.08
RETURN_RATE = 0.10


class OrderBook:
    """The historical orders of the demo: order ``index`` is the same on every run.

    Placement times rise with the index, so order numbers follow placement dates, and
    their density follows the calendar (``oms.demo.history.day_weights``: a weekly rhythm,
    growth, the late-year peak and a few promotions).
    """

    def __init__(
        self,
        *,
        consumers: list[tuple[Customer, dict[str, Any]]],
        buyers: list[tuple[Customer, dict[str, Any], CompanySpec]],
        products: list[Product],
        methods: dict[str, ShippingMethod],
        count: int,
        now: dt.datetime,
    ) -> None:
        self.consumers = consumers
        self.buyers = buyers
        self.products = products
        self.product_weights = [popularity(p.sku) for p in products]
        # A few loyal customers order again and again; most order once or twice.
        self.consumer_weights = [
            min(rng("loyalty", customer.email).paretovariate(2.0), 4.0) for customer, _ in consumers
        ]
        self.methods = methods
        self.count = count
        self.now = now
        newest = (now - dt.timedelta(days=NEWEST_ORDER_AGE_DAYS)).date()
        self.days = [newest - dt.timedelta(days=n) for n in range(HISTORY_DAYS, -1, -1)]
        # The calendar of ``oms.demo.history``: weekdays, growth, peak and promotions.
        cumulative = 0.0
        self.cumulative: list[float] = []
        for weight in history.day_weights(self.days):
            cumulative += weight
            self.cumulative.append(cumulative)

    def placed_at(self, index: int, r: random.Random) -> dt.datetime:
        target = (index + 0.5) / self.count * self.cumulative[-1]
        day = self.days[min(bisect.bisect_left(self.cumulative, target), len(self.days) - 1)]
        hour = r.choices(range(24), HOURLY_WEIGHTS)[0]
        return dt.datetime.combine(
            day, dt.time(hour, r.randint(0, 59), r.randint(0, 59)), tzinfo=ORDER_TIME_ZONE
        )

    def order(self, index: int) -> dict[str, Any]:
        """Keyword arguments of ``import_historical_order`` for order ``index``."""
        r = rng("order", index)
        b2b = bool(self.buyers) and (not self.consumers or r.random() < B2B_SHARE)
        company: Company | None = None
        contract: CompanySpec | None = None
        quantities: Sequence[tuple[int, int]]
        if b2b:
            customer, address, contract = r.choice(self.buyers)
            company = customer.company
            channel = pick(r, B2B_CHANNELS)
            method = pick(r, B2B_METHODS)
            quantities = B2B_QUANTITIES
        else:
            customer, address = r.choices(self.consumers, self.consumer_weights)[0]
            channel = pick(r, B2C_CHANNELS)
            method = pick(r, B2C_METHODS)
            quantities = B2C_QUANTITIES
            if r.random() < 0.08:
                # A gift: shipped to someone else, somewhere else.
                address = random_address(r, f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}")
        if method == "SAME_DAY" and address["region"] not in SAME_DAY_STATES:
            method = "EXPRESS"
        outcome = OrderStatus.COMPLETED
        cancel_rate = MARKETPLACE_CANCEL_RATE if channel == Channel.MARKETPLACE else CANCEL_RATE
        if r.random() < cancel_rate:
            outcome = OrderStatus.CANCELLED
        discount = contract.contract_discount if contract else Decimal("0")
        lines = self._lines(r, quantities, discount, cancelled=outcome == OrderStatus.CANCELLED)
        po_number = ""
        if company is not None and (company.po_required or r.random() < 0.4):
            po_number = f"PO-{r.randint(100000, 999999)}"
        tax_rate = Decimal("0")
        if company is None or not company.tax_exempt:
            tax_rate = SALES_TAX_RATES.get(address["region"], Decimal("0"))
        return {
            "customer": customer,
            "channel": channel,
            "shipping_method": self.methods[method],
            "address": address,
            "lines": lines,
            "placed_at": self.placed_at(index, r),
            "outcome": outcome,
            "po_number": po_number,
            "tax_rate": tax_rate,
        }

    def _lines(
        self,
        r: random.Random,
        quantities: Sequence[tuple[int, int]],
        discount: Decimal,
        *,
        cancelled: bool,
    ) -> list[HistoricalLine]:
        wanted = pick(r, LINE_COUNTS)
        chosen = list(dict.fromkeys(r.choices(self.products, self.product_weights, k=wanted)))
        specs: list[dict[str, Any]] = []
        for product in chosen:
            quantity = pick(r, quantities)
            if product.list_price > 200:
                quantity = min(quantity, 4)  # nobody orders fifty dining tables
            specs.append(
                {
                    "product": product,
                    "quantity": quantity,
                    "unit_price": money(product.list_price * (1 - discount)),
                    "cancelled": 0,
                    "returned": 0,
                }
            )
        if not cancelled:
            self._cancel_some(r, specs)
            self._return_some(r, specs)
        return [HistoricalLine(**spec) for spec in specs]

    @staticmethod
    def _cancel_some(r: random.Random, specs: list[dict[str, Any]]) -> None:
        """Out-of-stock lines of a completed order: a few units, or a whole line."""
        for spec in specs:
            roll = r.random()
            if spec["quantity"] >= 2 and roll < 0.06:
                spec["cancelled"] = r.randint(1, spec["quantity"] - 1)
            elif len(specs) > 1 and roll < 0.09:
                spec["cancelled"] = spec["quantity"]
        if all(spec["cancelled"] == spec["quantity"] for spec in specs):
            specs[0]["cancelled"] = 0  # a completed order shipped something

    @staticmethod
    def _return_some(r: random.Random, specs: list[dict[str, Any]]) -> None:
        returnable = [
            spec
            for spec in specs
            if spec["product"].is_returnable and spec["quantity"] > spec["cancelled"]
        ]
        if not returnable or r.random() >= RETURN_RATE:
            return
        everything = r.random() < 0.15
        for spec in returnable if everything else [r.choice(returnable)]:
            shipped = spec["quantity"] - spec["cancelled"]
            spec["returned"] = shipped if everything else r.randint(1, shipped)
