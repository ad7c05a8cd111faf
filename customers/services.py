"""Writes for customers, companies, addresses, preferences and notes."""

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from core.actors import Actor
from core.addresses import clean_postal_address
from core.errors import Conflict, InvalidInput
from core.phones import InvalidPhone, normalise_phone

from .models import (
    Address,
    AddressKind,
    Company,
    CompanyRole,
    Customer,
    CustomerNote,
    NotificationEvent,
    NotificationPreference,
    PaymentTerms,
)
from .notification_models import is_transactional


@transaction.atomic
def create_company(
    *,
    account_number: str,
    name: str,
    payment_terms: str = PaymentTerms.NET_30,
    credit_limit: Decimal = Decimal("0"),
    currency: str = "USD",
    tax_exempt: bool = False,
    tax_exemption_number: str = "",
    po_required: bool = False,
    approval_threshold: Decimal | None = None,
    allow_backorders: bool = False,
) -> Company:
    """Open a B2B account. Refuses a duplicate account number or inconsistent terms."""
    account_number = account_number.strip().upper()
    if not account_number or not name.strip():
        raise InvalidInput("An account number and a name are required.")
    if credit_limit < 0:
        raise InvalidInput("The credit limit cannot be negative.", fields={"credit_limit": "<0"})
    if approval_threshold is not None and approval_threshold < 0:
        raise InvalidInput(
            "The approval threshold cannot be negative.", fields={"approval_threshold": "<0"}
        )
    if tax_exempt and not tax_exemption_number.strip():
        raise InvalidInput(
            "A tax-exempt company needs its exemption number.",
            fields={"tax_exemption_number": "required"},
        )
    if payment_terms not in PaymentTerms.values:
        raise InvalidInput(f"Unknown payment terms {payment_terms!r}.")
    if Company.objects.filter(account_number=account_number).exists():
        raise Conflict(f"Account number {account_number} is already taken.")
    return Company.objects.create(
        account_number=account_number,
        name=name.strip(),
        payment_terms=payment_terms,
        credit_limit=credit_limit,
        currency=currency,
        tax_exempt=tax_exempt,
        tax_exemption_number=tax_exemption_number.strip(),
        po_required=po_required,
        approval_threshold=approval_threshold,
        allow_backorders=allow_backorders,
    )


@transaction.atomic
def create_customer(
    *,
    email: str,
    first_name: str,
    last_name: str,
    phone: str = "",
    company: Company | None = None,
    company_role: str = "",
) -> Customer:
    """Register a customer. E-mail addresses are unique regardless of case."""
    email = email.strip()
    if "@" not in email:
        raise InvalidInput("A valid e-mail address is required.", fields={"email": email})
    if company is not None and not company_role:
        company_role = CompanyRole.BUYER
    if company is None:
        company_role = ""
    try:
        phone = normalise_phone(phone)
    except InvalidPhone as exc:
        raise InvalidInput(str(exc), fields={"phone": "invalid"}) from exc
    try:
        with transaction.atomic():
            return Customer.objects.create(
                email=email,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                phone=phone,
                company=company,
                company_role=company_role,
            )
    except IntegrityError as exc:
        raise Conflict(f"A customer with e-mail {email} already exists.") from exc


@transaction.atomic
def add_address(
    *,
    kind: str,
    data: dict[str, Any],
    customer: Customer | None = None,
    company: Company | None = None,
    make_default: bool = False,
) -> Address:
    """Save an address for a customer or a company, geocoding US ZIP codes offline."""
    if (customer is None) == (company is None):
        raise InvalidInput("An address belongs to exactly one customer or company.")
    if kind not in AddressKind.values:
        raise InvalidInput(f"Unknown address kind {kind!r}.")
    cleaned = clean_postal_address(data)
    if make_default:
        Address.objects.filter(
            kind=kind, is_default=True, customer=customer, company=company
        ).update(is_default=False)
    return Address.objects.create(
        kind=kind, is_default=make_default, customer=customer, company=company, **cleaned
    )


@transaction.atomic
def set_notification_preference(
    *, customer: Customer, event: str, email: bool, sms: bool
) -> NotificationPreference:
    if event not in NotificationEvent.values:
        raise InvalidInput(f"Unknown notification event {event!r}.")
    if not email and is_transactional(event):
        raise InvalidInput(
            f"“{NotificationEvent(event).label}” e-mails cannot be switched off.",
            fields={"email": "transactional"},
        )
    if sms and not customer.phone:
        raise InvalidInput("SMS needs a phone number on the customer.", fields={"sms": "no phone"})
    pref, _ = NotificationPreference.objects.update_or_create(
        customer=customer, event=event, defaults={"email": email, "sms": sms}
    )
    return pref


@transaction.atomic
def add_customer_note(*, customer: Customer, body: str, actor: Actor) -> CustomerNote:
    if not body.strip():
        raise InvalidInput("A note cannot be empty.")
    return CustomerNote.objects.create(customer=customer, author_id=actor.user_id, body=body)


@transaction.atomic
def register_shopper(*, email: str, first_name: str, last_name: str, phone: str = "") -> Customer:
    """The B2C customer with this e-mail (any case), registered on first purchase.

    A business buyer's e-mail is refused: business orders go through the company's
    own key, so its prices, terms and credit apply.
    """
    # lower(email) is what the unique index holds, so this is an index lookup.
    existing = (
        Customer.objects.select_related("company")
        .annotate(email_lower=Lower("email"))
        .filter(email_lower=email.strip().lower())
        .first()
    )
    if existing is None:
        return create_customer(email=email, first_name=first_name, last_name=last_name, phone=phone)
    if existing.company_id is not None:
        raise InvalidInput(
            f"{email} belongs to a business account; order through the company's account.",
            fields={"customer.email": "business account"},
        )
    if not existing.is_active:
        raise InvalidInput(f"The customer account {email} is closed.")
    return existing
