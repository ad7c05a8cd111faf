"""The daily summary's refreshes (``analytics.summary``), run by beat on the default queue."""

from celery import shared_task

from . import summary


@shared_task(name="analytics.refresh_daily_summary", acks_late=True)
def refresh_daily_summary(whole: bool = False) -> int:
    """Every few minutes: the days of the orders changed since the last refresh and the
    recent days not yet summarized; ``whole`` (nightly): all the recent days. Safe to run
    twice at once (the refresh takes the summary's lock). Returns the days refreshed."""
    return summary.refresh_recent(whole=whole)
