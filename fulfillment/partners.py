"""Hand-off to 3PLs and dropship vendors: they receive the fulfillment order by e-mail,
with its packing slip as a PDF, exactly once."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from inventory.models import LocationKind
from orders.models import Notification
from orders.notifications import claim_notification, mark_failed, mark_sent

from .documents import packing_slip_pdf
from .models import FulfillmentOrder

PARTNER_KINDS = (LocationKind.THIRD_PARTY, LocationKind.DROPSHIP_VENDOR)


def _send_to_partner(
    fo: FulfillmentOrder,
    *,
    dedupe_key: str,
    event: str,
    subject: str,
    template: str,
    attachments: tuple[tuple[str, bytes, str], ...] = (),
) -> Notification | None:
    """E-mail the fulfillment order's partner once per ``dedupe_key``."""
    location = fo.location
    if location.kind not in PARTNER_KINDS or not location.contact_email:
        return None
    claim = claim_notification(
        dedupe_key,
        channel="email",
        event=event,
        recipient=location.contact_email,
        subject=subject,
        order=fo.order,
    )
    if claim is None:
        return None
    message = EmailMessage(
        subject=subject,
        body=render_to_string(template, {"fo": fo, "order": fo.order}),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[location.contact_email],
    )
    for attachment in attachments:
        message.attach(*attachment)
    try:
        message.send()
    except Exception as exc:  # a soft time limit interrupting the send included
        mark_failed(claim, exc)
        raise
    mark_sent(claim)
    return claim


def send_fulfillment_request(*, fo_id: int) -> Notification | None:
    fo = FulfillmentOrder.objects.select_related("location", "order").get(pk=fo_id)
    if fo.location.kind not in PARTNER_KINDS or not fo.location.contact_email:
        return None
    return _send_to_partner(
        fo,
        dedupe_key=f"fo:{fo.pk}:request:email",
        event="fulfillment_request",
        subject=f"Fulfillment request {fo.number} from OMS",
        template="emails/fulfillment_request.txt",
        attachments=((f"{fo.number}.pdf", packing_slip_pdf(fo), "application/pdf"),),
    )


def send_hold_notice(*, fo_id: int, held: bool, occurrence: int) -> Notification | None:
    """Tell a partner to stop work on a fulfillment order (its order went on hold) or
    to go on with it (released); once per hold or release (``occurrence``)."""
    fo = FulfillmentOrder.objects.select_related("location", "order").get(pk=fo_id)
    kind = "hold" if held else "resume"
    return _send_to_partner(
        fo,
        dedupe_key=f"fo:{fo.pk}:{kind}:{occurrence}:email",
        event="fulfillment_hold" if held else "fulfillment_resumed",
        subject=(
            f"STOP: do not ship {fo.number} (order on hold)"
            if held
            else f"Go ahead: {fo.number} is released"
        ),
        template="emails/fulfillment_hold.txt" if held else "emails/fulfillment_resumed.txt",
    )
