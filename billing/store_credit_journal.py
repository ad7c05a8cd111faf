"""Store credit in the journal: each ledger entry of a date range as a balanced event.

Customers' balances are a liability (*store credit*, ``OMS_JOURNAL_ACCOUNTS``): a grant
credits it, a spend debits it. The other side of each entry:

- **spent** on an order (at placement, or when an edit raises the total): credit
  *receivable*, as a card capture does; the order's invoices, issued paid, debit it;
- **given back** (a cancellation or an edit down) and **refund** (a refund credited as
  store credit, whose credit note already credited receivable): debit *receivable*;
- **goodwill**, a grant **for a return** made without a credit note, and a finance
  **adjustment**: the *store credit goodwill* expense (debit for credit given; an
  adjustment down credits it).

Dated by the entry's day in the site's time zone; the document is the entry's reference
(the credit notes of a refund), else the order number, else ``SC-<entry id>``.
Registered with ``billing.journal.register_event_source`` when billing starts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from customers.store_credit_models import StoreCreditEntry, StoreCreditKind

from .journal import ZERO, JournalEvent, JournalRow, journal_accounts

# The sides of each kind: (debit role, credit role) for a positive amount.
SIDES = {
    StoreCreditKind.SPENT: ("store_credit", "receivable"),
    StoreCreditKind.GIVEN_BACK: ("receivable", "store_credit"),
    StoreCreditKind.REFUND: ("receivable", "store_credit"),
    StoreCreditKind.RETURN: ("store_credit_goodwill", "store_credit"),
    StoreCreditKind.GOODWILL: ("store_credit_goodwill", "store_credit"),
    StoreCreditKind.ADJUSTED: ("store_credit_goodwill", "store_credit"),
}


def store_credit_events(date_from: dt.date, date_to: dt.date) -> Iterator[JournalEvent]:
    """Store credit entries from ``date_from`` to ``date_to`` (inclusive), in one query."""
    accounts = journal_accounts()
    missing = [r for r in ("store_credit", "store_credit_goodwill") if not accounts.get(r)]
    if missing:
        raise ImproperlyConfigured(f"OMS_JOURNAL_ACCOUNTS has no account for {missing}.")
    start = timezone.make_aware(dt.datetime.combine(date_from, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    rows = (
        StoreCreditEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("created_at", "id")
        .values_list(
            "id",
            "kind",
            "amount",
            "created_at",
            "reference",
            "order_number",
            "account__customer__company__account_number",
            "currency",
        )
    )
    for entry_id, kind, amount, created_at, reference, order, company, currency in rows:
        debit, credit = SIDES[StoreCreditKind(kind)]
        # A spend is stored negative and an adjustment down too: the money flows the
        # other way round, for its absolute amount.
        negative_is_normal = kind == StoreCreditKind.SPENT
        if (amount < 0) != negative_is_normal:
            debit, credit = credit, debit
        rows_of_entry = tuple(
            JournalRow(
                date=timezone.localdate(created_at),
                account=accounts[role],
                debit=abs(amount) if side == "debit" else ZERO,
                credit=abs(amount) if side == "credit" else ZERO,
                document_number=reference or order or f"SC-{entry_id}",
                order_number=order,
                company=company or "",
                currency=currency,
            )
            for role, side in ((debit, "debit"), (credit, "credit"))
        )
        yield JournalEvent(kind=f"store_credit_{kind}", rows=rows_of_entry)
