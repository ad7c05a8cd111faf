"""Orders placed on a customer's behalf in the console: build a draft (check prices,
availability and the promise without writing), save it, reserve its stock, submit it.

Each step is one service call behind ``orders.place_order_on_behalf``; a refused
step shows why and writes nothing."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse

from core import refcache
from core.models import OutboxEvent
from customers import services as customer_services
from customers.models import Customer, PriceList, PriceListEntry
from inventory import services as inventory_services
from inventory.models import NetworkReservation, NetworkStock, ReservationStatus
from orders.models import (
    Channel,
    Order,
    OrderEvent,
    OrderEventType,
    OrderLine,
    OrderStatus,
    Quote,
    QuoteStatus,
)
from shipping.models import ServiceLevel
from tests.factories import (
    CompanyFactory,
    CustomerFactory,
    LocationFactory,
    ProductFactory,
    ShippingMethodFactory,
)

pytestmark = pytest.mark.django_db

NEW_DRAFT = "admin:orders_order_new_draft"


@pytest.fixture(autouse=True)
def _fresh_reference_cache():
    # Shipping methods and tax rates are cached per process; a cached row of an
    # earlier (rolled back) test must not leak into this one.
    refcache.clear()
    yield
    refcache.clear()


@pytest.fixture
def standard(db):
    return ShippingMethodFactory()


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="RNO1")


@pytest.fixture
def mug(warehouse, operator):
    product = ProductFactory(sku="MUG-RED", list_price=Decimal("12.00"))
    inventory_services.receive_stock(
        location=warehouse, product=product, quantity=10, actor=operator
    )
    return product


@pytest.fixture
def buyer(db):
    """A B2B buyer whose company pays 9.00 a mug from 5 mugs up, with a default
    shipping address."""
    company = CompanyFactory()
    customer = CustomerFactory(email="pat@acme.example", company=company, company_role="buyer")
    customer_services.add_address(
        kind="shipping",
        data={
            "name": "Pat Buyer",
            "line1": "2 Elm St",
            "city": "Reno",
            "region": "NV",
            "postal_code": "89502",
            "country": "US",
        },
        customer=customer,
        make_default=True,
    )
    return customer


@pytest.fixture
def contract_price(buyer, mug):
    price_list = PriceList.objects.create(code="GOLD", name="Gold accounts")
    PriceListEntry.objects.create(
        price_list=price_list, product=mug, min_quantity=5, unit_price=Decimal("9.00")
    )
    buyer.company.price_list = price_list
    buyer.company.save(update_fields=["price_list"])
    return price_list


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _draft_data(customer, lines, **overrides) -> dict[str, str]:
    data = {
        "customer": customer.email,
        "shipping_method": "STANDARD",
        "pickup_location": "",
        "ship_name": "Pat Buyer",
        "ship_line1": "2 Elm St",
        "ship_line2": "",
        "ship_city": "Reno",
        "ship_region": "NV",
        "ship_postal_code": "89502",
        "ship_country": "US",
        "ship_phone": "",
        "po_number": "PO-1",
        "notes": "",
        "lines-TOTAL_FORMS": str(max(len(lines), 1)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for index, (sku, quantity, customization) in enumerate(lines):
        data[f"lines-{index}-sku"] = sku
        data[f"lines-{index}-quantity"] = str(quantity)
        data[f"lines-{index}-customization"] = customization
    data.update(overrides)
    return data


def _nothing_written() -> tuple:
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        OrderEvent.objects.count(),
        NetworkReservation.objects.count(),
        tuple(NetworkStock.objects.order_by("pk").values_list("committed", flat=True)),
    )


def _committed(product) -> int:
    return NetworkStock.objects.get(product=product).committed


# --- the whole journey ---------------------------------------------------------------


def test_agent_builds_checks_saves_reserves_and_submits_a_draft(
    client_for, buyer, mug, contract_price, standard
):
    client = client_for("agent")

    # Given the changelist offers the button
    changelist = client.get(reverse("admin:orders_order_changelist"))
    assert reverse(NEW_DRAFT) in changelist.content.decode()
    assert "New order for a customer" in changelist.content.decode()

    # When the agent checks an order of 6 mugs
    check = client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("mug-red", 6, "")], check="1"))

    # Then the page shows the contract price, live availability and the promise
    assert check.status_code == 200
    assert not check.context["form"].errors
    shown = str(check.context["check"])
    assert "MUG-RED" in shown
    assert "12.00" in shown  # list price
    assert "9.00" in shown  # what this customer pays at 6 units
    assert "54.00" in shown  # line total
    assert "10 (network)" in shown
    assert "RNO1: 10" in shown
    assert "In stock" in shown
    assert "Delivery promise" in shown
    assert Order.objects.count() == 0

    # When the agent saves the draft
    saved = client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 6, "")], save="1"))

    draft = Order.objects.get()
    assert saved.status_code == 302
    assert saved.url == reverse("admin:orders_order_change", args=[draft.pk])
    assert (draft.status, draft.channel, draft.placed_by.username) == (
        OrderStatus.DRAFT,
        Channel.AGENT,
        "agent-user",
    )
    assert draft.po_number == "PO-1"
    line = draft.lines.get()
    assert (line.sku, line.quantity_ordered, line.unit_price) == ("MUG-RED", 6, Decimal("9.00"))
    assert _committed(mug) == 0

    # The draft's page shows its lines with live availability and the draft buttons
    page = client.get(reverse("admin:orders_order_change", args=[draft.pk]))
    content = page.content.decode()
    assert "Draft: lines and live availability" in content
    assert "RNO1: 10" in content
    assert reverse("admin:orders_order_reserve_stock", args=[draft.pk]) in content
    assert reverse("admin:orders_order_submit_draft", args=[draft.pk]) in content
    assert reverse("admin:orders_order_cancel", args=[draft.pk]) not in content

    # When the agent reserves the stock for 24 hours
    reserve_url = reverse("admin:orders_order_reserve_stock", args=[draft.pk])
    assert client.get(reserve_url).status_code == 200
    reserved = client.post(reserve_url, {})
    assert reserved.status_code == 302
    assert _committed(mug) == 6
    assert NetworkReservation.objects.get().status == ReservationStatus.ACTIVE

    # Then the draft's page counts the reservation as its own
    page = client.get(reverse("admin:orders_order_change", args=[draft.pk]))
    assert "Stock reserved until" in page.content.decode()

    # When the agent submits the draft (after a confirmation page)
    submit_url = reverse("admin:orders_order_submit_draft", args=[draft.pk])
    confirmation = client.get(submit_url)
    assert confirmation.status_code == 200
    assert "Submit order" in confirmation.content.decode()
    submitted = client.post(submit_url, {})

    # Then the order is placed, its reservation taken over (not doubled)
    assert submitted.status_code == 302
    draft.refresh_from_db()
    assert draft.status == OrderStatus.PLACED
    assert draft.placed_at is not None
    assert _committed(mug) == 6
    assert NetworkReservation.objects.get().status == ReservationStatus.CONSUMED
    assert OrderEvent.objects.filter(order=draft, type=OrderEventType.PLACED).exists()
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1


def test_a_sales_rep_saves_sales_channel_drafts(client_for, buyer, mug, standard):
    client = client_for("sales_rep")

    response = client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 1, "")], save="1"))

    assert response.status_code == 302
    draft = Order.objects.get()
    assert (draft.channel, draft.placed_by.username) == (Channel.SALES, "sales_rep-user")


def test_submit_without_a_reservation_commits_at_once(admin_client, buyer, mug, standard):
    admin_client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 3, "")], save="1"))
    draft = Order.objects.get()

    admin_client.post(reverse("admin:orders_order_submit_draft", args=[draft.pk]), {})

    draft.refresh_from_db()
    assert draft.status == OrderStatus.PLACED
    assert _committed(mug) == 3


# --- prefill ------------------------------------------------------------------------


def test_check_fills_an_empty_ship_to_from_the_default_address(admin_client, buyer, mug, standard):
    blank = {f"ship_{k}": "" for k in ("name", "line1", "city", "region", "postal_code")}
    data = _draft_data(buyer, [("MUG-RED", 1, "")], check="1", ship_country="", **blank)

    response = admin_client.post(reverse(NEW_DRAFT), data)

    form = response.context["form"]
    assert form["ship_line1"].value() == "2 Elm St"
    assert form["ship_postal_code"].value() == "89502"
    assert response.context["check"] is not None
    assert Order.objects.count() == 0


def test_the_page_opens_prefilled_for_a_customer(admin_client, buyer, standard):
    response = admin_client.get(reverse(NEW_DRAFT), {"customer": buyer.email.upper()})

    form = response.context["form"]
    assert form["customer"].value() == buyer.email
    assert form["ship_city"].value() == "Reno"


def test_check_adds_empty_rows_once_every_row_is_used(admin_client, buyer, mug, standard):
    response = admin_client.post(
        reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 1, "")], check="1")
    )

    assert len(response.context["formset"].forms) == 4


# --- refusals ----------------------------------------------------------------------


def test_an_unknown_sku_is_shown_on_its_line_and_nothing_is_written(
    admin_client, buyer, mug, standard
):
    before = _nothing_written()
    lines = [("MUG-RED", 1, ""), ("NOPE-1", 2, "")]

    for button in ("check", "save"):
        response = admin_client.post(reverse(NEW_DRAFT), _draft_data(buyer, lines, **{button: "1"}))

        assert response.status_code == 200
        line_errors = [f.errors for f in response.context["formset"].forms]
        assert line_errors[0] == {}
        assert line_errors[1] == {"sku": ["Unknown SKU."]}
        assert response.context["problems"] == ["Line 2, SKU: Unknown SKU."]
        assert "Line 2, SKU: Unknown SKU." in response.content.decode()
        assert response.context["check"] is None
    assert _nothing_written() == before


@pytest.mark.parametrize(
    ("quantity", "error"),
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("two", "Enter a whole number."),
        ("", "Enter a quantity."),
    ],
)
def test_a_bad_quantity_is_refused_and_nothing_is_written(
    admin_client, buyer, mug, standard, quantity, error
):
    before = _nothing_written()

    response = admin_client.post(
        reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", quantity, "")], save="1")
    )

    assert response.status_code == 200
    assert response.context["formset"].forms[0].errors == {"quantity": [error]}
    assert _nothing_written() == before


def test_a_service_refusal_names_the_fields(admin_client, buyer, mug, standard):
    before = _nothing_written()

    response = admin_client.post(
        reverse(NEW_DRAFT),
        _draft_data(buyer, [("MUG-RED", 1, '{"engraving": "Pat"}')], ship_postal_code="00000"),
    )

    # Every problem at once: the address and the line's customization.
    form = response.context["form"]
    assert form.non_field_errors() == ["The address is not valid."]
    assert form.errors["ship_postal_code"] == ["Not a known US ZIP code."]
    assert response.context["formset"].forms[0].errors == {
        "customization": ["MUG-RED cannot be customized."]
    }
    assert _nothing_written() == before


def test_customisation_of_a_plain_product_is_refused_on_its_line(
    admin_client, buyer, mug, standard
):
    response = admin_client.post(
        reverse(NEW_DRAFT),
        _draft_data(buyer, [("MUG-RED", 1, '{"engraving": "Pat"}')], save="1"),
    )

    assert response.context["formset"].forms[0].errors == {
        "customization": ["MUG-RED cannot be customized."]
    }
    assert Order.objects.count() == 0


def test_an_unknown_customer_and_bad_json_are_form_errors(admin_client, mug, standard):
    ghost = CustomerFactory.build(email="ghost@example.com")

    response = admin_client.post(
        reverse(NEW_DRAFT), _draft_data(ghost, [("MUG-RED", 1, "[1, 2]")], save="1")
    )

    assert response.context["form"].errors["customer"] == [
        (
            "No customer with e-mail ghost@example.com: pick one, or tick "
            "“Create this buyer” and give the name."
        )
    ]
    assert response.context["formset"].forms[0].errors == {
        "customization": ['Enter a JSON object, e.g. {"engraving": "Pat"}.']
    }
    assert Order.objects.count() == 0


def test_a_pickup_draft_needs_a_pickup_store(admin_client, buyer, mug, standard):
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level=ServiceLevel.PICKUP,
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )

    response = admin_client.post(
        reverse(NEW_DRAFT),
        _draft_data(buyer, [("MUG-RED", 1, "")], shipping_method="PICKUP", save="1"),
    )

    form = response.context["form"]
    assert form.non_field_errors() == ["Store pickup needs a pickup location."]
    assert form.errors["pickup_location"] == ["Required."]
    assert Order.objects.count() == 0


def test_a_short_network_refuses_the_reservation_and_changes_nothing(
    admin_client, buyer, mug, standard
):
    admin_client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 11, "")], save="1"))
    draft = Order.objects.get()
    page = admin_client.get(reverse("admin:orders_order_change", args=[draft.pk]))
    assert "Short by 1" in page.content.decode()
    before = _nothing_written()

    reserve = admin_client.post(reverse("admin:orders_order_reserve_stock", args=[draft.pk]), {})
    submit = admin_client.post(reverse("admin:orders_order_submit_draft", args=[draft.pk]), {})

    assert reserve.status_code == submit.status_code == 200
    [refused_reservation] = _messages(reserve)
    assert "Not enough stock" in refused_reservation
    assert _messages(submit) == ["Not enough stock for MUG-RED (10 available)."]
    assert not reserve.context["form"].errors
    assert not submit.context["form"].errors
    draft.refresh_from_db()
    assert draft.status == OrderStatus.DRAFT
    assert _nothing_written() == before


def test_a_placed_order_is_not_submitted_again(admin_client, buyer, mug, standard):
    admin_client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 1, "")], save="1"))
    draft = Order.objects.get()
    submit_url = reverse("admin:orders_order_submit_draft", args=[draft.pk])
    admin_client.post(submit_url, {})
    before = _nothing_written()

    stale_page = admin_client.get(submit_url)
    stale_post = admin_client.post(submit_url, {})

    assert stale_page.status_code == stale_post.status_code == 302
    assert _messages(stale_post)[-1] == f"{draft.number} is placed; it is not a draft."
    assert _nothing_written() == before


# --- permissions ---------------------------------------------------------------------


def test_drafts_need_the_place_on_behalf_permission(client_for, admin_client, buyer, mug, standard):
    admin_client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 1, "")], save="1"))
    draft = Order.objects.get()
    client = client_for("warehouse")  # may view orders, may not place them
    before = _nothing_written()

    changelist = client.get(reverse("admin:orders_order_changelist"))
    page = client.get(reverse("admin:orders_order_change", args=[draft.pk]))
    responses = [
        client.get(reverse(NEW_DRAFT)),
        client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 1, "")], save="1")),
        client.post(reverse("admin:orders_order_reserve_stock", args=[draft.pk]), {}),
        client.post(reverse("admin:orders_order_submit_draft", args=[draft.pk]), {}),
    ]

    assert reverse(NEW_DRAFT) not in changelist.content.decode()
    assert reverse("admin:orders_order_submit_draft", args=[draft.pk]) not in (
        page.content.decode()
    )
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert _nothing_written() == before


def test_a_discarded_draft_gives_its_reservation_back(client_for, buyer, mug, standard):
    client = client_for("sales_rep")
    client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 4, "")], save="1"))
    draft = Order.objects.get()
    client.post(reverse("admin:orders_order_reserve_stock", args=[draft.pk]), {})
    assert _committed(mug) == 4
    discard_url = reverse("admin:orders_order_discard_draft", args=[draft.pk])

    missing_reason = client.post(discard_url, {"reason": ""})
    assert missing_reason.context["form"].errors == {"reason": ["This field is required."]}
    assert _committed(mug) == 4

    response = client.post(discard_url, {"reason": "Buyer went elsewhere"})

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == OrderStatus.CANCELLED
    assert _committed(mug) == 0
    assert NetworkReservation.objects.get().status == ReservationStatus.RELEASED
    assert OrderEvent.objects.filter(order=draft).latest("id").message == (
        "Draft discarded: Buyer went elsewhere"
    )
    assert client_for("warehouse").post(discard_url, {"reason": "x"}).status_code == 403


# --- the draft builder: live check, lookups, buyer in place, edit -------------------------

LOOKUP = "admin:orders_order_draft_lookup"
# The live check, whatever the number of lines: session, user, the buyer (for the ship-to
# and for the form), the shipping method, the lines' products (for their fields, then
# for pricing), the rep's group (the channel), network stock, stock per location and
# the company's credit standing (the warnings).
PREVIEW_QUERIES = 11


def test_the_live_check_shows_every_problem_at_once_and_writes_nothing(
    admin_client, buyer, mug, standard
):
    buyer.company.po_required = True
    buyer.company.save(update_fields=["po_required"])
    before = _nothing_written()
    data = _draft_data(
        buyer,
        [("MUG-RED", 1, '{"engraving": "Pat"}'), ("NOPE-1", 2, ""), ("MUG-RED", "two", "")],
        po_number="",
        ship_postal_code="00000",
        preview="1",
    )

    response = admin_client.post(reverse(NEW_DRAFT), data)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/orders/order/draft_live.html"
    problems = response.context["problems"]
    assert "PO number: " + f"{buyer.company.name} requires a PO number on every order." in problems
    assert "ZIP / postal code: Not a known US ZIP code." in problems
    assert "Line 1, Customization: MUG-RED cannot be customized." in problems
    assert "Line 2, SKU: Unknown SKU." in problems
    assert "Line 3, Quantity: Enter a whole number." in problems
    assert not _messages(response)  # nothing queued for the next page
    assert _nothing_written() == before


def test_the_live_check_prices_with_stock_per_location_and_warns(
    admin_client, buyer, mug, contract_price, standard
):
    buyer.company.credit_limit = Decimal("20")
    buyer.company.payment_terms = "net30"
    buyer.company.save(update_fields=["credit_limit", "payment_terms"])
    before = _nothing_written()

    response = admin_client.post(
        reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 6, "")], preview="1")
    )

    body = response.content.decode()
    assert response.context["problems"] == []
    assert "RNO1: 10" in body  # availability per location
    assert "$9.00" in body  # the contract price from 5 mugs up
    assert "Delivery promise" in body
    assert "by 20" in body  # the line's own promise
    assert [w.kind for w in response.context["warnings"]] == ["credit_limit"]
    assert "Before you submit" in body
    assert _nothing_written() == before


def test_lookups_offer_companies_their_buyers_and_products(admin_client, buyer, mug):
    other = CustomerFactory(email="sam@other.example", first_name="Sam")
    company = buyer.company

    companies = admin_client.get(reverse(LOOKUP, args=["company"]), {"q": company.name[:4]})
    buyers = admin_client.get(
        reverse(LOOKUP, args=["customer"]), {"q": "", "company": company.account_number}
    )
    by_name = admin_client.get(reverse(LOOKUP, args=["customer"]), {"q": "sam"})
    products = admin_client.get(reverse(LOOKUP, args=["product"]), {"q": "mug-r"})
    defaults = admin_client.get(reverse(LOOKUP, args=["buyer"]), {"q": buyer.email})

    assert {r["value"] for r in companies.json()["results"]} >= {company.account_number}
    assert [r["value"] for r in buyers.json()["results"]] == [buyer.email]
    assert other.email in [r["value"] for r in by_name.json()["results"]]
    assert [r["value"] for r in products.json()["results"]] == ["MUG-RED"]
    found = defaults.json()["results"][0]
    assert found["company"] == company.account_number
    assert found["shipping_method"] == ""  # no method yet: none ships
    assert found["address"]["ship_city"] == "Reno"
    assert admin_client.get(reverse(LOOKUP, args=["nothing"])).status_code == 404


def test_lookups_need_the_place_on_behalf_permission(client_for, mug):
    client = client_for("warehouse")
    assert client.get(reverse(LOOKUP, args=["product"]), {"q": "MUG"}).status_code == 403


def test_a_new_buyer_is_created_with_the_draft(admin_client, buyer, mug, standard):
    company = buyer.company
    data = _draft_data(
        buyer,
        [("MUG-RED", 2, "")],
        company=company.account_number,
        new_buyer="on",
        new_first_name="Lee",
        new_last_name="Park",
        save="1",
    )
    data["customer"] = "lee@acme.example"

    response = admin_client.post(reverse(NEW_DRAFT), data)

    assert response.status_code == 302, response.context and response.context["problems"]
    draft = Order.objects.get()
    assert draft.customer.email == "lee@acme.example"
    assert draft.customer.company == company
    assert draft.customer.company_role == "buyer"


def test_a_refused_draft_creates_no_buyer(admin_client, buyer, mug, standard):
    customers = Customer.objects.count()
    data = _draft_data(
        buyer,
        [("MUG-RED", 2, "")],
        new_buyer="on",
        new_first_name="",
        new_last_name="Park",
        save="1",
    )
    data["customer"] = "lee@acme.example"

    response = admin_client.post(reverse(NEW_DRAFT), data)

    assert response.context["form"].errors["new_first_name"] == ["Required for a new buyer."]
    assert Customer.objects.count() == customers
    assert Order.objects.count() == 0


def test_a_new_draft_defaults_to_a_shipping_method_that_ships(admin_client, buyer, standard):
    ShippingMethodFactory(
        code="PICKUP",
        name="Store pickup",
        service_level=ServiceLevel.PICKUP,
        carrier=None,
        transit_days_min=0,
        transit_days_max=0,
        price=Decimal("0"),
    )

    response = admin_client.get(reverse(NEW_DRAFT), {"customer": buyer.email})

    form = response.context["form"]
    assert form["shipping_method"].value() == "STANDARD"
    assert form["company"].value() == buyer.company.account_number


def test_a_saved_draft_is_edited_until_it_is_submitted(admin_client, buyer, mug, standard):
    admin_client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 1, "")], save="1"))
    draft = Order.objects.get()
    edit_url = reverse("admin:orders_order_edit_draft", args=[draft.pk])
    page = admin_client.get(reverse("admin:orders_order_change", args=[draft.pk]))
    assert edit_url in page.content.decode()

    opened = admin_client.get(edit_url)
    assert opened.context["form"]["customer"].value() == buyer.email
    assert opened.context["formset"].forms[0]["sku"].value() == "MUG-RED"

    saved = admin_client.post(
        edit_url, _draft_data(buyer, [("MUG-RED", 3, "")], po_number="PO-2", save="1")
    )

    assert saved.status_code == 302
    draft.refresh_from_db()
    assert draft.status == OrderStatus.DRAFT
    assert draft.po_number == "PO-2"
    assert list(draft.lines.values_list("quantity_ordered", flat=True)) == [3]
    assert OrderEvent.objects.filter(order=draft, type=OrderEventType.EDITED).exists()

    admin_client.post(reverse("admin:orders_order_submit_draft", args=[draft.pk]), {})
    stale = admin_client.get(edit_url)
    assert stale.status_code == 302
    assert "only drafts are edited" in _messages(stale)[-1]


# --- quotes and reorders from the order page -------------------------------------------------


def test_a_rep_sends_a_draft_as_a_quote(
    client_for, buyer, mug, standard, django_capture_on_commit_callbacks
):
    client = client_for("sales_rep")
    client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 4, "")], save="1"))
    draft = Order.objects.get()
    url = reverse("admin:orders_order_send_quote", args=[draft.pk])

    bad = client.post(url, {"valid_days": "0"})
    assert bad.context["form"].errors["valid_days"]
    assert not Quote.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"valid_days": "10", "email": ""})

    assert response.status_code == 302
    quote = Quote.objects.get()
    assert quote.status == QuoteStatus.SENT
    assert quote.sent_to == buyer.email
    assert _committed(mug) == 4  # held for the buyer
    assert f"Quote {quote.number} sent to {buyer.email}" in _messages(response)[-1]
    sent = [m for m in mail.outbox if quote.number in m.subject]
    assert len(sent) == 1
    assert sent[0].attachments[0][0] == f"{quote.number}.pdf"


def test_order_again_makes_an_editable_draft_at_todays_prices(admin_client, buyer, mug, standard):
    admin_client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 2, "")], save="1"))
    placed = Order.objects.get()
    admin_client.post(reverse("admin:orders_order_submit_draft", args=[placed.pk]), {})
    mug.list_price = Decimal("13.00")
    mug.save()
    url = reverse("admin:orders_order_reorder", args=[placed.pk])
    assert (
        url
        in admin_client.get(reverse("admin:orders_order_change", args=[placed.pk])).content.decode()
    )

    response = admin_client.post(url, {})

    again = Order.objects.exclude(pk=placed.pk).get()
    assert response.status_code == 302
    assert response.url == reverse("admin:orders_order_change", args=[again.pk])
    assert again.status == OrderStatus.DRAFT
    assert list(again.lines.values_list("sku", "quantity_ordered", "unit_price")) == [
        ("MUG-RED", 2, Decimal("13.00"))
    ]


def test_the_submit_page_warns_of_the_holds_it_would_place(admin_client, buyer, mug, standard):
    buyer.company.approval_threshold = Decimal("5")
    buyer.company.save(update_fields=["approval_threshold"])
    admin_client.post(reverse(NEW_DRAFT), _draft_data(buyer, [("MUG-RED", 2, "")], save="1"))
    draft = Order.objects.get()

    page = admin_client.get(reverse("admin:orders_order_submit_draft", args=[draft.pk]))

    body = page.content.decode()
    assert "Before you submit" in body
    assert "approval" in body.lower()


# --- query counts of the builder's hot paths ------------------------------------------------


def _more_products(count: int) -> None:
    for index in range(count):
        ProductFactory(sku=f"MUG-{index:03d}", name=f"Mug {index}")


@pytest.mark.parametrize("extra", [0, 20])
def test_lookups_run_a_fixed_number_of_queries(
    admin_client, buyer, mug, django_assert_num_queries, extra
):
    _more_products(extra)
    for index in range(extra):
        CustomerFactory(company=buyer.company, company_role="buyer", email=f"b{index}@acme.example")
    admin_client.get(reverse(LOOKUP, args=["product"]), {"q": "mug"})  # session warmed

    # session, user, then the lookup itself
    with django_assert_num_queries(3):
        admin_client.get(reverse(LOOKUP, args=["product"]), {"q": "mug"})
    with django_assert_num_queries(4):  # the company, then its buyers
        admin_client.get(
            reverse(LOOKUP, args=["customer"]), {"q": "", "company": buyer.company.account_number}
        )


@pytest.mark.parametrize("lines", [1, 3])
def test_the_live_check_runs_a_fixed_number_of_queries(
    admin_client, buyer, mug, standard, django_assert_num_queries, lines
):
    _more_products(3)
    rows = [("MUG-RED", 1, "")] + [(f"MUG-{i:03d}", 1, "") for i in range(lines - 1)]
    data = _draft_data(buyer, rows, preview="1")
    admin_client.post(reverse(NEW_DRAFT), data)  # session and reference caches warmed

    with django_assert_num_queries(PREVIEW_QUERIES):
        response = admin_client.post(reverse(NEW_DRAFT), data)

    assert response.context["problems"] == []
