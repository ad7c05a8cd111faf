from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from customers.api_keys import create_api_key
from customers.models import Company, Customer
from oms.core.errors import DomainError


class Command(BaseCommand):
    help = "Issue a B2B API key for a company and print it once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("account_number")
        parser.add_argument("--name", default="integration")
        parser.add_argument("--buyer", help="E-mail of the buyer orders are recorded for.")

    def handle(self, *args: Any, **options: Any) -> None:
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
            f"{issued.api_key.buyer.email}. Store it now: it is not shown again."
        )
