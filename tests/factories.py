"""factory_boy factories for the domain models. Stock is never set directly: use the
inventory services (``receive_stock``) so the ledger stays the source of truth."""

from decimal import Decimal

import factory
from django.contrib.auth.models import User

from core.geo import state_for_postal_code
from customers.models import Company, Customer
from inventory.models import Location, LocationKind, NetworkStock, Product
from shipping.models import Carrier, ServiceLevel, ShippingMethod


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    is_staff = True


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    account_number = factory.Sequence(lambda n: f"ACME{n:05d}")
    name = factory.Sequence(lambda n: f"Company {n}")
    credit_limit = Decimal("10000.00")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"buyer{n}@example.com")
    first_name = "Pat"
    last_name = factory.Sequence(lambda n: f"Buyer{n}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"LOC{n:03d}")
    name = factory.Sequence(lambda n: f"Location {n}")
    kind = LocationKind.WAREHOUSE
    line1 = "1 Dock Road"
    city = "Reno"
    postal_code = "89502"
    # The state of the ZIP code: an address whose ZIP is in another state is refused.
    region = factory.LazyAttribute(
        lambda loc: state_for_postal_code(loc.country, loc.postal_code) or "NV"
    )
    country = "US"
    latitude = Decimal("39.4941")
    longitude = Decimal("-119.7452")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    list_price = Decimal("19.99")

    @factory.post_generation
    def network(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            NetworkStock.objects.get_or_create(product=self)


class CarrierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Carrier
        django_get_or_create = ("code",)

    code = "SIM"
    name = "Simulated Carrier"


class ShippingMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingMethod
        django_get_or_create = ("code",)

    code = "STANDARD"
    name = "Standard"
    service_level = ServiceLevel.STANDARD
    carrier = factory.SubFactory(CarrierFactory)
    transit_days_min = 5
    transit_days_max = 7
    operating_days = [1, 2, 3, 4, 5]
    price = Decimal("5.00")
