"""The console: an agent asks for a return from the order page and decides it; the
warehouse opens it by its RMA number and receives it (twice submitted: once received);
the changelist filters and searches."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from core.actors import Actor
from inventory import services as stock
from inventory.models import Product, StockLevel, StockMovement
from orders.models import OrderLine
from returns.documents import return_label_html
from returns.models import ReturnRequest, ReturnStatus
from tests.factories import CarrierFactory, UserFactory

from .conftest import delivered_order

pytestmark = pytest.mark.django_db


def client_for(role: str) -> Client:
    user = UserFactory(username=f"{role}-returns")
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


def test_agent_asks_and_approves_warehouse_receives(default_policy, warehouse):
    order = delivered_order(quantity=2)
    line = order.lines.get()
    agent = client_for("agent")

    page = agent.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert b"Ask for a return" in page.content

    url = reverse("admin:orders_order_request_return", args=[order.pk])
    answer = agent.post(
        url,
        {
            "method": "mail",
            f"quantity_{line.pk}": "2",
            f"reason_{line.pk}": "size_fit",
            "note": "Too small",
        },
    )
    assert answer.status_code == 302, answer.content
    rma = ReturnRequest.objects.get()
    assert rma.status == ReturnStatus.REQUESTED
    assert (
        rma.number.encode()
        in agent.get(reverse("admin:orders_order_change", args=[order.pk])).content
    )

    approve = reverse("admin:returns_returnrequest_approve", args=[rma.pk])
    assert agent.post(approve, {"note": ""}).status_code == 302
    rma.refresh_from_db()
    assert rma.status == ReturnStatus.APPROVED

    warehouse_client = client_for("warehouse")
    assert warehouse_client.post(approve, {"note": ""}).status_code == 403
    found = warehouse_client.get(
        reverse("admin:returns_returnrequest_changelist"), {"q": rma.number.lower()}
    )
    assert found.status_code == 302
    assert found["Location"] == reverse("admin:returns_returnrequest_change", args=[rma.pk])
    rma_page = warehouse_client.get(found["Location"])
    assert b"Receive and inspect" in rma_page.content

    receive = reverse("admin:returns_returnrequest_receive", args=[rma.pk])
    form = warehouse_client.get(receive)
    token = form.context["form"].initial["token"]
    data = {
        "token": token,
        "location": warehouse.pk,
        f"quantity_{rma.lines.get().pk}": "1",
        f"condition_{rma.lines.get().pk}": "new",
        f"disposition_{rma.lines.get().pk}": "restock",
    }
    assert warehouse_client.post(receive, data).status_code == 302
    assert warehouse_client.post(receive, data).status_code == 302  # the same page again

    assert StockLevel.objects.get(location=warehouse, product=line.product).on_hand == 1
    assert StockMovement.objects.filter(reference=rma.number).count() == 1
    assert OrderLine.objects.get(pk=line.pk).quantity_returned == 1
    label = warehouse_client.get(reverse("admin:returns_returnrequest_label", args=[rma.pk]))
    assert label["Content-Type"] == "application/pdf"


def test_changelist_filters_and_search(default_policy, warehouse, admin_client):
    order = delivered_order()
    line = order.lines.get()
    admin_client.post(
        reverse("admin:orders_order_request_return", args=[order.pk]),
        {"method": "mail", f"quantity_{line.pk}": "1", f"reason_{line.pk}": "damaged"},
    )
    rma = ReturnRequest.objects.get()
    changelist = reverse("admin:returns_returnrequest_changelist")

    for query in (
        {"queue": "to_receive"},
        {"status": "approved"},
        {"reason": "damaged"},
        {"method": "mail"},
        {"destination__id__exact": warehouse.pk},
        {"age": "week"},
        {"q": order.number},
        {"q": order.email},
    ):
        listed = admin_client.get(changelist, query)
        assert listed.status_code == 200, query
        assert rma.number.encode() in listed.content, query
    assert rma.number.encode() not in admin_client.get(changelist, {"age": "older"}).content


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "blue").save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_agent_attaches_photos(default_policy, warehouse, admin_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    order = delivered_order()
    line = order.lines.get()
    url = reverse("admin:orders_order_request_return", args=[order.pk])
    fields = {"method": "mail", f"quantity_{line.pk}": "1", f"reason_{line.pk}": "damaged"}

    refused = admin_client.post(
        url, {**fields, "photos": [SimpleUploadedFile("a.png", b"not an image")]}
    )
    assert refused.status_code == 200
    assert b"is not an image" in refused.content
    assert not ReturnRequest.objects.exists()

    photos = [SimpleUploadedFile(f"p{i}.png", _png(), content_type="image/png") for i in (1, 2)]
    created = admin_client.post(url, {**fields, "photos": photos})
    assert created.status_code == 302
    assert ReturnRequest.objects.get().photos.count() == 2


def _changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("admin:returns_returnrequest_changelist")).status_code == 200
    return len(queries)


def test_changelist_queries_do_not_grow_with_rows(default_policy, warehouse, admin_client):
    def ask_one() -> None:
        order = delivered_order()
        line = order.lines.get()
        admin_client.post(
            reverse("admin:orders_order_request_return", args=[order.pk]),
            {"method": "mail", f"quantity_{line.pk}": "1", f"reason_{line.pk}": "damaged"},
        )

    ask_one()
    few = _changelist_queries(admin_client)
    for _ in range(4):
        ask_one()
    many = _changelist_queries(admin_client)

    assert ReturnRequest.objects.count() == 5
    assert few == many


def test_agent_asks_for_an_exchange_and_the_pages_show_it(default_policy, warehouse):
    order = delivered_order(quantity=1)
    line = order.lines.get()
    product = line.product
    Product.objects.filter(pk=product.pk).update(list_price=line.unit_price)
    stock.receive_stock(location=warehouse, product=product, quantity=3, actor=Actor.system("test"))
    agent = client_for("agent")
    url = reverse("admin:orders_order_request_return", args=[order.pk])
    form = {
        "method": "mail",
        f"quantity_{line.pk}": "1",
        f"reason_{line.pk}": "damaged",
        "resolution": "exchange",
    }

    # a replacement written badly is a field error; nothing is written
    refused = agent.post(url, {**form, "exchange_lines": f"{product.sku} one"})
    assert refused.status_code == 200
    assert "write a SKU and a quantity" in refused.content.decode()
    assert not ReturnRequest.objects.exists()

    answer = agent.post(url, {**form, "exchange_lines": f"{product.sku.lower()} 1"})
    assert answer.status_code == 302, answer.content
    rma = ReturnRequest.objects.get()
    assert rma.resolution == "exchange"
    replacement = rma.exchange_order
    assert replacement is not None  # damaged: approved by the policy, replacement placed

    page = agent.get(reverse("admin:returns_returnrequest_change", args=[rma.pk])).content
    assert replacement.number.encode() in page
    assert b"Exchange for a replacement" in page
    order_page = agent.get(reverse("admin:orders_order_change", args=[order.pk])).content
    assert replacement.number.encode() in order_page


def test_manager_sets_the_return_labels_tracking_number(default_policy, warehouse, admin_client):
    order = delivered_order(quantity=1)
    line = order.lines.get()
    admin_client.post(
        reverse("admin:orders_order_request_return", args=[order.pk]),
        {"method": "mail", f"quantity_{line.pk}": "1", f"reason_{line.pk}": "damaged"},
    )
    rma = ReturnRequest.objects.get()
    carrier = CarrierFactory(code="UPS", name="UPS")
    page = reverse("admin:returns_returnrequest_tracking", args=[rma.pk])

    answer = admin_client.post(page, {"carrier": carrier.pk, "tracking_number": "1z42"})

    assert answer.status_code == 302, answer.content
    rma.refresh_from_db()
    assert (rma.carrier, rma.tracking_number) == (carrier, "1Z42")
    shown = admin_client.get(reverse("admin:returns_returnrequest_change", args=[rma.pk]))
    assert b"UPS 1Z42" in shown.content
    assert "UPS tracking <strong>1Z42</strong>" in return_label_html(rma)
    # a manual carrier issues no number: the page says to type it, nothing changes
    other = admin_client.post(page, {"carrier": carrier.pk, "tracking_number": ""})
    assert other.status_code == 200
    assert b"Type the tracking number" in other.content
    rma.refresh_from_db()
    assert rma.tracking_number == "1Z42"


def test_the_policy_page_edits_refund_without_return_and_trusted_exchanges(
    default_policy, admin_client
):
    url = reverse("admin:returns_returnpolicy_change", args=[default_policy.pk])
    page = admin_client.get(url)
    assert b"refund_without_return_below" in page.content
    assert b"trust_exchanges" in page.content
