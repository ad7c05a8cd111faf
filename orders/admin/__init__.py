"""Operator console for orders: find one, read its whole story, act on it.

Orders are read-only here. Every change is one service call behind its own
permission, from a button on the order page, an action of the order list or a page of
the list, each asking for its input (and a reason where one is kept) first. A refused
call (``DomainError``) comes back as an error message above the form as it was typed
(a field it names as that field's error) and changes nothing: every service validates
first and runs in one transaction.

One module per concern: ``order_page`` (the order page and list, ``OrderAdmin``),
``holds`` (the holds queue), ``drafts`` (orders placed on a customer's behalf),
``imports`` (order files), ``inlines`` (the holds' history), ``order_summary`` (the
page's summary card, lines and timeline), ``order_notes`` (agents' notes from the
page), ``tables`` (HTML of what the selectors read), ``reference`` (timeline list,
tax rates, idempotency keys), ``customer_pages`` (the order sections of the company
and customer pages, which customers may not import), ``notifications`` (the message log
and its resend page).
Importing this package registers the admins.

What moves fulfillment orders with the order (hold pages and actions, cancellation and
edits, change of destination) and the order's fulfillment sections are fulfillment's:
``fulfillment.admin.order_console`` extends ``OrderAdmin`` and the holds queue and
registers the extensions in their place.
"""

from .customer_pages import CompanyWithOrdersAdmin, CustomerWithOrdersAdmin
from .holds import OrderHoldAdmin
from .notifications import NotificationAdmin
from .order_page import OrderAdmin
from .quotes import QuoteAdmin as QuoteAdmin  # registers the quotes list
from .reference import IdempotencyKeyAdmin, OrderEventAdmin, TaxRateAdmin

__all__ = [
    "CompanyWithOrdersAdmin",
    "CustomerWithOrdersAdmin",
    "IdempotencyKeyAdmin",
    "NotificationAdmin",
    "OrderAdmin",
    "OrderEventAdmin",
    "OrderHoldAdmin",
    "TaxRateAdmin",
]
