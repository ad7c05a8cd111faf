"""Customer reads the order console builds on."""

import pytest

from customers import services
from customers.models import AddressKind
from customers.selectors import get_default_shipping_address
from tests.factories import CompanyFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def address(city: str, postal_code: str, region: str) -> dict[str, str]:
    return {
        "name": "Pat Buyer",
        "line1": "1 Main St",
        "city": city,
        "region": region,
        "postal_code": postal_code,
        "country": "US",
    }


def test_a_buyers_own_default_shipping_address_comes_before_the_companys():
    # given
    company = CompanyFactory()
    buyer = CustomerFactory(company=company, company_role="buyer")
    services.add_address(
        kind=AddressKind.SHIPPING,
        data=address("Reno", "89502", "NV"),
        company=company,
        make_default=True,
    )
    own = services.add_address(
        kind=AddressKind.SHIPPING,
        data=address("Denver", "80202", "CO"),
        customer=buyer,
        make_default=True,
    )

    # when / then
    assert get_default_shipping_address(buyer) == own


def test_a_buyer_without_one_gets_the_companys():
    company = CompanyFactory()
    buyer = CustomerFactory(company=company, company_role="buyer")
    companys = services.add_address(
        kind=AddressKind.SHIPPING,
        data=address("Reno", "89502", "NV"),
        company=company,
        make_default=True,
    )

    assert get_default_shipping_address(buyer) == companys


def test_billing_and_non_default_addresses_do_not_count():
    shopper = CustomerFactory()
    services.add_address(
        kind=AddressKind.BILLING,
        data=address("Reno", "89502", "NV"),
        customer=shopper,
        make_default=True,
    )
    services.add_address(
        kind=AddressKind.SHIPPING,
        data=address("Denver", "80202", "CO"),
        customer=shopper,
        make_default=False,
    )

    assert get_default_shipping_address(shopper) is None
