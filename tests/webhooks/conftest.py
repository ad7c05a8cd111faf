from tests.billing.conftest import _fresh_cache, shop, warehouse  # noqa: F401 - fixtures
