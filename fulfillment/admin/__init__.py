"""Operator console for fulfillment: each location's work queue, shipments and tracking,
the routing recipe and its decisions. Carriers and shipping methods have their console in
``shipping.admin``.

Fulfillment orders, shipments, tracking events and routing decisions are written only by
services, so they are read-only here. The work on a fulfillment order (accept, ship,
mark ready, hand over, reject, print) happens through the buttons on its page: each is a
form of ``fulfillment.forms`` behind its own permission that calls one service of
``fulfillment.operations``.
"""

# One module per concern; importing them registers their admins.
from . import fulfillment_orders, routing, shipments  # noqa: F401
