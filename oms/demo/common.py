"""What the demo's builders and its live operation share: the seed's actor, its random
streams, the customers it makes up and the mix of its orders.

``oms.demo.builders`` writes the data set, ``oms.demo.live`` today's orders and
``oms.demo.reference`` the reference data; all of them draw from here, so none of them
needs another's names.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from core.actors import Actor
from customers.models import AddressKind, Customer, NotificationEvent
from customers.services import (
    add_address,
    create_customer,
    set_notification_preference,
)

from .data import FIRST_NAMES, LAST_NAMES, STREET_NAMES, ZIP_CODES

SEED = "oms-demo-1"
SEED_ACTOR = Actor.system("demo seed")

CUSTOMER_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
AREA_CODES = {zip_code: area for zip_code, _, _, area in ZIP_CODES}
SAME_DAY_STATES = {"NY", "NJ", "IL", "CA"}  # metro areas around the stores


def rng(*key: object) -> random.Random:
    """A random stream of its own for one entity of the demo."""
    return random.Random(":".join(str(part) for part in (SEED, *key)))


def popularity(sku: str) -> float:
    """How much a SKU sells, relative to the others (a long-tailed distribution)."""
    return rng("popularity", sku).lognormvariate(0, 0.9)


def batched(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def phone_number(r: random.Random, area_code: str) -> str:
    # 555-0100 to 555-0199 are reserved for fiction: these numbers ring nowhere.
    return f"+1 {area_code}-555-01{r.randint(0, 99):02d}"


def email_local_part(first: str, last: str) -> str:
    return f"{first}.{last}".lower().replace("'", "").replace(" ", "")


@dataclass
class StepResult:
    name: str
    created: int = 0
    existing: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class CustomerSpec:
    email: str
    first_name: str
    last_name: str
    phone: str
    shipping: dict[str, str]
    billing: dict[str, str] | None
    preferences: tuple[tuple[str, bool, bool], ...]  # (event, email, sms)


def random_address(r: random.Random, name: str) -> dict[str, str]:
    zip_code, city, state, _ = r.choice(ZIP_CODES)
    line2 = f"Apt {r.randint(1, 24)}{r.choice('ABCDEF')}" if r.random() < 0.3 else ""
    return {
        "name": name,
        "line1": f"{r.randint(1, 9899)} {r.choice(STREET_NAMES)}",
        "line2": line2,
        "city": city,
        "region": state,
        "postal_code": zip_code,
        "country": "US",
    }


def customer_spec(index: int) -> CustomerSpec:
    """The B2C customer number ``index`` of the demo (the same on every run)."""
    return _customer_spec(rng("customer", index), email_tag=str(index + 1))


def newcomer_spec(index: int) -> CustomerSpec:
    """A first-time shopper who places live order ``index`` (``oms.demo.live``).

    Drawn from a stream of its own, so asking for more B2C customers never meets them;
    the ``.new`` tag keeps their e-mail addresses apart from the regular customers'."""
    return _customer_spec(rng("newcomer", index), email_tag=f".new{index + 1}")


def _customer_spec(r: random.Random, *, email_tag: str) -> CustomerSpec:
    first, last = r.choice(FIRST_NAMES), r.choice(LAST_NAMES)
    name = f"{first} {last}"
    shipping = random_address(r, name)
    phone = phone_number(r, AREA_CODES[shipping["postal_code"]]) if r.random() < 0.85 else ""
    shipping["phone"] = phone
    billing = random_address(r, name) if r.random() < 0.2 else None
    preferences: tuple[tuple[str, bool, bool], ...] = ()
    roll = r.random()
    if phone and roll < 0.12:
        # Texts for the moments that matter at the door; e-mail stays on.
        preferences = (
            (NotificationEvent.SHIPPED, True, True),
            (NotificationEvent.OUT_FOR_DELIVERY, True, True),
            (NotificationEvent.READY_FOR_PICKUP, False, True),
        )
    elif roll < 0.16:
        # Someone who wants fewer e-mails: no out-for-delivery or delivered note (the
        # confirmation is transactional: it cannot be switched off).
        preferences = (
            (NotificationEvent.OUT_FOR_DELIVERY, False, False),
            (NotificationEvent.DELIVERED, False, False),
        )
    return CustomerSpec(
        email=f"{email_local_part(first, last)}{email_tag}@{r.choice(CUSTOMER_EMAIL_DOMAINS)}",
        first_name=first,
        last_name=last,
        phone=phone,
        shipping=shipping,
        billing=billing,
        preferences=preferences,
    )


def create_demo_customer(spec: CustomerSpec) -> Customer:
    """A B2C customer with default shipping and billing addresses and preferences."""
    customer = create_customer(
        email=spec.email,
        first_name=spec.first_name,
        last_name=spec.last_name,
        phone=spec.phone,
    )
    add_address(kind=AddressKind.SHIPPING, data=spec.shipping, customer=customer, make_default=True)
    add_address(
        kind=AddressKind.BILLING,
        data=spec.billing or spec.shipping,
        customer=customer,
        make_default=True,
    )
    for event, email, sms in spec.preferences:
        set_notification_preference(customer=customer, event=event, email=email, sms=sms)
    return customer


B2C_METHODS = (
    ("STANDARD", 48),
    ("ECONOMY", 15),
    ("EXPRESS", 18),
    ("NEXT_DAY", 7),
    ("SAME_DAY", 5),
    ("WEEKEND", 7),
)
B2B_METHODS = (("STANDARD", 65), ("EXPRESS", 20), ("NEXT_DAY", 10), ("ECONOMY", 5))
B2C_QUANTITIES = ((1, 80), (2, 14), (3, 4), (4, 2))
B2B_QUANTITIES = ((1, 12), (2, 18), (4, 20), (6, 15), (10, 14), (12, 11), (24, 7), (50, 3))
LINE_COUNTS = ((1, 50), (2, 27), (3, 13), (4, 7), (5, 3))


def pick(r: random.Random, weighted: Sequence[tuple[Any, int]]) -> Any:
    return r.choices([value for value, _ in weighted], [weight for _, weight in weighted])[0]
