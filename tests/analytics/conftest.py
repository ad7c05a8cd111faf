# The console's role-group staff and their logged-in clients.
from tests.admin.conftest import client_for, make_staff

__all__ = ["client_for", "make_staff"]
