from celery import shared_task

from . import drafts


@shared_task(name="orders.release_expired_draft_reservations", acks_late=True)
def release_expired_draft_reservations() -> int:
    return drafts.release_expired_draft_reservations()
