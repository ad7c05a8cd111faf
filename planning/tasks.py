"""Thin planning tasks for beat: safe to repeat."""

from celery import shared_task

from . import alerts, services


@shared_task(name="planning.run_planning", acks_late=True)
def run_planning() -> int:
    """Nightly: recompute the forecasts, then alert on new low-stock crossings."""
    run = services.run_planning()
    alerts.check_low_stock()
    return run.pk


@shared_task(name="planning.check_low_stock", acks_late=True)
def check_low_stock() -> int:
    """Hourly: stock moves all day; open and close crossings, alert on new ones."""
    return alerts.check_low_stock()
