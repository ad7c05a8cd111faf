from django.apps import AppConfig


class ShippingConfig(AppConfig):
    """Carriers, shipping methods and the delivery-promise calendar.

    It sits below ``orders``: capture reads the method a buyer chose and promises a date
    without reaching up into ``fulfillment``, which builds shipments on these carriers.
    """

    name = "shipping"
    verbose_name = "Shipping"
