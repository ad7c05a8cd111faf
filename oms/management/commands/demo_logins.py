"""Print where to log in, the demo logins and the demo integration credentials.

A password is shown only while the user still has its demo password, a carrier's
webhook secret only while it is the one the seed generated, and an API key only while
it is active, so a deployment whose operators changed theirs never prints anything
secret.
"""

import json
import shlex
from argparse import ArgumentParser
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import timezone

from customers.models import Address, AddressKind, ApiKey, Company
from fulfillment.carriers import SIMULATED_CODE
from fulfillment.models import Shipment, ShipmentStatus
from inventory.models import NetworkStock
from oms.demo.credentials import (
    COMPANY_ACCOUNT,
    COMPANY_KEY_NAME,
    active_demo_keys,
    demo_webhook_secrets,
    keys_file,
)
from oms.demo.users import DEMO_USERS

DEFAULT_URL = "http://127.0.0.1:8000"


class Command(BaseCommand):
    help = (
        "Print the admin URL, the demo logins (one per staff role, plus a superuser) and "
        "the demo's API keys and carrier webhook secrets."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--url", default=DEFAULT_URL, help=f"Where OMS is served (default {DEFAULT_URL})."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = options["url"].rstrip("/")
        self.stdout.write(f"OMS back office: {base_url}{reverse('admin:index')}")
        self._logins()
        self._api_keys(base_url)
        self._webhooks(base_url)

    def _table(self, rows: Sequence[Sequence[str]]) -> None:
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for position, row in enumerate(rows):
            self.stdout.write(
                "  "
                + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )
            if position == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))

    def _logins(self) -> None:
        users = {
            user.username: user
            for user in User.objects.filter(username__in=[spec.username for spec in DEMO_USERS])
        }
        rows = [("username", "password", "role")]
        for spec in DEMO_USERS:
            user = users.get(spec.username)
            if user is None:
                shown = "(not created: run seed_demo)"
            elif not user.is_active:
                shown = "(deactivated)"
            elif user.check_password(spec.password):
                shown = spec.password
            else:
                shown = "(password changed)"
            rows.append((spec.username, shown, spec.role_label))
        self.stdout.write("Demo logins:")
        self._table(rows)

    def _api_keys(self, base_url: str) -> None:
        keys = active_demo_keys()
        company_key, vendor_key = keys.get("COMPANY_API_KEY"), keys.get("VENDOR_API_KEY")
        if not company_key and not vendor_key:
            if ApiKey.objects.filter(company__account_number=COMPANY_ACCOUNT).exists():
                self.stdout.write(
                    f"Demo API keys: not in {keys_file()} (or revoked); OMS shows a key only "
                    "once, so issue a new one in the admin (Customers › API keys)."
                )
            return
        self.stdout.write("Demo API keys (send as 'Authorization: Bearer <key>'):")
        rows = [("key", "for", "API key")]
        if company_key:
            rows.append(("B2B ordering", keys.get("COMPANY_ACCOUNT", ""), company_key))
        if vendor_key:
            rows.append(("dropship vendor", keys.get("VENDOR_CODE", ""), vendor_key))
        self._table(rows)
        if company_key:
            self._order_example(base_url, company_key)

    def _order_example(self, base_url: str, api_key: str) -> None:
        company = Company.objects.filter(account_number=COMPANY_ACCOUNT).first()
        if company is None:
            return
        body: dict[str, Any] = {"shipping_method": "STANDARD"}
        if company.po_required:
            body["po_number"] = "PO-DEMO-0001"
        address = Address.objects.filter(
            company=company, kind=AddressKind.SHIPPING, is_default=True
        ).first()
        if address is not None:
            body["shipping_address"] = {
                field: getattr(address, field)
                for field in ("name", "line1", "line2", "city", "region", "postal_code", "country")
            }
        stocked = NetworkStock.objects.select_related("product").filter(product__is_active=True)
        if company.price_list_id:
            stocked = stocked.filter(product__price_entries__price_list_id=company.price_list_id)
        best = stocked.order_by("-available", "product__sku").first()
        body["lines"] = [{"sku": best.product.sku if best else "KIT-1003", "quantity": 2}]
        self.stdout.write(
            f"Place an order as {company.name} ({COMPANY_KEY_NAME}); a retry with the same "
            "Idempotency-Key returns the same order:"
        )
        self.stdout.write(
            f"  curl -sS -X POST {base_url}{reverse('api-orders')} \\\n"
            f'    -H "Authorization: Bearer {api_key}" \\\n'
            '    -H "Idempotency-Key: demo-$(date +%s)" \\\n'
            '    -H "Content-Type: application/json" \\\n'
            f"    -d {shlex.quote(json.dumps(body))}"
        )

    def _webhooks(self, base_url: str) -> None:
        rows = [("carrier", "X-Carrier-Token")]
        rows += list(demo_webhook_secrets().items())
        if len(rows) == 1:
            return
        self.stdout.write("Carrier tracking webhooks (the secrets seed_demo generated):")
        self._table(rows)
        secret = dict(rows).get(SIMULATED_CODE)
        shipment = (
            Shipment.objects.filter(carrier__code=SIMULATED_CODE, status=ShipmentStatus.IN_TRANSIT)
            .order_by("-id")
            .first()
        )
        if secret and shipment is not None:
            event = {
                "tracking_number": shipment.tracking_number,
                "status": ShipmentStatus.OUT_FOR_DELIVERY,
                "occurred_at": timezone.now().isoformat(timespec="seconds"),
                "event_id": "demo-scan-1",
            }
            url = base_url + reverse("api-carrier-events", args=[SIMULATED_CODE])
            self.stdout.write(
                f"  curl -sS -X POST {url} \\\n"
                f'    -H "X-Carrier-Token: {secret}" -H "Content-Type: application/json" \\\n'
                f"    -d {shlex.quote(json.dumps(event))}"
            )
