"""Loading the WSGI application imports the views and freezes the start-up objects
out of the garbage collector's reach."""

import gc
import importlib
import sys


def test_loading_the_application_freezes_what_start_up_created():
    gc.unfreeze()
    sys.modules.pop("oms.wsgi", None)
    try:
        module = importlib.import_module("oms.wsgi")

        assert callable(module.application)
        assert "orders.api.views" in sys.modules
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
