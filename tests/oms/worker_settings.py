"""Settings of the Celery workers that ``test_notification_worker_killed`` starts: the
test settings with e-mail written as files to ``$EMAIL_FILE_PATH`` and a broker that
hands an unacknowledged message to another worker within a few seconds. With
``$MAIL_SERVER_HANGS`` set to a file name, the mail server never answers: the worker
creates that file when it starts sending, and waits until it is killed."""

import os
import time
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

from tests.api.worker_settings import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 2,
    # Look for messages to hand back every second, not every 100 s.
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

if os.environ.get("MAIL_SERVER_HANGS"):
    EMAIL_BACKEND = "tests.oms.worker_settings.HangingMailServer"


class HangingMailServer(BaseEmailBackend):
    def send_messages(self, email_messages):
        Path(os.environ["MAIL_SERVER_HANGS"]).touch()
        time.sleep(600)
        return 0
