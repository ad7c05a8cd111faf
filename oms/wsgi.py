"""The WSGI application (gunicorn ``oms.wsgi``).

Once it is loaded, the URL configuration is imported too (and with it every view,
service and the ZIP code table), and everything that now exists is frozen out of
the garbage collector's reach: those objects live as long as the process, and each
full collection that scanned them stalled a worker, all its threads included, for
about 90 ms every few hundred requests. After the freeze such a collection takes a
few milliseconds.
"""

import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

# A production entry point: without DJANGO_SETTINGS_MODULE it runs on the production
# settings, which refuse to start without a SECRET_KEY. Only manage.py defaults to the
# developer settings (DEBUG, a fixed key); scripts/serve.sh sets them for the demo.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings.base")

application = get_wsgi_application()


def _load_and_freeze() -> None:
    get_resolver().url_patterns  # noqa: B018 - imports every view module now
    gc.collect()
    gc.freeze()


_load_and_freeze()
