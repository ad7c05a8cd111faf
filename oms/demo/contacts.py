"""The demo companies' notification contacts: accounts payable gets a copy of every
invoice and payment failure, the receiving dock of every shipment (by e-mail, and by SMS
where the dock has a phone). Made through ``save_company_contact``; safe to run again."""

from __future__ import annotations

from customers.models import Company, NotificationEvent
from customers.notification_models import CompanyContact
from customers.notification_preferences import save_company_contact

from .common import StepResult
from .data import COMPANIES

ACCOUNTS_PAYABLE = "Accounts payable"
RECEIVING = "Receiving dock"


def seed_company_contacts(result: StepResult) -> None:
    companies = {
        c.account_number: c
        for c in Company.objects.filter(account_number__in=[s.account_number for s in COMPANIES])
    }
    existing = set(
        CompanyContact.objects.filter(company__in=companies.values()).values_list(
            "company__account_number", "name"
        )
    )
    for index, spec in enumerate(COMPANIES):
        company = companies.get(spec.account_number)
        if company is None:
            continue
        wanted = [
            (
                ACCOUNTS_PAYABLE,
                f"ap@{spec.email_domain}",
                "",
                [NotificationEvent.INVOICE_ISSUED, NotificationEvent.PAYMENT_FAILED],
            ),
            (
                RECEIVING,
                f"receiving@{spec.email_domain}",
                # 555-0100 to 555-0199 are reserved for fiction; every other dock texts.
                f"+1 775 555 01{index:02d}" if index % 2 == 0 else "",
                [
                    NotificationEvent.SHIPPED,
                    NotificationEvent.OUT_FOR_DELIVERY,
                    NotificationEvent.DELIVERED,
                    NotificationEvent.DELAYED,
                ],
            ),
        ]
        for name, email, phone, events in wanted:
            if (spec.account_number, name) in existing:
                result.existing += 1
                continue
            save_company_contact(
                company=company,
                name=name,
                email=email,
                phone=phone,
                events=events,
                by_email=True,
                by_sms=bool(phone),
            )
            result.created += 1
