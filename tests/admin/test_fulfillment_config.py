"""Routing rules and carriers in the console: what routing and the tracking webhook read
is validated, and the carrier's webhook secret is never shown."""

import json

import pytest
from django.urls import reverse

from fulfillment.models import RoutingRule, RoutingStep
from shipping.models import Carrier
from tests.factories import CarrierFactory, ProductFactory

pytestmark = pytest.mark.django_db

RULES = reverse("admin:fulfillment_routingrule_changelist")


def _rule(step: str) -> RoutingRule:
    return RoutingRule.objects.get(step=step)


def _recipe() -> list[tuple[str, int, bool, dict]]:
    return list(
        RoutingRule.objects.order_by("step").values_list(
            "step", "position", "is_enabled", "parameters"
        )
    )


def _list_data(response) -> dict[str, object]:
    """The changelist's list_editable formset as the browser posts it."""
    formset = response.context["cl"].formset
    data: dict[str, object] = {"_save": "Save"}
    for form in [formset.management_form, *formset.forms]:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else value
    return data


def _row(response, step: str) -> str:
    formset = response.context["cl"].formset
    index = next(i for i, form in enumerate(formset.forms) if form.instance.step == step)
    return f"{formset.prefix}-{index}"


def _change(client, rule: RoutingRule, **overrides) -> object:
    url = reverse("admin:fulfillment_routingrule_change", args=[rule.pk])
    data = {
        "position": rule.position,
        "parameters": json.dumps(rule.parameters),
        "description": rule.description,
        **({"is_enabled": "on"} if rule.is_enabled else {}),
    }
    data.update(overrides)
    return client.post(url, data)


# --- routing rules ------------------------------------------------------------------------


def test_the_recipe_is_listed_in_position_order(client_for):
    response = client_for("manager").get(RULES)

    steps = [rule.step for rule in response.context["cl"].result_list]
    assert steps == list(RoutingRule.objects.order_by("position").values_list("step", flat=True))
    assert steps[0] == RoutingStep.ACTIVE


def test_positions_and_switches_are_saved_from_the_list(client_for):
    client = client_for("manager")
    page = client.get(RULES)
    data = _list_data(page)
    distance, priority = _row(page, "distance"), _row(page, "priority")
    # Distance and priority swap places; ship-together is switched on, cost off.
    data[f"{distance}-position"], data[f"{priority}-position"] = "80", "70"
    data[f"{_row(page, 'ship_together')}-is_enabled"] = "on"
    data.pop(f"{_row(page, 'cost')}-is_enabled")

    response = client.post(RULES, data)

    assert response.status_code == 302
    assert (_rule("distance").position, _rule("priority").position) == (80, 70)
    assert _rule("ship_together").is_enabled is True
    assert _rule("cost").is_enabled is False
    edit = _rule("distance").history.get()  # this edit (the data migration wrote none)
    assert edit.history_user.username == "manager-user"


def test_two_steps_cannot_share_a_position(client_for):
    client = client_for("manager")
    page = client.get(RULES)
    data = _list_data(page)
    data[f"{_row(page, 'distance')}-position"] = "80"  # priority is at 80
    before = _recipe()

    response = client.post(RULES, data)

    assert response.status_code == 200
    errors = response.context["cl"].formset.non_form_errors()
    assert list(errors) == [
        "Two steps cannot share position 80: the order of the steps would be left to chance."
    ]
    assert "left to chance" in response.content.decode()
    assert _recipe() == before


def test_ship_together_parameters_are_saved_normalised(client_for):
    ProductFactory(sku="MUG-RED")
    ProductFactory(sku="MUG-LID")
    rule = _rule("ship_together")

    response = _change(
        client_for("manager"), rule, parameters='{"skus": ["mug-red", " MUG-LID", "MUG-RED"]}'
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.parameters == {"skus": ["MUG-RED", "MUG-LID"]}


@pytest.mark.parametrize(
    ("step", "parameters", "error"),
    [
        ("ship_together", '{"skus": [', "Enter a valid JSON."),
        ("ship_together", '["MUG-RED"]', "Parameters are a JSON object, such as {}."),
        ("ship_together", '"MUG-RED"', "Parameters are a JSON object, such as {}."),
        ("ship_together", '{"skus": "MUG-RED"}', '"skus" is a list of SKUs'),
        ("ship_together", '{"skus": ["MUG-RED", 7]}', '"skus" is a list of SKUs'),
        ("ship_together", '{"skus": [""]}', '"skus" is a list of SKUs'),
        ("ship_together", '{"sku": ["MUG-RED"]}', "Unknown parameter 'sku'; this step takes skus."),
        ("ship_together", '{"skus": ["NO-SUCH"]}', "Unknown SKU 'NO-SUCH'."),
        ("distance", '{"max_km": 100}', "This step takes no parameters; leave {}."),
    ],
)
def test_bad_parameters_are_refused_and_change_nothing(client_for, step, parameters, error):
    ProductFactory(sku="MUG-RED")
    before = _recipe()

    response = _change(client_for("manager"), _rule(step), parameters=parameters)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["parameters"]
    assert error in errors["parameters"][0]
    assert _recipe() == before


def test_empty_parameters_mean_none(client_for):
    response = _change(client_for("manager"), _rule("cost"), parameters="")

    assert response.status_code == 302
    assert _rule("cost").parameters == {}


def test_routing_rules_cannot_be_added_or_deleted(client_for):
    client = client_for("manager")
    rule = _rule("cost")

    assert client.get(reverse("admin:fulfillment_routingrule_add")).status_code == 403
    deleted = client.post(
        reverse("admin:fulfillment_routingrule_delete", args=[rule.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert RoutingRule.objects.filter(pk=rule.pk).exists()
    assert client.get(RULES).context["action_form"] is None  # not even "delete selected"


def test_the_step_is_fixed_and_the_history_is_kept(client_for):
    client = client_for("manager")
    rule = _rule("cost")

    _change(client, rule, step="distance", position="95")
    history = client.get(reverse("admin:fulfillment_routingrule_history", args=[rule.pk]))

    rule.refresh_from_db()
    assert (rule.step, rule.position) == ("cost", 95)
    assert history.status_code == 200


@pytest.mark.parametrize("role", ["warehouse", "agent"])
def test_only_managers_edit_the_recipe(client_for, role):
    client = client_for(role)
    before = _recipe()

    response = _change(client, _rule("cost"), position="5")

    assert response.status_code == 403
    assert _recipe() == before


# --- carriers ------------------------------------------------------------------------------

SECRET = "carrier-secret-0123456789"


@pytest.fixture
def carrier(db) -> Carrier:
    return CarrierFactory(code="PEX", name="ParcelExpress", webhook_secret=SECRET)


def _carrier_post(client, carrier: Carrier, **overrides) -> object:
    data = {
        "code": carrier.code,
        "name": carrier.name,
        "tracking_url_template": carrier.tracking_url_template,
        "is_active": "on",
        "methods-TOTAL_FORMS": "0",
        "methods-INITIAL_FORMS": "0",
        "methods-MIN_NUM_FORMS": "0",
        "methods-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return client.post(reverse("admin:shipping_carrier_change", args=[carrier.pk]), data)


@pytest.mark.parametrize("role", ["manager", "agent", "warehouse"])
def test_the_webhook_secret_is_shown_masked_only(client_for, carrier, role):
    client = client_for(role)

    listed = client.get(reverse("admin:shipping_carrier_changelist"))
    page = client.get(reverse("admin:shipping_carrier_change", args=[carrier.pk]))

    for response in (listed, page):
        assert response.status_code == 200
        content = response.content.decode()
        assert SECRET not in content
        assert "••••••••6789" in content


def test_only_editors_get_the_secret_fields(client_for, carrier):
    editor = client_for("manager").get(reverse("admin:shipping_carrier_change", args=[carrier.pk]))
    viewer = client_for("agent").get(reverse("admin:shipping_carrier_change", args=[carrier.pk]))

    assert "new_webhook_secret" in editor.context["adminform"].form.fields
    assert 'type="password"' in editor.content.decode()
    assert "new_webhook_secret" not in viewer.content.decode()


def test_an_empty_secret_field_keeps_the_secret(client_for, carrier):
    response = _carrier_post(client_for("manager"), carrier, name="Parcel Express")

    assert response.status_code == 302
    carrier.refresh_from_db()
    assert (carrier.name, carrier.webhook_secret) == ("Parcel Express", SECRET)


def test_a_new_secret_replaces_the_old_one(client_for, carrier):
    response = _carrier_post(
        client_for("manager"), carrier, new_webhook_secret="a-brand-new-secret-42"
    )

    assert response.status_code == 302
    carrier.refresh_from_db()
    assert carrier.webhook_secret == "a-brand-new-secret-42"


def test_the_secret_can_be_removed_but_not_replaced_at_the_same_time(client_for, carrier):
    client = client_for("manager")

    both = _carrier_post(
        client, carrier, new_webhook_secret="a-brand-new-secret-42", remove_webhook_secret="on"
    )
    short = _carrier_post(client, carrier, new_webhook_secret="short")
    carrier.refresh_from_db()
    assert carrier.webhook_secret == SECRET
    assert both.status_code == short.status_code == 200
    assert "Either set a new webhook secret or remove it" in both.content.decode()
    assert list(short.context["adminform"].form.errors) == ["new_webhook_secret"]

    removed = _carrier_post(client, carrier, remove_webhook_secret="on")

    assert removed.status_code == 302
    carrier.refresh_from_db()
    assert carrier.webhook_secret == ""


def test_a_new_carrier_can_get_its_secret_when_added(client_for):
    response = client_for("manager").post(
        reverse("admin:shipping_carrier_add"),
        {
            "code": "DHL",
            "name": "DHL",
            "tracking_url_template": "",
            "is_active": "on",
            "new_webhook_secret": "dhl-webhook-secret-1",
            "methods-TOTAL_FORMS": "0",
            "methods-INITIAL_FORMS": "0",
            "methods-MIN_NUM_FORMS": "0",
            "methods-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    assert Carrier.objects.get(code="DHL").webhook_secret == "dhl-webhook-secret-1"
