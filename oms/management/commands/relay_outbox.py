import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.outbox import drain, run_relay


class Command(BaseCommand):
    help = "Publish outbox events to Celery as they commit (run with OMS_OUTBOX_RELAY=process)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Publish what is due and exit.")
        parser.add_argument("--poll", type=float, default=0.1, help="Seconds between polls.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self.stdout.write(f"published {drain()} events")
            return
        stopping = {"now": False}

        def stop(*_: Any) -> None:
            stopping["now"] = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write("Relaying outbox events; stop with Ctrl-C.")
        run_relay(poll_seconds=options["poll"], stop=lambda: stopping["now"])
