"""Settings of the Celery workers that ``test_payments_worker_killed`` starts: those of
the other killed-worker tests, with the test provider replaced by one that writes each
capture call to ``$PAYMENT_CALLS_LOG`` (its idempotency key and amount). With
``$PAYMENT_HANG_AFTER_CAPTURE`` set to a file name that does not exist yet, the first
capture creates that file once the provider has answered and waits until it is killed:
the money moved, the ledger does not know it yet."""

import json
import os
import time
from pathlib import Path
from typing import Any

from billing.providers import PROVIDERS
from billing.providers.base import Capture
from billing.providers.test import TestPaymentProvider
from tests.oms.worker_settings import *  # noqa: F403

OMS_PAYMENT_PROVIDER = "test"


class RecordingTestProvider(TestPaymentProvider):
    __test__ = False

    def capture(self, **kwargs: Any) -> Capture:
        result = super().capture(**kwargs)
        with Path(os.environ["PAYMENT_CALLS_LOG"]).open("a") as log:
            call = {"key": kwargs["idempotency_key"], "amount": str(kwargs["amount"])}
            log.write(json.dumps(call) + "\n")
            log.flush()
            os.fsync(log.fileno())
        hang = os.environ.get("PAYMENT_HANG_AFTER_CAPTURE")
        if hang and not Path(hang).exists():
            Path(hang).touch()
            time.sleep(600)
        return result


PROVIDERS["test"] = RecordingTestProvider.from_settings
