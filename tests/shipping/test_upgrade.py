"""Upgrading a database whose carriers and shipping methods still belong to fulfillment.

The move to ``shipping`` is state-only: rows written by the earlier schema (a carrier, a
method with its audit history, an order that ships by it) must read through
``shipping.models`` afterwards, with the same ids and foreign keys, and the content types
must follow so that the permissions (and the staff groups holding them) keep their ids.
Migrating back gives fulfillment its models again, with the rows still there.

The migrations run inside the test's transaction (PostgreSQL's DDL is transactional), so
the test database is back at the latest schema when the test ends, whatever happens.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from orders.models import Order
from shipping.models import Carrier, ServiceLevel, ShippingMethod
from tests.factories import CustomerFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="migrates back and forth in one transaction"
    ),
]

# The schema before the move: fulfillment owns the carriers and methods.
BEFORE = [("fulfillment", "0007_readable_labels"), ("orders", "0015_readable_labels")]
MOVED = ("carrier", "shippingmethod", "historicalshippingmethod")


def migrate(targets):
    """Migrate the test database to ``targets``; the historical apps at that state."""
    executor = MigrationExecutor(connection)
    # Inside the test's transaction: a data migration undone on the way back (deleting its
    # rows) must have its foreign keys checked before its table is dropped.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor.migrate(targets)
    # Deferred foreign keys and constraint triggers fire now, so that a later migration
    # may alter the tables these rows are in.
    connection.check_constraints()
    ContentType.objects.clear_cache()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def migrate_back():
    return migrate([*BEFORE, ("shipping", None)])


def migrate_to_latest():
    return migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def labels_of_moved_content_types():
    rows = ContentType.objects.filter(model__in=MOVED).values_list("app_label", "model")
    return {model: app_label for app_label, model in rows}


def test_rows_written_before_the_move_read_through_shipping_and_back():
    customer = CustomerFactory()
    try:
        # Given a database at the schema before the move, with rows written through it
        old = migrate_back()
        assert labels_of_moved_content_types() == dict.fromkeys(MOVED, "fulfillment")
        old_carrier = old.get_model("fulfillment", "Carrier").objects.create(
            code="OLDPOST", name="Old Post", tracking_url_template="https://t.example/{n}"
        )
        old_method_model = old.get_model("fulfillment", "ShippingMethod")
        old_method = old_method_model.objects.create(
            code="OLD_STD",
            name="Old standard",
            service_level=ServiceLevel.STANDARD,
            carrier=old_carrier,
            transit_days_min=2,
            transit_days_max=4,
            cutoff_time=dt.time(15, 30),
            operating_days=[1, 2, 3, 4, 5],
            price=Decimal("6.50"),
        )
        old.get_model("fulfillment", "HistoricalShippingMethod").objects.create(
            id=old_method.pk,
            code=old_method.code,
            name=old_method.name,
            service_level=old_method.service_level,
            carrier_id=old_carrier.pk,
            history_date=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            history_type="+",
        )
        old_order = old.get_model("orders", "Order").objects.create(
            number="UPGRADE-1",
            channel="web",
            customer_id=customer.pk,
            email=customer.email,
            ship_name="Pat",
            ship_line1="350 Fifth Avenue",
            ship_city="New York",
            ship_country="US",
            shipping_method=old_method,
        )
        old_permission = old.get_model("auth", "Permission").objects.get(
            content_type__app_label="fulfillment", codename="view_carrier"
        )
        old_group = old.get_model("auth", "Group").objects.create(name="carrier desk")
        old_group.permissions.add(old_permission)
        content_type_ids = dict(
            ContentType.objects.filter(model__in=MOVED).values_list("model", "pk")
        )

        # When the database is migrated to this tree's schema
        migrate_to_latest()

        # Then the rows read through shipping, with their ids and foreign keys
        method = ShippingMethod.objects.select_related("carrier").get(code="OLD_STD")
        assert method.pk == old_method.pk
        assert method.carrier == Carrier.objects.get(pk=old_carrier.pk)
        assert method.carrier.tracking_url("1Z9") == "https://t.example/{n}"
        assert (method.cutoff_time, method.operating_days) == (dt.time(15, 30), [1, 2, 3, 4, 5])
        assert list(method.carrier.methods.all()) == [method]
        assert [h.code for h in method.history.all()] == ["OLD_STD"]
        order = Order.objects.select_related("shipping_method__carrier").get(pk=old_order.pk)
        assert order.shipping_method == method
        assert order.shipping_method.carrier.code == "OLDPOST"
        assert list(method.orders.all()) == [order]
        # and the content types moved with the models: same ids, permissions and groups
        assert labels_of_moved_content_types() == dict.fromkeys(MOVED, "shipping")
        assert content_type_ids == dict(
            ContentType.objects.filter(model__in=MOVED).values_list("model", "pk")
        )
        assert ContentType.objects.get_for_model(Carrier).pk == content_type_ids["carrier"]
        permission = Permission.objects.get(
            content_type__app_label="shipping", codename="view_carrier"
        )
        assert permission.pk == old_permission.pk
        assert not Permission.objects.filter(
            content_type__app_label="fulfillment", codename__endswith="carrier"
        ).exists()
        assert list(Group.objects.get(name="carrier desk").permissions.all()) == [permission]

        # When it is migrated back, fulfillment has its models and the rows again
        old = migrate_back()
        assert labels_of_moved_content_types() == dict.fromkeys(MOVED, "fulfillment")
        back = old.get_model("orders", "Order").objects.get(pk=old_order.pk)
        assert back.shipping_method.code == "OLD_STD"
        assert back.shipping_method.carrier.code == "OLDPOST"
        assert (
            old.get_model("auth", "Permission")
            .objects.get(content_type__app_label="fulfillment", codename="view_carrier")
            .pk
            == old_permission.pk
        )
    finally:
        migrate_to_latest()

    assert labels_of_moved_content_types() == dict.fromkeys(MOVED, "shipping")
    assert ShippingMethod.objects.get(code="OLD_STD").carrier.code == "OLDPOST"


def test_content_types_made_again_while_half_migrated_back_are_dropped_coming_forward():
    moved_rows = ContentType.objects.filter(model__in=MOVED).order_by("model")
    ids = dict(moved_rows.values_list("model", "pk"))
    try:
        # Given fulfillment migrated back alone: both apps' state hold the models, and
        # Django's post_migrate makes fulfillment content types and permissions for them
        half = migrate([("fulfillment", "0007_readable_labels")])
        assert labels_of_moved_content_types() == dict.fromkeys(MOVED, "shipping")
        made_again = half.get_model("contenttypes", "ContentType").objects.bulk_create(
            half.get_model("contenttypes", "ContentType")(app_label="fulfillment", model=model)
            for model in MOVED
        )
        half.get_model("auth", "Permission").objects.create(
            content_type=made_again[0], codename="view_carrier", name="Can view carrier"
        )

        # When it comes forward again
        migrate_to_latest()

        # Then each model has its one content type, the one that moved
        assert list(moved_rows.values_list("app_label", "model", "pk")) == [
            ("shipping", model, ids[model]) for model in sorted(MOVED)
        ]
        assert list(
            Permission.objects.filter(codename="view_carrier").values_list(
                "content_type__app_label", flat=True
            )
        ) == ["shipping"]
    finally:
        migrate_to_latest()
