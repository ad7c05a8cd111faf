"""The returns console: returns with their receiving queue and buttons, the policy's
reasons and rules (``returns``), and the returns section of the order page
(``order_console``), which extends the order admin billing registered."""

# One module per concern; importing them registers their admins.
from . import customer_pages, order_console, returns  # noqa: F401
