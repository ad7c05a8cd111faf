"""Separation of duties on holds: each kind of hold is released by the role that owns the
decision, in the admin and in the service; everyone else is told who may release it."""

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from core.actors import Actor
from fulfillment import holds as hold_workflows
from orders import services as order_services
from orders.errors import HoldReleaseNotAllowed
from orders.models import HoldKind, OrderEvent, OrderHold

pytestmark = pytest.mark.django_db

# Which roles may release which kinds (the managers may release everything).
ALLOWED = {
    "agent": {HoldKind.ADDRESS, HoldKind.MANUAL, HoldKind.EXCHANGE},
    "finance": {HoldKind.CREDIT_LIMIT, HoldKind.PAYMENT},
    "risk": {HoldKind.FRAUD_REVIEW},
    "manager": set(HoldKind.values),
    "sales_rep": set(),
    "warehouse": set(),
}
CASES = [(role, kind) for role in ALLOWED for kind in HoldKind.values]


def _release_url(order):
    return reverse("admin:orders_order_release_hold", args=[order.pk])


def _state(hold):
    hold.refresh_from_db()
    return (
        hold.released_at,
        hold.release_reason,
        hold.released_by_label,
        OrderEvent.objects.filter(order=hold.order).count(),
    )


@pytest.fixture
def hold_of(placed_order, operator):
    def make(kind):
        return order_services.place_hold(
            order=placed_order, kind=kind, reason=f"{kind} reason", actor=operator
        )

    return make


@pytest.mark.parametrize(("role", "kind"), CASES)
def test_each_role_releases_only_its_kinds_of_hold_in_the_admin(client_for, hold_of, role, kind):
    hold = hold_of(kind)
    client = client_for(role)
    before = _state(hold)

    response = client.post(_release_url(hold.order), {"hold": hold.pk, "reason": "Checked"})

    if kind in ALLOWED[role]:
        assert response.status_code == 302
        hold.refresh_from_db()
        assert hold.released_at is not None
        assert hold.release_reason == "Checked"
        assert hold.released_by_label == f"{role}-user"
        assert hold.released_by.username == f"{role}-user"
    else:
        # Either no release page at all (no release permission whatsoever) or a refusal
        # naming who may release it; the hold stays open and nothing is recorded.
        assert response.status_code in (302, 403)
        assert _state(hold) == before
        assert before[0] is None


@pytest.mark.parametrize(("role", "kind"), CASES)
def test_each_role_releases_only_its_kinds_of_hold_in_the_service(make_staff, hold_of, role, kind):
    hold = hold_of(kind)
    actor = Actor.for_user(make_staff(role))
    before = _state(hold)

    if kind in ALLOWED[role]:
        hold_workflows.release_order_hold(hold_id=hold.pk, reason="Checked", actor=actor)
        assert _state(hold)[0] is not None
    else:
        with pytest.raises(HoldReleaseNotAllowed) as refused:
            hold_workflows.release_order_hold(hold_id=hold.pk, reason="Checked", actor=actor)
        assert refused.value.status == 403
        assert "released by" in refused.value.message
        assert _state(hold) == before


def test_an_api_client_cannot_release_a_hold_through_the_release_service(hold_of):
    hold = hold_of(HoldKind.B2B_APPROVAL)
    before = _state(hold)

    with pytest.raises(HoldReleaseNotAllowed):
        order_services.release_hold(
            hold_id=hold.pk, reason="ok", actor=Actor.api_client("ACME/key")
        )

    assert _state(hold) == before


def test_the_order_page_shows_the_release_button_only_to_those_allowed(client_for, hold_of):
    hold = hold_of(HoldKind.FRAUD_REVIEW)
    page = reverse("admin:orders_order_change", args=[hold.order.pk])

    agent_page = client_for("agent").get(page).content.decode()
    risk_page = client_for("risk").get(page).content.decode()

    assert _release_url(hold.order) not in agent_page
    assert "released by a risk analyst or a manager" in agent_page
    assert _release_url(hold.order) in risk_page
    # The summary card offers those allowed a button for the hold itself.
    assert "Release fraud review hold" in risk_page
    assert "Release fraud review hold" not in agent_page


def test_the_release_form_offers_only_the_kinds_the_user_may_release(client_for, hold_of):
    fraud = hold_of(HoldKind.FRAUD_REVIEW)
    manual = hold_of(HoldKind.MANUAL)

    response = client_for("agent").get(_release_url(fraud.order))

    assert list(response.context["form"].fields["hold"].queryset) == [manual]
    # A forged id of a hold the agent may not release is a plain form error.
    response = client_for("agent").post(
        _release_url(fraud.order), {"hold": fraud.pk, "reason": "ok"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["hold"]
    assert _state(fraud)[0] is None


def test_an_agent_facing_only_holds_of_others_is_told_who_may_release(client_for, hold_of):
    hold = hold_of(HoldKind.CREDIT_LIMIT)

    response = client_for("agent").get(_release_url(hold.order), follow=True)

    text = response.content.decode()
    assert "Credit limit holds are released by finance or a manager" in text
    assert OrderHold.objects.get(pk=hold.pk).released_at is None


def test_a_release_without_a_reason_is_refused(make_staff, hold_of):
    hold = hold_of(HoldKind.MANUAL)
    before = _state(hold)

    with pytest.raises(Exception, match="needs a reason"):
        hold_workflows.release_order_hold(
            hold_id=hold.pk, reason="  ", actor=Actor.for_user(make_staff("agent"))
        )

    assert _state(hold) == before


def test_the_roles_hold_only_their_release_permissions(db):
    def perms(role):
        return set(
            Group.objects.get(name=role)
            .permissions.filter(codename__startswith="release_")
            .values_list("codename", flat=True)
        )

    assert perms("agent") == {"release_address_hold", "release_manual_hold"}
    assert perms("finance") == {"release_credit_hold", "release_payment_hold"}
    assert perms("risk") == {"release_fraud_hold"}
    assert {
        "release_fraud_hold",
        "release_approval_hold",
        "release_credit_hold",
    } <= perms("manager")


def test_an_agent_posting_a_release_of_others_holds_is_sent_back_unchanged(client_for, hold_of):
    hold = hold_of(HoldKind.CREDIT_LIMIT)
    before = _state(hold)
    events = OrderEvent.objects.count()

    response = client_for("agent").post(
        _release_url(hold.order), {"hold": hold.pk, "reason": "Paid"}
    )

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Credit limit holds are released by finance or a manager."
    ]
    assert _state(hold) == before
    assert OrderEvent.objects.count() == events
