"""``replace_admin``: a higher app registers its extension of a lower app's admin in its
place, and registering one that does not extend it fails at once. No database."""

import pytest
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured

from core.admin import replace_admin
from customers.models import PriceList


class BaseAdmin(admin.ModelAdmin):
    pass


class ExtendedAdmin(BaseAdmin):
    pass


class UnrelatedAdmin(admin.ModelAdmin):
    pass


@pytest.fixture
def site() -> admin.AdminSite:
    site = admin.AdminSite(name="probe")
    site.register(PriceList, BaseAdmin)
    return site


def test_an_extension_takes_the_place_of_the_admin_it_extends(site):
    # when
    replace_admin(PriceList, ExtendedAdmin, site=site)

    # then
    assert type(site.get_model_admin(PriceList)) is ExtendedAdmin


def test_an_admin_that_does_not_extend_the_registered_one_is_refused(site):
    # when
    with pytest.raises(ImproperlyConfigured, match="UnrelatedAdmin would replace BaseAdmin"):
        replace_admin(PriceList, UnrelatedAdmin, site=site)

    # then: the page it meant to replace is still served
    assert type(site.get_model_admin(PriceList)) is BaseAdmin


def test_replacing_twice_with_the_same_class_is_refused(site):
    # given: the extension is in place already (registered twice by mistake)
    replace_admin(PriceList, ExtendedAdmin, site=site)

    # when
    with pytest.raises(ImproperlyConfigured):
        replace_admin(PriceList, ExtendedAdmin, site=site)

    # then
    assert type(site.get_model_admin(PriceList)) is ExtendedAdmin
