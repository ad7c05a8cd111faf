"""The Celery application. Reads its configuration from Django settings (``CELERY_*``).

It lives in the ground because the outbox publishes through it; it names no app (tasks
are found by autodiscovery). ``oms.celery`` is the entry point workers are started with.
"""

import os

from celery import Celery

# A production entry point (workers, beat): production settings unless told otherwise;
# scripts/serve.sh and `make worker` set the developer settings for the demo.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings.base")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
