"""Hand-off to 3PLs and dropship vendors: they receive the fulfilment order by e-mail,
with its packing slip as a PDF, exactly once."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from inventory.models import LocationKind
from oms.models import Notification, NotificationStatus
from oms.notifications import _claim

from .documents import packing_slip_pdf
from .models import FulfillmentOrder

PARTNER_KINDS = (LocationKind.THIRD_PARTY, LocationKind.DROPSHIP_VENDOR)


def send_fulfillment_request(*, fo_id: int) -> Notification | None:
    fo = FulfillmentOrder.objects.select_related("location", "order").get(pk=fo_id)
    location = fo.location
    if location.kind not in PARTNER_KINDS or not location.contact_email:
        return None
    subject = f"Fulfilment request {fo.number} from OMS"
    claim = _claim(
        f"fo:{fo.pk}:request:email",
        channel="email",
        event="fulfillment_request",
        recipient=location.contact_email,
        subject=subject,
        order=fo.order,
    )
    if claim is None:
        return None
    message = EmailMessage(
        subject=subject,
        body=render_to_string("emails/fulfillment_request.txt", {"fo": fo, "order": fo.order}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[location.contact_email],
    )
    message.attach(f"{fo.number}.pdf", packing_slip_pdf(fo), "application/pdf")
    try:
        message.send()
    except Exception as exc:
        Notification.objects.filter(pk=claim.pk).update(
            status=NotificationStatus.FAILED, error=str(exc)[:300]
        )
        raise
    with transaction.atomic():
        Notification.objects.filter(pk=claim.pk).update(
            status=NotificationStatus.SENT, sent_at=timezone.now()
        )
    return claim
