"""Carriers behind an interface we own.

A real carrier integration (labels, rates, tracking pull) implements ``CarrierGateway``.
Two come built in: ``ManualCarrier`` (staff type the tracking number printed on a
label bought elsewhere) and ``SimulatedCarrier`` (generates tracking numbers and moves
its parcels along on a timer, ``fulfillment.simulation``, so the demo and tests see real
tracking events).
"""

from __future__ import annotations

import secrets
from typing import Protocol

from core.errors import InvalidInput
from shipping.models import Carrier

SIMULATED_CODE = "SIM"


class CarrierGateway(Protocol):
    def create_tracking_number(self) -> str: ...


class ManualCarrier:
    def create_tracking_number(self) -> str:
        raise InvalidInput("Type the tracking number from the carrier's label.")


class SimulatedCarrier:
    def create_tracking_number(self) -> str:
        return f"SIM{secrets.randbelow(10**12):012d}"


def gateway_for(carrier: Carrier) -> CarrierGateway:
    return SimulatedCarrier() if carrier.code == SIMULATED_CODE else ManualCarrier()
