from celery import shared_task

from . import services


@shared_task(name="inventory.release_expired_reservations", acks_late=True)
def release_expired_reservations() -> int:
    return services.release_expired_reservations()
