import pytest

# Detailed assertion messages from the shared helpers too (they are not test modules).
pytest.register_assert_rewrite("tests.api.support")
