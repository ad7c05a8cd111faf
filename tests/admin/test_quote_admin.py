"""The quotes list (Orders > Quotes): read-only, open and expired told by the expiry,
filtered by status and company, searched by number, linked from a draft's page and the
customer 360, seen by sales reps and agents, in a fixed number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.actors import Actor
from orders import drafts, quotes
from orders.models import Quote, QuoteStatus
from orders.placement import LineRequest, OrderRequest
from tests.billing.conftest import (  # noqa: F401 - fixtures
    company_buyer,
    make_products,
    shop,
    warehouse,
)
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

REP = Actor.system("quote list test")
ADDRESS = {
    "name": "Pat",
    "line1": "350 Fifth Avenue",
    "country": "US",
    "postal_code": "10001",
    "city": "New York",
    "region": "NY",
}
LIST = reverse("admin:orders_quote_changelist")
# An unfiltered list for a superuser: session, user, the planner's estimate (PostgreSQL
# only), the bounded count, the page of quotes with their draft, company and buyer, and
# the companies of the company filter. Whatever the rows.
ESTIMATE = 1 if connection.vendor == "postgresql" else 0
QUOTE_LIST_QUERIES = 5 + ESTIMATE
# A filtered or searched page skips the estimate.
QUOTE_LIST_FILTERED_QUERIES = 5
# A quote's page: session, user, the quote with its draft, company, buyer and sender.
QUOTE_PAGE_QUERIES = 3


def quote_for(customer, product, *, valid_days: int = 7) -> Quote:
    draft = drafts.create_draft_order(
        request=OrderRequest(
            customer=customer,
            channel="sales",
            shipping_method_code="STANDARD",
            shipping_address=ADDRESS,
            lines=[LineRequest(sku=product.sku, quantity=1)],
        ),
        actor=REP,
    )
    return quotes.send_quote(order_id=draft.pk, actor=REP, valid_days=valid_days)


@pytest.fixture
def book(shop):  # noqa: F811 - fixtures
    """Quotes of two companies and a consumer: open, past its expiry (not yet closed by
    the job), expired by the job, accepted and withdrawn."""
    (mug,) = make_products(shop, [Decimal("12.50")])
    acme, globex = company_buyer(), company_buyer()
    consumer = CustomerFactory()
    past = timezone.now() - dt.timedelta(hours=1)
    open_quote = quote_for(acme, mug)
    closed = quote_for(globex, mug)
    Quote.objects.filter(pk=closed.pk).update(expires_at=past)
    assert quotes.expire_quotes() == 1
    lapsed = quote_for(acme, mug)
    Quote.objects.filter(pk=lapsed.pk).update(expires_at=past)
    accepted = quote_for(globex, mug)
    quotes.accept_quote(number=accepted.number, company_id=accepted.company_id, actor=REP)
    withdrawn = quote_for(consumer, mug)
    newer = quotes.send_quote(order_id=withdrawn.order_id, actor=REP, valid_days=3)
    for quote in (open_quote, lapsed, closed, accepted, withdrawn, newer):
        quote.refresh_from_db()
    return {
        "acme": acme.company,
        "globex": globex.company,
        "consumer": consumer,
        "open": open_quote,
        "lapsed": lapsed,
        "closed": closed,
        "accepted": accepted,
        "withdrawn": withdrawn,
        "newer": newer,
        "mug": mug,
    }


def _listed(client: Client, **query: str) -> list[str]:
    response = client.get(LIST, query)
    assert response.status_code == 200, response
    return [quote.number for quote in response.context["cl"].result_list]


def _queries(client: Client, url: str, **query: str) -> int:
    client.get(url, query)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, query).status_code == 200
    return len(captured)


def test_the_list_shows_each_quote_with_its_draft_company_buyer_and_dates(admin_client, book):
    response = admin_client.get(LIST)

    html = response.content.decode()
    assert [q.number for q in response.context["cl"].result_list] == [
        book[name].number for name in ("newer", "withdrawn", "accepted", "lapsed", "closed", "open")
    ]
    accepted = book["accepted"]
    assert reverse("admin:orders_order_change", args=[accepted.order_id]) in html
    assert reverse("admin:customers_company_change", args=[book["globex"].pk]) in html
    assert reverse("admin:customers_customer_change", args=[accepted.customer_id]) in html
    assert f"${accepted.grand_total:,.2f}" in html
    assert f">{timezone.localtime(accepted.closed_at):%Y-%m-%d}</span>" in html
    # Read-only: no add button, no checkboxes for a delete action.
    assert reverse("admin:orders_quote_add") not in html
    assert 'class="action-select"' not in html


def test_a_quote_past_its_expiry_reads_expired_before_the_job_closes_it(admin_client, book):
    model_admin = admin_client.get(LIST).context["cl"].model_admin

    names = ("open", "lapsed", "closed", "accepted", "withdrawn", "newer")
    states = {name: model_admin.state(book[name]) for name in names}

    assert book["lapsed"].status == QuoteStatus.SENT
    assert states == {
        "open": "Open",
        "lapsed": "Expired",
        "closed": "Expired",
        "accepted": "Accepted",
        "withdrawn": "Withdrawn",
        "newer": "Open",
    }


def test_the_status_filter_goes_by_the_expiry(admin_client, book):
    def numbers(*names: str) -> set[str]:
        return {book[name].number for name in names}

    assert set(_listed(admin_client, status="open")) == numbers("open", "newer")
    assert set(_listed(admin_client, status="expired")) == numbers("lapsed", "closed")
    assert set(_listed(admin_client, status="accepted")) == numbers("accepted")
    assert set(_listed(admin_client, status="withdrawn")) == numbers("withdrawn")


def test_the_company_filter_lists_companies_with_quotes_and_narrows(admin_client, book):
    response = admin_client.get(LIST)
    company_filter = next(
        spec for spec in response.context["cl"].filter_specs if spec.title == "company"
    )

    assert {name for _, name in company_filter.lookup_choices} == {
        book["acme"].name,
        book["globex"].name,
    }
    assert set(_listed(admin_client, company__id__exact=str(book["acme"].pk))) == {
        book["open"].number,
        book["lapsed"].number,
    }


def test_search_by_quote_number_in_any_case_or_by_its_digits(admin_client, book):
    number = book["accepted"].number
    digits = number.rsplit("-", 1)[1]

    assert _listed(admin_client, q=number.lower()) == [number]
    assert _listed(admin_client, q=str(int(digits))) == [number]
    assert _listed(admin_client, q=f"{number[:7]}{int(digits)}") == [number]
    assert _listed(admin_client, q="Q-1999-000001") == []
    assert _listed(admin_client, q="acme") == []


def test_a_quote_is_read_only(admin_client, book):
    quote = book["open"]
    url = reverse("admin:orders_quote_change", args=[quote.pk])

    page = admin_client.get(url)
    response = admin_client.post(url, {"status": "accepted", "grand_total": "0"})
    delete = admin_client.post(reverse("admin:orders_quote_delete", args=[quote.pk]), {"post": 1})

    assert page.status_code == 200
    assert 'name="status"' not in page.content.decode()
    assert 'name="grand_total"' not in page.content.decode()
    assert response.status_code == delete.status_code == 403
    quote.refresh_from_db()
    assert (quote.status, quote.grand_total) == (QuoteStatus.SENT, book["open"].grand_total)


@pytest.mark.parametrize("role", ["sales_rep", "agent"])
def test_sales_reps_and_agents_see_quotes(role, book, make_staff):
    client = Client()
    client.force_login(make_staff(role))

    assert len(_listed(client)) == 6
    assert (
        client.get(reverse("admin:orders_quote_change", args=[book["open"].pk])).status_code == 200
    )


@pytest.mark.parametrize("role", ["warehouse", "finance"])
def test_other_roles_do_not(role, book, make_staff):
    client = Client()
    client.force_login(make_staff(role))

    assert client.get(LIST).status_code == 403


def test_the_draft_page_links_to_its_quotes(book, make_staff):
    client = Client()
    client.force_login(make_staff("sales_rep"))
    draft = book["newer"].order
    link = f"{LIST}?order__id__exact={draft.pk}"

    page = client.get(reverse("admin:orders_order_change", args=[draft.pk])).content.decode()

    assert f'href="{link.replace("&", "&amp;")}"' in page
    assert set(_listed(client, order__id__exact=str(draft.pk))) == {
        book["withdrawn"].number,
        book["newer"].number,
    }
    # A placed order has no such button.
    placed = book["accepted"].order
    placed_page = client.get(reverse("admin:orders_order_change", args=[placed.pk]))
    assert "?order__id__exact=" not in placed_page.content.decode()


def test_a_draft_page_has_no_quotes_button_for_a_user_who_may_not_see_them(book):
    # A sales rep's permissions, less the quotes.
    rep = Group.objects.get(name="sales_rep").permissions.exclude(codename="view_quote")
    user = UserFactory(username="rep-without-quotes")
    user.user_permissions.set(rep)
    client = Client()
    client.force_login(user)
    draft = book["newer"].order

    page = client.get(reverse("admin:orders_order_change", args=[draft.pk]))

    assert page.status_code == 200
    assert "?order__id__exact=" not in page.content.decode()


def test_the_customer_360_links_each_open_quote_and_all_quotes(admin_client, book):
    acme_buyer = book["open"].customer
    consumer = book["consumer"]

    company_page = admin_client.get(
        reverse("admin:customers_customer_change", args=[acme_buyer.pk])
    ).content.decode()
    consumer_page = admin_client.get(
        reverse("admin:customers_customer_change", args=[consumer.pk])
    ).content.decode()

    open_url = reverse("admin:orders_quote_change", args=[book["open"].pk])
    assert f'<a href="{open_url}">{book["open"].number}</a>' in company_page
    assert f'href="{LIST}?company__id__exact={book["acme"].pk}"' in company_page
    assert f'href="{LIST}?customer__id__exact={consumer.pk}"' in consumer_page
    assert set(_listed(admin_client, customer__id__exact=str(consumer.pk))) == {
        book["withdrawn"].number,
        book["newer"].number,
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="counts pinned on PostgreSQL")
def test_the_quote_list_and_page_have_pinned_query_counts(admin_client, book):
    few = _queries(admin_client, LIST)
    few_filtered = _queries(admin_client, LIST, status="open", company__id__exact="0")
    page = _queries(admin_client, reverse("admin:orders_quote_change", args=[book["open"].pk]))
    for _ in range(3):
        quote_for(company_buyer(), book["mug"])
        quote_for(CustomerFactory(), book["mug"])

    assert (few, _queries(admin_client, LIST)) == (QUOTE_LIST_QUERIES, QUOTE_LIST_QUERIES)
    assert few_filtered == QUOTE_LIST_FILTERED_QUERIES
    assert (
        _queries(admin_client, LIST, status="open", company__id__exact="0")
        == QUOTE_LIST_FILTERED_QUERIES
    )
    assert page == QUOTE_PAGE_QUERIES
