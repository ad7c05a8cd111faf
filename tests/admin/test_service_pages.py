"""The console's generic building blocks for "one service call, then tell the outcome":
``show_refusal`` (a refusal is a message, not a form banner) and ``run_on_rows`` (a bulk
action, one call per row, reported honestly). The pages built on them are tested with
their apps (fulfillment work, stock operations)."""

import pytest
from django import forms
from django.contrib import admin, messages
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from core.admin import run_on_rows, show_refusal
from core.errors import Conflict, InvalidInput
from inventory import services as inventory_services
from inventory.models import StockLevel, StockMovement
from tests.factories import LocationFactory, ProductFactory

pytestmark = pytest.mark.django_db


class AddressForm(forms.Form):
    street = forms.CharField()
    zip_code = forms.CharField()


@pytest.fixture
def request_(admin_user):
    request = RequestFactory().post("/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@pytest.fixture
def level_admin():
    return admin.site._registry[StockLevel]


def _messages(request) -> list[tuple[int, str]]:
    return [(m.level, m.message) for m in get_messages(request)]


def _bound_form() -> AddressForm:
    form = AddressForm({"street": "1 Main St", "zip_code": "99999"})
    assert form.is_valid()
    return form


# --- show_refusal -------------------------------------------------------------------------


def test_a_refusal_is_an_error_message_and_leaves_the_form_without_errors(request_, level_admin):
    form = _bound_form()

    show_refusal(level_admin, request_, form, Conflict("Stock at RNO1 changed; try again."))

    assert _messages(request_) == [(messages.ERROR, "Stock at RNO1 changed; try again.")]
    assert form.errors == {}


def test_only_the_refusals_fields_named_by_the_form_become_field_errors(request_, level_admin):
    form = _bound_form()
    refusal = InvalidInput(
        "The address is not valid.",
        fields={"postal_code": "Not a known US ZIP code.", "latitude": "Not a number."},
    )

    show_refusal(level_admin, request_, form, refusal, error_fields={"postal_code": "zip_code"})

    assert _messages(request_) == [(messages.ERROR, "The address is not valid.")]
    assert form.errors == {"zip_code": ["Not a known US ZIP code."]}


def test_a_terse_field_problem_is_shown_as_a_sentence(request_, level_admin):
    form = _bound_form()
    refusal = InvalidInput("The address is not valid.", fields={"postal_code": "not known"})

    show_refusal(level_admin, request_, form, refusal, error_fields={"postal_code": "zip_code"})

    assert form.errors == {"zip_code": ["Not known."]}


def test_a_refusal_about_one_field_is_that_fields_error_alone(request_, level_admin):
    form = _bound_form()

    show_refusal(
        level_admin,
        request_,
        form,
        InvalidInput("The pickup code does not match."),
        refusal_field="zip_code",
    )

    assert form.errors == {"zip_code": ["The pickup code does not match."]}
    assert _messages(request_) == []


# --- run_on_rows ----------------------------------------------------------------------------


@pytest.fixture
def levels(operator):
    """3 units at RNO1, 10 at SFO1, of one SKU."""
    product = ProductFactory(sku="MUG-RED")
    return [
        inventory_services.receive_stock(
            location=LocationFactory(code=code),
            product=product,
            quantity=quantity,
            actor=operator,
            reference="PO-1",
        )
        for code, quantity in (("RNO1", 3), ("SFO1", 10))
    ]


def _write_off(levels, operator):
    by_pk = {level.pk: level for level in levels}

    def write_off(level_id: int) -> None:
        level = by_pk[level_id]
        inventory_services.adjust_stock(
            location=level.location,
            product=level.product,
            delta=-5,
            bucket="on_hand",
            reason="Write-off",
            reference="",
            actor=operator,
        )

    return write_off


def test_a_refused_row_is_named_and_the_others_still_go_through(
    request_, level_admin, levels, operator
):
    rno, sfo = levels
    movements = StockMovement.objects.count()

    outcome = run_on_rows(
        level_admin,
        request_,
        [(rno.pk, "RNO1"), (sfo.pk, "SFO1")],
        _write_off(levels, operator),
        done_message=lambda o: f"Wrote off {o.done}.",
        nothing_message="Nothing to write off.",
    )

    assert (outcome.done, outcome.skipped) == (1, 0)
    assert _messages(request_) == [
        (messages.SUCCESS, "Wrote off 1."),
        (messages.ERROR, "RNO1: on hand would become -2; it cannot go below 0."),
    ]
    rno.refresh_from_db()
    sfo.refresh_from_db()
    assert (rno.on_hand, sfo.on_hand) == (3, 5)  # the refused row did not move
    assert StockMovement.objects.count() == movements + 1


def test_no_green_message_when_every_row_is_refused(request_, level_admin, levels, operator):
    rno, _ = levels
    before = StockMovement.objects.count()

    run_on_rows(
        level_admin,
        request_,
        [(rno.pk, "RNO1")],
        _write_off(levels, operator),
        done_message=lambda o: f"Wrote off {o.done}.",
        nothing_message="Nothing to write off.",
    )

    assert [level for level, _ in _messages(request_)] == [messages.ERROR]
    assert StockMovement.objects.count() == before


def test_rows_needing_nothing_are_counted_apart_and_warned_about(request_, level_admin):
    outcome = run_on_rows(
        level_admin,
        request_,
        [(1, "A"), (2, "B")],
        lambda key: False,  # e.g. a reservation that had already ended
        done_message=lambda o: f"Did {o.done}.",
        nothing_message="Every selected row was already done.",
    )

    assert (outcome.done, outcome.skipped, outcome.refused) == (0, 2, [])
    assert _messages(request_) == [(messages.WARNING, "Every selected row was already done.")]
