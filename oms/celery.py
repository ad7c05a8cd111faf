"""The Celery application. Reads its configuration from Django settings (``CELERY_*``)."""

import os

from celery import Celery

# A production entry point (workers, beat): production settings unless told otherwise;
# scripts/serve.sh and `make worker` set the developer settings for the demo.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings.base")

app = Celery("oms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
