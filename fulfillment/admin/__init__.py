"""Operator console for fulfillment: each location's work queue, shipments and tracking,
the routing recipe and its decisions. Carriers and shipping methods have their console in
``shipping.admin``.

Fulfillment orders, shipments, tracking events and routing decisions are written only by
services, so they are read-only here. The work on a fulfillment order (accept, ship,
mark ready, hand over, reject, print) happens through the buttons on its page: each is a
form of ``fulfillment.forms`` behind its own permission that calls one service of
``fulfillment.operations``.

Fulfillment also extends the order console of orders (``core.admin.replace_admin``):
``order_console`` adds the fulfillment sections and the hold, cancel and edit pages to
the order page (``order_holds``, ``order_edits``, ``order_tables``), and ``order_holds``
the release action to the holds queue.
"""

# One module per concern; importing them registers their admins.
from . import fulfillment_orders, order_console, order_holds, routing, shipments  # noqa: F401
