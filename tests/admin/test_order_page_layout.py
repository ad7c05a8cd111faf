"""The order page as a commerce back office shows an order: the summary card first
(statuses, totals, customer and company, open holds with their release buttons, pinned
notes), the lines right under it, then fulfillment, the timeline newest first with the
agents' notes, the rest collapsed; buttons only for what the viewer may do now; every
date in the viewer's time zone and date style."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import DateStyle, StaffPreference
from orders import notes
from orders import services as order_services
from orders.models import HoldKind, Order, OrderEvent, OrderEventType, OrderNote, OrderStatus
from tests.admin.factories import OrderFactory
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db

CREATED_AT = dt.datetime(2026, 3, 31, 18, 5, tzinfo=dt.UTC)


def _page_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def _page(client, order: Order) -> str:
    response = client.get(_page_url(order))
    assert response.status_code == 200
    return response.content.decode()


def _at(content: str, marker: str) -> int:
    at = content.find(marker)
    assert at >= 0, f"{marker!r} is not on the page"
    return at


@pytest.fixture
def order(operator) -> Order:
    order = OrderFactory(lines=3, company=CompanyFactory(name="Acme Supplies"), po_number="PO-77")
    order.ship_latitude, order.ship_longitude = Decimal("39.529600"), Decimal("-119.813800")
    order.save(update_fields=["ship_latitude", "ship_longitude"])
    Order.objects.filter(pk=order.pk).update(created_at=CREATED_AT)
    order.refresh_from_db()
    return order


def test_the_summary_card_comes_first_then_the_lines_fulfillment_and_the_timeline(
    admin_client, order
):
    content = _page(admin_client, order)

    summary = _at(content, 'class="order-summary"')
    lines = _at(content, 'id="lines"')
    fulfillment = _at(content, ">Fulfillment</h2>")
    timeline = _at(content, 'id="timeline"')
    notifications = _at(content, ">Notifications</h2>")
    details = _at(content, ">Order details</h2>")
    assert summary < lines < fulfillment < timeline < notifications < details
    card = content[summary:lines]
    for text in ("Order</span> Placed", "Fulfillment</span> Unfulfilled", "Payment</span>"):
        assert text in card
    assert "Acme Supplies" in card
    assert f'href="{reverse("admin:customers_customer_change", args=[order.customer_id])}"' in card
    assert "PO-77" in card
    assert f"${order.grand_total:,.2f}" in card
    for line in order.lines.all():
        assert line.sku in content[lines:fulfillment]
    # The lines are the page's table, not a form of sixteen columns.
    assert "lines-group" not in content


def test_coordinates_are_only_in_the_collapsed_technical_section(admin_client, order):
    content = _page(admin_client, order)

    routing = _at(content, "Routing (technical)")
    coordinates = _at(content, "39.529600")
    assert routing < coordinates
    # The section is a collapsed <details> that opens on a click.
    assert content.rfind("<details", 0, routing) > content.rfind("</details>", 0, routing)


def test_the_timeline_is_newest_first_with_the_agents_notes(admin_client, order, operator):
    order_services.place_hold(order=order, kind="manual", reason="Check stock", actor=operator)
    notes.add_order_note(order=order, body="Customer asked for a call\nbefore noon", actor=operator)

    content = _page(admin_client, order)
    timeline = content[_at(content, 'id="timeline"') : _at(content, ">Notifications</h2>")]

    assert _at(timeline, "Agent note") < _at(timeline, "Hold placed")
    assert "Customer asked for a call<br>before noon" in timeline
    entries = OrderEvent.objects.filter(order=order).count()
    assert timeline.count('class="order-timeline-entry') == entries


def _note_url(order: Order) -> str:
    return reverse("admin:orders_order_add_note", args=[order.pk])


def test_an_agent_adds_a_note_from_the_page_and_pins_it(client_for, order):
    agent = client_for("agent")
    content = _page(agent, order)
    assert f'action="{_note_url(order)}"' in content
    assert 'form="order-note-form"' in content

    response = agent.post(_note_url(order), {"body": "Leave at the back door"})

    assert response.status_code == 302
    assert response["Location"] == _page_url(order) + "#timeline"
    note = OrderNote.objects.get(order=order)
    assert (note.body, note.author_name, note.pinned) == (
        "Leave at the back door",
        "agent-user",
        False,
    )
    content = agent.get(response["Location"]).content.decode()
    assert f"{order.number}: Note added to the timeline." in content
    assert "order-pinned-notes" not in content

    pin_url = reverse("admin:orders_order_pin_note", args=[order.pk, note.pk])
    assert f'formaction="{pin_url}"' in content
    response = agent.post(pin_url, {"pinned": "1"}, follow=True)

    content = response.content.decode()
    assert f"{order.number}: Note pinned on top of the page." in content
    card = content[_at(content, 'class="order-summary"') : _at(content, 'id="lines"')]
    assert "Pinned notes" in card
    assert "Leave at the back door" in card
    assert OrderNote.objects.get(pk=note.pk).pinned is True
    assert list(
        OrderEvent.objects.filter(order=order, type=OrderEventType.NOTE)
        .order_by("id")
        .values_list("message", flat=True)
    ) == ["Note: Leave at the back door", "Note pinned: Leave at the back door"]


def test_a_note_added_pinned_shows_on_top(client_for, order):
    agent = client_for("agent")

    response = agent.post(_note_url(order), {"body": "VIP", "pinned": "1"}, follow=True)

    content = response.content.decode()
    assert f"{order.number}: Note added and pinned on top." in content
    assert "Pinned notes" in content[: _at(content, 'id="lines"')]


def test_an_empty_note_is_refused_with_a_message_and_nothing_is_written(client_for, order):
    agent = client_for("agent")
    events = OrderEvent.objects.filter(order=order).count()

    response = agent.post(_note_url(order), {"body": "   "}, follow=True)

    assert response.status_code == 200
    assert "The note was not added: A note cannot be empty." in response.content.decode()
    assert not OrderNote.objects.exists()
    assert OrderEvent.objects.filter(order=order).count() == events


def test_pinning_a_pinned_note_again_says_so(client_for, order, operator):
    agent = client_for("agent")
    note = notes.add_order_note(order=order, body="Gate 4411", actor=operator, pinned=True)
    events = OrderEvent.objects.filter(order=order).count()
    pin_url = reverse("admin:orders_order_pin_note", args=[order.pk, note.pk])

    response = agent.post(pin_url, {"pinned": "1"}, follow=True)

    assert "This note is already pinned." in response.content.decode()
    assert OrderEvent.objects.filter(order=order).count() == events


def test_who_may_not_write_notes_gets_no_form_and_is_refused(client_for, order, operator):
    finance = client_for("finance")
    note = notes.add_order_note(order=order, body="Gate 4411", actor=operator)
    events = OrderEvent.objects.filter(order=order).count()

    content = _page(finance, order)
    assert "order-note-form" not in content.replace('id="order-note-pin-form"', "")
    assert "Gate 4411" in content  # they read the notes
    pin_url = reverse("admin:orders_order_pin_note", args=[order.pk, note.pk])
    assert pin_url not in content

    assert finance.post(_note_url(order), {"body": "Mine"}).status_code == 403
    assert finance.post(pin_url, {"pinned": "1"}).status_code == 403
    assert list(OrderNote.objects.values_list("body", "pinned")) == [("Gate 4411", False)]
    assert OrderEvent.objects.filter(order=order).count() == events


def test_a_note_of_another_order_cannot_be_pinned_through_this_one(client_for, order, operator):
    other = OrderFactory()
    note = notes.add_order_note(order=other, body="Elsewhere", actor=operator)

    response = client_for("agent").post(
        reverse("admin:orders_order_pin_note", args=[order.pk, note.pk]), {"pinned": "1"}
    )

    assert response.status_code == 404
    assert OrderNote.objects.get(pk=note.pk).pinned is False


def test_notes_are_posted_never_fetched(client_for, order):
    assert client_for("agent").get(_note_url(order)).status_code == 405
    assert not OrderNote.objects.exists()


def test_open_holds_have_a_release_button_for_those_who_may_release_them(
    client_for, order, operator
):
    address = order_services.place_hold(
        order=order, kind="address", reason="Unverified", actor=operator
    )
    order_services.place_hold(order=order, kind="fraud_review", reason="Odd card", actor=operator)
    release_url = reverse("admin:orders_order_release_hold", args=[order.pk])
    agent = client_for("agent")

    content = _page(agent, order)
    card = content[_at(content, 'class="order-summary"') : _at(content, 'id="lines"')]

    assert f'href="{release_url}?hold={address.pk}"' in card
    assert f"Release {HoldKind.ADDRESS.label.lower()} hold" in card
    assert card.count('class="button order-release"') == 1
    assert "released by" in card  # the fraud review is someone else's
    # The button opens the existing release page with that hold chosen.
    form_page = agent.get(f"{release_url}?hold={address.pk}").content.decode()
    assert re.search(rf'<option value="{address.pk}" selected>', form_page)


def test_buttons_only_for_what_the_viewer_may_do_in_this_state(client_for, order):
    agent, finance = client_for("agent"), client_for("finance")
    cancel_url = reverse("admin:orders_order_cancel", args=[order.pk])

    assert cancel_url in _page(agent, order)
    assert cancel_url not in _page(finance, order)

    Order.objects.filter(pk=order.pk).update(
        status=OrderStatus.CANCELLED, cancelled_at=timezone.now()
    )
    content = _page(agent, order)
    assert cancel_url not in content
    assert reverse("admin:orders_order_change_quantity", args=[order.pk]) not in content


def test_dates_follow_the_viewers_time_zone_and_style(client_for, order, operator):
    notes.add_order_note(order=order, body="Hello", actor=operator)
    OrderEvent.objects.filter(order=order).update(created_at=CREATED_AT)
    agent = client_for("agent")

    content = _page(agent, order)
    assert "Created 2026-03-31 18:05" in content  # the site's zone (UTC), year first
    assert "2026-03-31 18:05</div>" in content  # the timeline, the same way

    user = User.objects.get(username="agent-user")
    StaffPreference.objects.create(user=user, time_zone="America/New_York", date_style=DateStyle.US)
    content = _page(agent, order)
    assert "Created 03/31/2026 2:05 PM" in content
    assert "03/31/2026 2:05 PM</div>" in content
    assert "2026-03-31 18:05" not in content
    # The order list writes them the same way.
    listing = agent.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "03/31/2026 2:05 PM" in listing


def test_preferences_cost_no_query(admin_client, admin_user, order):
    ContentType.objects.get_for_model(Order)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(_page_url(order)).status_code == 200
        return len(captured)

    without = count()
    StaffPreference.objects.create(user=admin_user, time_zone="Europe/Paris")
    assert count() == without


def test_a_user_sets_their_time_zone_and_date_style(client_for):
    agent = client_for("agent")
    url = reverse("staff_preferences")
    assert f'href="{url}"' in agent.get(reverse("admin:index")).content.decode()

    response = agent.post(url, {"time_zone": "Europe/Paris", "date_style": "european"})

    assert response.status_code == 302
    preference = StaffPreference.objects.get(user__username="agent-user")
    assert (preference.time_zone, preference.date_style) == ("Europe/Paris", "european")
    content = agent.get(url).content.decode()
    assert "Saved: dates are shown in Europe/Paris" in content
    # The page says what now looks like: day first (31/03/2026 14:05).
    assert re.search(r'class="preferences-now">\d{2}/\d{2}/\d{4} \d{2}:\d{2}<', content)


def test_an_unknown_time_zone_is_refused_and_nothing_saved(client_for):
    agent = client_for("agent")

    response = agent.post(
        reverse("staff_preferences"), {"time_zone": "Mars/Olympus", "date_style": "iso"}
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not StaffPreference.objects.exists()


def test_preferences_do_not_outlive_the_request(admin_user, admin_client):
    StaffPreference.objects.create(user=admin_user, time_zone="Asia/Tokyo")

    admin_client.get(reverse("admin:index"))

    assert timezone.get_current_timezone_name() == "UTC"


def test_a_long_timeline_shows_the_newest_entries_and_links_to_the_whole(
    admin_client, order, operator, monkeypatch
):
    monkeypatch.setattr("orders.admin.order_summary.TIMELINE_ROWS", 2)
    for n in range(3):
        notes.add_order_note(order=order, body=f"Note {n}", actor=operator)

    content = _page(admin_client, order)

    assert "Note 2" in content
    assert "Note 0" not in content
    url = reverse("admin:orders_orderevent_changelist") + f"?order__id__exact={order.pk}"
    assert f'href="{url}"' in content
    listing = admin_client.get(url)
    assert listing.status_code == 200
    assert "Note: Note 0" in listing.content.decode()
    assert (
        "Note: Note 0"
        not in admin_client.get(
            reverse("admin:orders_orderevent_changelist") + f"?order__id__exact={OrderFactory().pk}"
        ).content.decode()
    )
