from django.db import migrations

DEFAULT_RULES = [
    ("active", 10, True, {}, "Closed locations take no orders."),
    ("capability", 20, True, {}, "Ships / pickup store / customisation / dropship vendor."),
    ("stock", 30, True, {}, "Units free after allocations, reservations and safety stock."),
    ("capacity", 40, True, {}, "Fulfilment orders created today below the daily capacity."),
    ("ship_together", 50, False, {"skus": []}, "Listed SKUs (or all lines) ship as one."),
    ("fewest_shipments", 60, True, {}, "One parcel beats two."),
    ("distance", 70, True, {}, "Closer to the customer ships faster and cheaper."),
    ("priority", 80, True, {}, "Lower priority number first."),
    ("cost", 90, True, {}, "Cheaper per shipment first."),
]


def create_rules(apps, schema_editor):
    rule_model = apps.get_model("fulfillment", "RoutingRule")
    for step, position, enabled, parameters, description in DEFAULT_RULES:
        rule_model.objects.get_or_create(
            step=step,
            defaults={
                "position": position,
                "is_enabled": enabled,
                "parameters": parameters,
                "description": description,
            },
        )


def remove_rules(apps, schema_editor):
    apps.get_model("fulfillment", "RoutingRule").objects.all().delete()


class Migration(migrations.Migration):
    """The default routing recipe; operators reorder and toggle it in the admin."""

    dependencies = [("fulfillment", "0002_fulfilment_orders_routing_shipments")]

    operations = [migrations.RunPython(create_rules, remove_rules)]
