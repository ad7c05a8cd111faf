"""Factories for orders, used by the console tests until order placement exists.

An order built here is ``placed`` with lines and totals that add up; it moves no stock
(the admin tests only read orders and hold or release them).
"""

from decimal import Decimal

import factory
from django.utils import timezone

from orders.models import Channel, Order, OrderLine, OrderStatus
from orders.numbering import next_order_number
from tests.factories import CustomerFactory, ProductFactory, ShippingMethodFactory


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = None
    line_number = factory.Sequence(lambda n: n + 1)
    product = factory.SubFactory(ProductFactory)
    sku = factory.LazyAttribute(lambda line: line.product.sku)
    description = factory.LazyAttribute(lambda line: line.product.name)
    unit_price = factory.LazyAttribute(lambda line: line.product.list_price)
    quantity_ordered = 2
    line_total = factory.LazyAttribute(lambda line: line.unit_price * line.quantity_ordered)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    number = factory.LazyFunction(next_order_number)
    channel = Channel.WEB
    status = OrderStatus.PLACED
    customer = factory.SubFactory(CustomerFactory)
    email = factory.LazyAttribute(lambda order: order.customer.email)
    ship_name = "Pat Buyer"
    ship_line1 = "1 Main Street"
    ship_city = "Reno"
    ship_region = "NV"
    ship_postal_code = "89502"
    ship_country = "US"
    ship_phone = factory.Sequence(lambda n: f"+1775555{n:04d}")
    shipping_method = factory.SubFactory(ShippingMethodFactory)
    placed_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def lines(self, create: bool, extracted: int | None, **kwargs: object) -> None:
        """``OrderFactory(lines=3)`` adds three lines and totals that add up."""
        if not create:
            return
        made = [
            OrderLineFactory(order=self, line_number=number, **kwargs)
            for number in range(1, (1 if extracted is None else extracted) + 1)
        ]
        self.subtotal = sum((line.line_total for line in made), Decimal("0"))
        self.shipping_total = self.shipping_method.price
        self.grand_total = self.subtotal + self.shipping_total
        self.save(update_fields=["subtotal", "shipping_total", "grand_total"])
