"""Bearer-key authentication for the API. The principal is the key: a company's, a
vendor's or 3PL's, the storefront's or an ERP's (``customers.models.ApiKey``), and each
view's permission class says which kinds it serves."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from core.actors import Actor
from core.api.throttling import KeyedClient
from customers.api_keys import find_active_key
from customers.models import ApiKey, Company, Customer
from inventory.models import Location

LAST_USED_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True)
class ApiClient(KeyedClient):
    """What ``request.user`` is for an API call: a company acting through one key."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def company(self) -> Company:
        assert self.api_key.company is not None  # noqa: S101 - IsCompanyClient checked it
        return self.api_key.company

    @property
    def buyer(self) -> Customer:
        assert self.api_key.buyer is not None  # noqa: S101 - IsCompanyClient checked it
        return self.api_key.buyer

    @property
    def vendor(self) -> Location:
        assert self.api_key.vendor is not None  # noqa: S101 - IsVendorClient checked it
        return self.api_key.vendor

    @property
    def is_storefront(self) -> bool:
        return self.api_key.is_storefront

    @property
    def is_erp(self) -> bool:
        return self.api_key.is_erp

    @property
    def purchasing_location_id(self) -> int | None:
        """Whose purchase orders this key reaches: its own location's (a vendor's or
        3PL's key), or ``None`` for every location (an ERP's)."""
        if self.api_key.is_erp:
            return None
        return self.vendor.pk

    @property
    def orders_company_id(self) -> int | None:
        """Whose orders this key reaches (``orders.selectors.list_company_orders``): its
        company's, or ``None`` for the storefront, which reaches the B2C web orders of
        the shoppers it placed them for and no company's."""
        if self.api_key.is_storefront:
            return None
        return self.company.pk

    @property
    def price_list_id(self) -> int | None:
        """The contract price list this key sees; the storefront sells at list price."""
        if self.api_key.is_storefront:
            return None
        return self.company.price_list_id

    @property
    def scope(self) -> str:
        """The tenant whose data this key reaches (idempotency keys live in it)."""
        if self.api_key.is_storefront:
            return "storefront"
        if self.api_key.company_id is not None:
            return f"company:{self.api_key.company_id}"
        if self.api_key.is_erp:
            return f"erp:{self.api_key.pk}"
        return f"vendor:{self.api_key.vendor_id}"

    @property
    def actor(self) -> Actor:
        if self.api_key.is_storefront:
            return Actor.api_client(f"storefront/{self.api_key.name}")
        if self.api_key.is_erp:
            return Actor.api_client(f"erp/{self.api_key.name}")
        owner = self.api_key.company or self.api_key.vendor
        code = owner.account_number if isinstance(owner, Company) else owner.code  # type: ignore[union-attr]
        return Actor.api_client(f"{code}/{self.api_key.name}")

    @property
    def pk(self) -> str:
        return f"apikey:{self.api_key.pk}"

    @property
    def throttle_key(self) -> str:
        """Requests are counted per key (``core.api.throttling.ApiKeyRateThrottle``)."""
        return str(self.api_key.pk)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <API key>'.")
        api_key = find_active_key(raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        now = timezone.now()
        # Coarse "last used" stamp: at most one write per key every few minutes.
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_GRANULARITY:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiClient(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="oms"'


class IsApiClient(permissions.BasePermission):
    """A company's key or the storefront's: the ordering endpoints (the default)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, ApiClient) and (
            user.api_key.company_id is not None or user.api_key.is_storefront
        )


class IsCompanyClient(permissions.BasePermission):
    """A company's key only (not the storefront's): decisions a company takes."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, ApiClient) and user.api_key.company_id is not None


class IsVendorClient(permissions.BasePermission):
    """A dropship vendor's or 3PL's key: its fulfillment orders only."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, ApiClient) and user.api_key.vendor_id is not None


class IsPurchasingClient(permissions.BasePermission):
    """An ERP's key (every location) or a vendor's or 3PL's key (its own location): the
    purchase orders and their receipts."""

    message = "Purchase orders take an ERP's key, or a 3PL's or vendor's key for its location."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return isinstance(user, ApiClient) and (
            user.api_key.is_erp or user.api_key.vendor_id is not None
        )
