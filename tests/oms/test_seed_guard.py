"""The demo seed on production settings: refused unless asked for, and then without
the published passwords."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import override_settings

from customers.models import ApiKey
from inventory.models import Product
from oms.demo.credentials import read_keys_file, webhook_secret_name
from oms.demo.users import DEMO_USERS
from orders.models import Order
from shipping.models import Carrier

EMPTY = {"orders": 0, "customers": 0, "live_orders": 0}


@pytest.fixture
def keys_path(tmp_path):
    path = tmp_path / "demo-api-keys.txt"
    with override_settings(OMS_DEMO_KEYS_FILE=path):
        yield path


def written() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (User, Carrier, Product, Order, ApiKey))


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_seeding_with_debug_off_is_refused_and_writes_nothing(keys_path):
    before = written()

    with pytest.raises(CommandError, match="--allow-production"):
        call_command("seed_demo", **EMPTY, quiet=True)

    assert written() == before
    assert not User.objects.filter(username="admin").exists()
    assert not keys_path.exists()


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_seeding_production_on_purpose_gives_random_passwords_printed_once(keys_path):
    out = StringIO()

    call_command("seed_demo", **EMPTY, allow_production=True, stdout=out)

    text = out.getvalue()
    for spec in DEMO_USERS:
        user = User.objects.get(username=spec.username)
        assert not user.check_password(spec.password)
        assert spec.password not in text
    admin = User.objects.get(username="admin")
    printed = dict(line.split() for line in text.splitlines() if line.startswith("  admin "))
    assert admin.check_password(printed["admin"])
    # demo_logins never shows them again.
    logins = StringIO()
    call_command("demo_logins", stdout=logins)
    assert printed["admin"] not in logins.getvalue()
    assert "password changed" in logins.getvalue()


@pytest.mark.django_db
@override_settings(DEBUG=True)
def test_the_demo_seed_prints_its_new_webhook_secrets(keys_path):
    out = StringIO()

    call_command("seed_demo", **EMPTY, stdout=out)

    secrets = dict(Carrier.objects.values_list("code", "webhook_secret"))
    assert secrets
    for code, secret in secrets.items():
        assert secret in out.getvalue()
        assert read_keys_file(keys_path)[webhook_secret_name(code)] == secret
    assert User.objects.get(username="admin").check_password("demo-admin-2026")
