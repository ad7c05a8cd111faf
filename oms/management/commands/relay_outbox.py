import signal
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from oms.outbox import RELAY_BATCH, run_relay, sweep


class Command(BaseCommand):
    help = "Publish outbox events to Celery as they commit (run with OMS_OUTBOX_RELAY=process)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Publish what is due and exit.")
        parser.add_argument("--poll", type=float, default=0.1, help="Seconds between polls.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            total = 0
            while True:
                published = sweep(older_than=timedelta(0), limit=RELAY_BATCH)
                total += published
                # A short batch means the backlog is drained, or the broker refused it.
                if published < RELAY_BATCH:
                    break
            self.stdout.write(f"published {total} events")
            return
        stopping = {"now": False}

        def stop(*_: Any) -> None:
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("Relaying outbox events; stop with Ctrl-C.")
        run_relay(poll_seconds=options["poll"], stop=lambda: stopping["now"])
