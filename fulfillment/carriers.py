"""Carriers behind an interface we own.

A real carrier integration (labels, rates, tracking pull) implements ``CarrierGateway``.
Two come built in: ``ManualCarrier`` (staff type the tracking number printed on a
label bought elsewhere) and ``SimulatedCarrier`` (generates tracking numbers and moves
its parcels along on a timer, ``fulfillment.simulation``, so the demo and tests see real
tracking events).

Return pickups (``book_pickup``): a carrier that collects parcels at an address books
one in a window of days and answers with its confirmation; booking again with the same
``reference`` returns the same booking, so a retried call books once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol

from core.errors import Conflict, InvalidInput
from shipping.models import Carrier

SIMULATED_CODE = "SIM"


class PickupNotOffered(InvalidInput):
    code = "pickup_not_offered"
    status = 422


class PickupUnavailable(Conflict):
    code = "pickup_unavailable"


@dataclass(frozen=True)
class PickupAddress:
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    phone: str = ""


@dataclass(frozen=True)
class PickupBooking:
    confirmation: str
    pickup_date: dt.date
    tracking_number: str


class CarrierGateway(Protocol):
    def create_tracking_number(self) -> str: ...

    def book_pickup(
        self,
        *,
        address: PickupAddress,
        earliest: dt.date,
        latest: dt.date,
        parcels: int,
        reference: str,
    ) -> PickupBooking: ...


class ManualCarrier:
    def create_tracking_number(self) -> str:
        raise InvalidInput("Type the tracking number from the carrier's label.")

    def book_pickup(
        self,
        *,
        address: PickupAddress,
        earliest: dt.date,
        latest: dt.date,
        parcels: int,
        reference: str,
    ) -> PickupBooking:
        raise PickupNotOffered("This carrier has no integration that books pickups.")


class SimulatedCarrier:
    def create_tracking_number(self) -> str:
        return f"SIM{secrets.randbelow(10**12):012d}"

    def book_pickup(
        self,
        *,
        address: PickupAddress,
        earliest: dt.date,
        latest: dt.date,
        parcels: int,
        reference: str,
    ) -> PickupBooking:
        """Collects on working days (Monday to Friday), the first one in the window.
        The confirmation and tracking number derive from ``reference``: the same
        reference books the same pickup."""
        if parcels < 1:
            raise InvalidInput("A pickup collects at least one parcel.")
        if not (address.line1 and address.city and address.country):
            raise PickupUnavailable("The pickup address lacks a street, city or country.")
        day = earliest
        while day <= latest and day.isoweekday() > 5:
            day += dt.timedelta(days=1)
        if day > latest:
            raise PickupUnavailable(
                f"No pickup between {earliest.isoformat()} and {latest.isoformat()}."
            )
        digest = hashlib.sha256(reference.encode()).hexdigest()
        return PickupBooking(
            confirmation=f"PU{digest[:10].upper()}",
            pickup_date=day,
            tracking_number=f"SIM{int(digest[10:30], 16) % 10**12:012d}",
        )


def gateway_for(carrier: Carrier) -> CarrierGateway:
    return SimulatedCarrier() if carrier.code == SIMULATED_CODE else ManualCarrier()
