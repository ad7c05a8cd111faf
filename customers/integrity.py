"""Store credit invariants, read from the stored rows (run by ``check_integrity``):
each balance equals the sum of its ledger entries and its newest entry's balance after.
The services write both together; these checks find anything that went around them (a
raw UPDATE of a balance, a restore from a partial backup, a bug)."""

from django.db.models import OuterRef, Subquery, Sum

from core.integrity import Violation

from .store_credit_models import ZERO, StoreCreditAccount, StoreCreditEntry


def check_store_credit() -> list[Violation]:
    entries = StoreCreditEntry.objects.filter(account=OuterRef("pk")).order_by()
    accounts = StoreCreditAccount.objects.annotate(
        total=Subquery(entries.values("account").annotate(t=Sum("amount")).values("t")[:1]),
        newest=Subquery(entries.order_by("-created_at", "-id").values("balance_after")[:1]),
    ).values_list("customer_id", "balance", "total", "newest")
    found = []
    for customer_id, balance, total, newest in accounts:
        if (total or ZERO) != balance:
            detail = f"the balance is {balance}, its ledger entries add up to {total or ZERO}"
        elif newest is not None and newest != balance:
            detail = f"the balance is {balance}, its newest entry says {newest}"
        else:
            continue
        found.append(Violation("store_credit_ledger", f"customer {customer_id}", detail))
    return found
