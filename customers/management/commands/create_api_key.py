from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.errors import DomainError
from customers.api_keys import (
    create_api_key,
    create_erp_api_key,
    create_storefront_api_key,
    create_vendor_api_key,
)
from customers.models import Company, Customer
from inventory.models import Location


class Command(BaseCommand):
    help = "Issue a B2B API key for a company and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_number", nargs="?", default="")
        parser.add_argument("--name", default="integration")
        parser.add_argument(
            "--vendor", default="", help="Location code of a dropship vendor or 3PL instead."
        )
        parser.add_argument(
            "--storefront", action="store_true", help="A key for the web storefront (B2C)."
        )
        parser.add_argument(
            "--erp",
            action="store_true",
            help="A key for an ERP: purchase orders and receipts for every location.",
        )
        parser.add_argument("--buyer", help="E-mail of the buyer orders are recorded for.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["storefront"]:
            issued = create_storefront_api_key(name=options["name"])
            self.stdout.write(issued.raw_key)
            self.stderr.write(f"Storefront key {issued.api_key.prefix}. It is not shown again.")
            return
        if options["erp"]:
            issued = create_erp_api_key(name=options["name"])
            self.stdout.write(issued.raw_key)
            self.stderr.write(f"ERP key {issued.api_key.prefix}. It is not shown again.")
            return
        if options["vendor"]:
            self._vendor_key(options["vendor"], options["name"])
            return
        if not options["account_number"]:
            raise CommandError(
                "Give a company account number, or --vendor LOCATION, --storefront or --erp."
            )
        company = Company.objects.filter(account_number=options["account_number"].upper()).first()
        if company is None:
            raise CommandError(f"No company with account number {options['account_number']}.")
        buyer = None
        if options["buyer"]:
            buyer = Customer.objects.filter(email__iexact=options["buyer"]).first()
            if buyer is None:
                raise CommandError(f"No customer {options['buyer']}.")
        try:
            issued = create_api_key(company=company, name=options["name"], buyer=buyer)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(issued.raw_key)
        self.stderr.write(
            f"Key {issued.api_key.prefix} for {company.name}, ordering as "
            f"{issued.api_key.buyer.email if issued.api_key.buyer else ''}. "
            "Store it now: it is not shown again."
        )

    def _vendor_key(self, code: str, name: str) -> None:
        vendor = Location.objects.filter(code=code.upper()).first()
        if vendor is None:
            raise CommandError(f"No location {code}.")
        try:
            issued = create_vendor_api_key(vendor=vendor, name=name)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(issued.raw_key)
        self.stderr.write(f"Key {issued.api_key.prefix} for {vendor}. It is not shown again.")
