"""Which holds a member of staff may release: each kind has its own permission, and
the order page offers only those (``orders.services``)."""

import pytest
from django.contrib.auth.models import Permission

from orders.models import HoldKind
from orders.services import may_release_any_hold, may_release_hold, releasable_hold_kinds
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def staff(*codenames: str, active: bool = True):
    user = UserFactory(is_staff=True, is_active=active)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # fresh permission cache


def test_finance_releases_payment_and_credit_holds_only():
    # given
    finance = staff("release_payment_hold", "release_credit_hold")

    # when / then
    assert releasable_hold_kinds(finance) == [HoldKind.PAYMENT, HoldKind.CREDIT_LIMIT]
    assert may_release_any_hold(finance)
    assert not may_release_hold(finance, HoldKind.FRAUD_REVIEW)


def test_staff_without_a_release_permission_release_nothing():
    packer = staff()

    assert releasable_hold_kinds(packer) == []
    assert not may_release_any_hold(packer)


def test_an_inactive_user_releases_nothing_whatever_their_permissions():
    gone = staff("release_manual_hold", active=False)

    assert releasable_hold_kinds(gone) == []
    assert not may_release_any_hold(gone)
