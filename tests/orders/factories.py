"""Orders built directly as rows, for tests of holds, derived statuses and constraints.

Real orders come from ``place_order``; these factories only produce rows that satisfy
the database constraints (placed orders have ``placed_at``, totals add up).
"""

from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import Channel, Order, OrderLine, OrderStatus
from tests.factories import CustomerFactory, ProductFactory, ShippingMethodFactory


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"T-{n:07d}")
    channel = Channel.WEB
    status = OrderStatus.PLACED
    customer = factory.SubFactory(CustomerFactory)
    email = factory.LazyAttribute(lambda o: o.customer.email)
    ship_name = "Pat Buyer"
    ship_line1 = "350 Fifth Avenue"
    ship_city = "New York"
    ship_region = "NY"
    ship_postal_code = "10118"
    ship_country = "US"
    shipping_method = factory.SubFactory(ShippingMethodFactory)
    placed_at = factory.LazyFunction(timezone.now)
    subtotal = Decimal("20.00")
    shipping_total = Decimal("5.00")
    grand_total = Decimal("25.00")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    line_number = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory)
    sku = factory.LazyAttribute(lambda line: line.product.sku)
    description = factory.LazyAttribute(lambda line: line.product.name)
    unit_price = Decimal("10.00")
    quantity_ordered = 2
    line_total = factory.LazyAttribute(lambda line: line.unit_price * line.quantity_ordered)
