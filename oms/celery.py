"""The entry point of workers and beat (``celery -A oms``): the project's Celery application,
defined in the ground (``core.celery``) so that the outbox can publish through it."""

from core.celery import app

__all__ = ["app"]
