"""Fixtures of the fault tests: the order-capture fixtures of the API suite (a company
with an API key), reused as they are. The address, the standard method and the stocked
SKUs come from ``tests/ordering.py`` like everywhere else."""

from tests.api.conftest import (  # noqa: F401
    _fresh_process_state,
    api,
    company,
    issued_key,
)
