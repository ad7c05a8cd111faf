"""The demo's webhook subscription: one company's events go to the demo's own receiver
(``webhooks.receiver``), so a user watches deliveries arrive in the admin.

Seeded last, after the live orders: the seed's own events are not sent (the receiver
is not listening while the seed runs), only what happens once the demo is up.
"""

from __future__ import annotations

from customers.models import Company
from webhooks.receiver import subscribe_demo_receiver

from .common import StepResult


def seed_demo_webhook_receiver(result: StepResult) -> None:
    company = Company.objects.order_by("id").first()
    if company is None:
        return
    _, created = subscribe_demo_receiver(company_id=company.pk)
    if created:
        result.created += 1
    else:
        result.existing += 1
