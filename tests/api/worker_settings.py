"""Settings of the Celery worker process that ``test_outbox_redis_down`` starts: the
test settings, with e-mail written as files to ``$EMAIL_FILE_PATH`` so that the test
can count what the worker sent."""

import os

from oms.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
