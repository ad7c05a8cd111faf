"""Billing's console: invoices and credit notes read-only with their PDFs, their CSV and
XLSX exports for an ERP and the journal export (``documents``, ``journal``), and the
billing section of the order page (``order_console``): billing extends the order admin
that fulfillment registered (``core.admin.replace_admin``), as fulfillment extends
orders'. Payments received have their own list and pages, and extend the invoice page
(``receivables``).

Payment reminders show on the company and invoice pages (``dunning``); the aging
report has a page of its own (``aging``).
"""

# One module per concern; importing them registers their admins (``receivables``
# extends the invoice admin that ``documents`` registers, and imports it first).
from . import aging, customer_pages, documents, dunning, order_console, receivables  # noqa: F401
