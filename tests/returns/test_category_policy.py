"""Return policy per product category: a category rule governs its products unless a
product or company rule is more specific; the scope must match the rule's target; the
policy and product pages edit it."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from core.errors import DomainError
from inventory.models import Product, ProductCategory
from returns.models import PolicyScope, ReturnPolicy
from returns.policy import rules_for_lines
from tests.factories import CompanyFactory, ProductFactory

from .conftest import delivered_order
from .test_request import ask, assert_nothing_written

pytestmark = pytest.mark.django_db


@pytest.fixture
def furniture():
    return ProductCategory.objects.create(code="furniture", name="Furniture")


def test_a_longer_category_window_takes_a_late_return(default_policy, warehouse, furniture):
    ReturnPolicy.objects.create(
        name="Furniture 60 days", scope=PolicyScope.CATEGORY, category=furniture, window_days=60
    )
    order = delivered_order(products=[ProductFactory(category=furniture)], days_ago=45)

    rma = ask(order)

    rule = rma.policy_trace[str(order.lines.get().pk)]
    assert rule["window_days"] == 60
    assert rule["rule"] == "Furniture 60 days (category rule for Furniture)"


def test_a_shorter_category_window_refuses_and_names_its_rule(default_policy, warehouse, furniture):
    ReturnPolicy.objects.create(
        name="Furniture 7 days", scope=PolicyScope.CATEGORY, category=furniture, window_days=7
    )
    order = delivered_order(products=[ProductFactory(category=furniture)], days_ago=10)

    with pytest.raises(DomainError) as refused:
        ask(order)

    assert refused.value.code == "return_window_closed"
    assert refused.value.details["rule"] == "Furniture 7 days (category rule for Furniture)"
    assert "category rule for Furniture" in str(refused.value)
    assert refused.value.details["window_days"] == 7
    assert_nothing_written(order)
    # a product outside the category keeps the default's 30 days
    other = delivered_order(products=[ProductFactory()], days_ago=10)
    assert ask(other).policy_trace[str(other.lines.get().pk)]["window_days"] == 30


def test_a_non_returnable_category_refuses(default_policy, warehouse, furniture):
    ReturnPolicy.objects.create(
        name="Final sale furniture",
        scope=PolicyScope.CATEGORY,
        category=furniture,
        non_returnable=True,
    )
    order = delivered_order(products=[ProductFactory(category=furniture)])

    with pytest.raises(DomainError) as refused:
        ask(order)

    assert refused.value.code == "not_returnable"
    assert "category rule for Furniture" in refused.value.details["rule"]
    assert_nothing_written(order)


def test_the_product_rule_beats_its_category(default_policy, warehouse, furniture):
    product = ProductFactory(category=furniture)
    ReturnPolicy.objects.create(
        name="Furniture 7 days", scope=PolicyScope.CATEGORY, category=furniture, window_days=7
    )
    ReturnPolicy.objects.create(
        name="Sofa 90 days", scope=PolicyScope.SKU, product=product, window_days=90
    )
    order = delivered_order(products=[product], days_ago=45)

    rma = ask(order)

    assert "Sofa 90 days" in rma.policy_trace[str(order.lines.get().pk)]["rule"]


def test_the_company_rule_beats_product_and_category(default_policy, warehouse, furniture):
    company = CompanyFactory()
    product = ProductFactory(category=furniture)
    ReturnPolicy.objects.create(
        name="Furniture 90 days", scope=PolicyScope.CATEGORY, category=furniture, window_days=90
    )
    ReturnPolicy.objects.create(
        name="Sofa 60 days", scope=PolicyScope.SKU, product=product, window_days=60
    )
    ReturnPolicy.objects.create(
        name="Key account", scope=PolicyScope.COMPANY, company=company, window_days=14
    )
    order = delivered_order(products=[product], company=company, days_ago=20)

    with pytest.raises(DomainError) as refused:
        ask(order)

    assert refused.value.code == "return_window_closed"
    assert "Key account" in refused.value.details["rule"]
    assert_nothing_written(order)


def test_each_line_gets_its_own_categorys_rule_in_two_queries(
    default_policy, furniture, django_assert_num_queries
):
    lighting = ProductCategory.objects.create(code="lighting", name="Lighting")
    chair, sofa, lamp, plain = (
        ProductFactory(category=furniture),
        ProductFactory(category=furniture),
        ProductFactory(category=lighting),
        ProductFactory(),
    )
    ReturnPolicy.objects.create(
        name="Furniture", scope=PolicyScope.CATEGORY, category=furniture, window_days=60
    )
    ReturnPolicy.objects.create(
        name="Lighting", scope=PolicyScope.CATEGORY, category=lighting, window_days=10
    )
    order = delivered_order(products=[chair, sofa, lamp, plain])
    lines = list(order.lines.order_by("line_number"))

    with django_assert_num_queries(2):
        rules = rules_for_lines(order, lines)

    assert [rules[line.pk].window_days for line in lines] == [60, 60, 10, 30]


@pytest.mark.parametrize(
    ("scope", "target"),
    [
        (PolicyScope.CATEGORY, {}),
        (PolicyScope.CATEGORY, {"product": True}),
        (PolicyScope.DEFAULT, {"category": True}),
        (PolicyScope.SKU, {"product": True, "category": True}),
        (PolicyScope.COMPANY, {"company": True, "category": True}),
    ],
)
def test_a_scope_must_match_its_target(furniture, scope, target):
    values = {
        "product": ProductFactory() if target.get("product") else None,
        "category": furniture if target.get("category") else None,
        "company": CompanyFactory() if target.get("company") else None,
    }
    before = ReturnPolicy.objects.count()

    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnPolicy.objects.create(name="Bad", scope=scope, **values)

    assert ReturnPolicy.objects.count() == before


def test_one_active_rule_per_category(furniture):
    ReturnPolicy.objects.create(name="First", scope=PolicyScope.CATEGORY, category=furniture)

    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnPolicy.objects.create(name="Second", scope=PolicyScope.CATEGORY, category=furniture)

    ReturnPolicy.objects.create(
        name="Old", scope=PolicyScope.CATEGORY, category=furniture, is_active=False
    )


def _policy_form(**values):
    data = {
        "name": "Furniture",
        "scope": "category",
        "product": "",
        "category": "",
        "company": "",
        "window_days": "60",
        "auto_approve_below": "",
        "refund_without_return_below": "",
        "is_active": "on",
    }
    data.update(values)
    return data


def test_the_policy_admin_adds_a_category_rule(admin_client, furniture):
    url = reverse("admin:returns_returnpolicy_add")
    assert b'name="category"' in admin_client.get(url).content

    response = admin_client.post(url, _policy_form(category=str(furniture.pk)))

    assert response.status_code == 302, response.content
    policy = ReturnPolicy.objects.get(scope=PolicyScope.CATEGORY)
    assert policy.category == furniture
    assert policy.window_days == 60
    listing = admin_client.get(
        reverse("admin:returns_returnpolicy_changelist"), {"category__id__exact": furniture.pk}
    )
    assert listing.status_code == 200
    assert b"Furniture" in listing.content


def test_the_policy_admin_refuses_a_category_rule_without_its_category(admin_client, furniture):
    before = ReturnPolicy.objects.count()

    response = admin_client.post(reverse("admin:returns_returnpolicy_add"), _policy_form())

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert ReturnPolicy.objects.count() == before


def test_the_policy_admin_refuses_a_product_rule_with_a_category(admin_client, furniture):
    product = ProductFactory()
    before = ReturnPolicy.objects.count()

    response = admin_client.post(
        reverse("admin:returns_returnpolicy_add"),
        _policy_form(scope="sku", product=str(product.pk), category=str(furniture.pk)),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert ReturnPolicy.objects.count() == before


def test_the_product_admin_sets_filters_and_shows_the_category(admin_client, furniture):
    response = admin_client.post(
        reverse("admin:inventory_product_add"),
        {
            "sku": "sofa-01",
            "name": "Sofa",
            "category": str(furniture.pk),
            "list_price": "899.00",
            "currency": "USD",
            "weight_grams": "40000",
            "customization_fields": "[]",
            "is_returnable": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content
    assert Product.objects.get(sku="SOFA-01").category == furniture
    ProductFactory(name="Uncategorised lamp")

    listing = admin_client.get(
        reverse("admin:inventory_product_changelist"), {"category__id__exact": furniture.pk}
    )

    assert listing.status_code == 200
    assert b"SOFA-01" in listing.content
    assert b"Uncategorised lamp" not in listing.content
    assert b"Furniture" in listing.content
