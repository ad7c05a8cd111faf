"""The notification log moved from the project app to orders by state-only migrations:
a row written before the move is read through orders' model after it, with its order;
the content type and its permissions follow; and the move runs backwards."""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import StateApps

from orders.models import Notification, NotificationStatus
from tests.factories import UserFactory
from tests.orders.factories import OrderFactory

BEFORE = [("oms", "0003_outbox_event_moved_to_core"), ("orders", "0016_shipping_method_moved")]

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(targets: list[tuple[str, str]]) -> StateApps:
    """Migrate the test database to ``targets``; the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    ContentType.objects.clear_cache()
    return executor.loader.project_state(targets).apps


def migrate_to_latest() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def back_to_latest(transactional_db):
    yield
    migrate_to_latest()


def test_a_notification_written_before_the_move_is_read_through_orders_after_it():
    # given: an order, and the database as it was before the move
    order = OrderFactory()
    old_apps = migrate(BEFORE)
    old_content_type = ContentType.objects.get(app_label="oms", model="notification")
    view = Permission.objects.get(content_type=old_content_type, codename="view_notification")
    clerk = UserFactory(username="clerk")
    clerk.user_permissions.add(view)
    # a notification written through the project app's model of the time
    old_notifications = old_apps.get_model("oms", "Notification")
    old = old_notifications.objects.create(
        dedupe_key=f"order:{order.pk}:order_confirmed:::email",
        channel="email",
        event="order_confirmed",
        recipient="buyer@example.com",
        subject="Your order is confirmed",
        order_id=order.pk,
        status="sent",
    )

    # when
    migrate_to_latest()

    # then: the same row, with its order, through orders' model
    moved = Notification.objects.select_related("order").get(dedupe_key=old.dedupe_key)
    assert moved.pk == old.pk
    assert moved.order == order
    assert moved.status == NotificationStatus.SENT
    assert list(order.notifications.all()) == [moved]
    # the content type moved with it, so its permissions (and who holds them) stayed
    content_type = ContentType.objects.get_for_model(Notification)
    assert content_type.pk == old_content_type.pk
    assert content_type.app_label == "orders"
    assert not ContentType.objects.filter(app_label="oms", model="notification").exists()
    assert Permission.objects.get(codename="view_notification").pk == view.pk
    clerk = type(clerk).objects.get(pk=clerk.pk)
    assert clerk.has_perm("orders.view_notification")


def test_the_move_runs_backwards_and_keeps_the_rows():
    # given: a notification written after the move
    order = OrderFactory()
    notification = Notification.objects.create(
        dedupe_key=f"order:{order.pk}:shipped:::email",
        channel="email",
        event="shipped",
        recipient="buyer@example.com",
        order=order,
        status=NotificationStatus.SENDING,
    )
    content_type = ContentType.objects.get_for_model(Notification)

    # when
    old_apps = migrate(BEFORE)

    # then: the project app's model reads it again, under its old content type
    old_notifications = old_apps.get_model("oms", "Notification")
    old = old_notifications.objects.get(pk=notification.pk)
    assert (old.dedupe_key, old.order_id, old.status) == (
        notification.dedupe_key,
        order.pk,
        "sending",
    )
    assert ContentType.objects.get(pk=content_type.pk).app_label == "oms"


def half_migrated_back_with_a_duplicate_content_type() -> int:
    """Migrate oms alone back before the move: the model is in both apps' state, and
    Django's post_migrate makes an oms content type and permission for it again (made
    here as it would). Returns the id of the content type that moved."""
    moved = ContentType.objects.get(app_label="orders", model="notification")
    half = migrate([("oms", "0003_outbox_event_moved_to_core")])
    assert ContentType.objects.get(model="notification").pk == moved.pk
    content_types = half.get_model("contenttypes", "ContentType")
    made_again = content_types.objects.create(app_label="oms", model="notification")
    half.get_model("auth", "Permission").objects.create(
        content_type=made_again, codename="view_notification", name="Can view notification"
    )
    return moved.pk


def notification_content_types() -> list[tuple[str, int]]:
    rows = ContentType.objects.filter(model="notification").order_by("app_label")
    return list(rows.values_list("app_label", "pk"))


def test_a_content_type_made_again_while_half_migrated_back_is_dropped_coming_forward():
    # given
    moved = half_migrated_back_with_a_duplicate_content_type()

    # when
    migrate_to_latest()

    # then: one content type, the one that moved, and its permission alone
    assert notification_content_types() == [("orders", moved)]
    assert list(
        Permission.objects.filter(codename="view_notification").values_list(
            "content_type_id", flat=True
        )
    ) == [moved]


def test_a_content_type_made_again_while_half_migrated_back_is_dropped_going_back():
    # given
    moved = half_migrated_back_with_a_duplicate_content_type()

    # when: orders goes back before the move too
    migrate(BEFORE)

    # then: the content type that moved goes back, in place of the one made again
    assert notification_content_types() == [("oms", moved)]
    assert list(
        Permission.objects.filter(codename="view_notification").values_list(
            "content_type_id", flat=True
        )
    ) == [moved]
