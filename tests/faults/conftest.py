"""Fixtures of the fault tests: the order-capture fixtures of the API suite (a company
with an API key, stocked SKUs, an address, the standard method), reused as they are."""

from tests.api.conftest import (  # noqa: F401
    _fresh_process_state,
    address,
    api,
    buyer,
    company,
    issued_key,
    standard,
    stocked,
    warehouse,
)
