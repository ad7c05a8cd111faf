"""The import contracts of pyproject.toml (docs/architecture.md, "Layers"): they hold on the
tree, and they break when someone adds an upward import or takes another module's private name.

The breaking cases run `lint-imports` on a copy of the packages, the contract module and the
configuration: the command puts its working directory first on the import path, so it reads
the copy, not the installed project. No database.
"""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from grimp import ImportGraph

from tools.import_contracts import NoSignalsContract, PrivateNamesContract

ROOT = Path(__file__).resolve().parents[2]
ROOT_PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "root_packages"
]
PACKAGES = (*ROOT_PACKAGES, "tools")
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of what `lint-imports` reads, to break without touching the real tree."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_the_contracts_hold_on_the_tree():
    # when
    result = lint_imports(ROOT)

    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_copied_tree_passes_as_it_is(tree):
    # when: nothing changed (the copy is a faithful baseline for the tests below)
    result = lint_imports(tree)

    # then
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_layers(tree):
    # given: orders' models import fulfillment, a higher layer
    append(tree / "orders" / "models.py", "\nimport fulfillment.models  # noqa\n")

    # when
    result = lint_imports(tree)

    # then
    assert result.returncode == 1
    assert "orders is not allowed to import fulfillment" in result.stdout
    assert "orders.models -> fulfillment.models" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [("services", "customers.services"), ("admin", "customers.admin")],
)
def test_inventory_taking_the_address_check_or_form_from_customers_breaks_the_layers(
    tree, module, upward
):
    # given: inventory goes back to customers for the address check or form, which live in
    # the ground (core.addresses, core.admin) and are no listed exception any more
    path = tree / "inventory" / module
    append(
        path / "__init__.py" if path.is_dir() else path.with_suffix(".py"),
        f"\nimport {upward}  # noqa\n",
    )

    # when
    result = lint_imports(tree)

    # then
    assert result.returncode == 1
    assert f"inventory.{module} -> {upward}" in result.stdout


def test_the_customers_admin_taking_orders_back_breaks_the_layers(tree):
    # given: the customer pages read orders themselves again, instead of orders' admin
    # extending them (orders/admin/customer_pages.py); no listed exception covers it
    append(tree / "customers" / "admin" / "__init__.py", "\nimport orders.models  # noqa\n")

    # when
    result = lint_imports(tree)

    # then
    assert result.returncode == 1
    assert "customers is not allowed to import orders" in result.stdout
    assert "customers.admin -> orders.models" in result.stdout


def test_taking_another_modules_private_name_breaks_the_private_contract(tree):
    # given: a helper private to one module, imported by name and used as an attribute
    (tree / "inventory" / "probe_helpers.py").write_text("def _helper() -> None:\n    pass\n")
    (tree / "inventory" / "probe_user.py").write_text(
        "import inventory.probe_helpers\n"
        "from inventory.probe_helpers import _helper\n"
        "\n"
        "_helper()\n"
        "inventory.probe_helpers._helper()\n"
    )

    # when
    result = lint_imports(tree)

    # then
    assert result.returncode == 1
    assert "No module imports another module's _private name BROKEN" in result.stdout
    assert "inventory.probe_user:2 imports inventory.probe_helpers._helper" in result.stdout
    assert "inventory.probe_user:5 uses inventory.probe_helpers._helper" in result.stdout
    # Only that contract breaks: the layers still hold.
    assert result.stdout.count("BROKEN") == 1
    assert "kept, 1 broken." in result.stdout


def test_a_private_name_used_inside_its_own_module_is_fine():
    # given: a module that defines and uses its own private helpers
    graph = ImportGraph()
    graph.add_module("orders.numbering")
    contract = PrivateNamesContract(name="private", session_options={}, contract_options={})

    # when
    check = contract.check(graph, verbose=False)

    # then
    assert check.kept
    assert check.metadata["problems"] == []


def test_an_ignored_name_nobody_uses_any_more_breaks_the_contract():
    # given: a debt listed as ignored that the code no longer has
    graph = ImportGraph()
    graph.add_module("orders.numbering")
    contract = PrivateNamesContract(
        name="private",
        session_options={},
        contract_options={"ignore_names": ["orders.numbering._gone"]},
    )

    # when
    check = contract.check(graph, verbose=False)

    # then
    assert not check.kept
    assert check.metadata["problems"] == [
        "orders.numbering._gone is listed in ignore_names but no longer used: remove it"
    ]


def test_a_signal_receiver_in_an_app_breaks_the_signals_contract(tree):
    # given: orders reacting to a fulfillment save through a signal instead of a call
    (tree / "orders" / "probe_receivers.py").write_text(
        "from django.db.models.signals import post_save\n"
        "from django.dispatch import receiver\n"
        "\n"
        "\n"
        '@receiver(post_save, sender="fulfillment.Shipment")\n'
        "def shipped(sender, **kwargs):\n"
        "    pass\n"
    )

    # when
    result = lint_imports(tree)

    # then
    assert result.returncode == 1
    assert "The ground and the apps use no Django signals BROKEN" in result.stdout
    assert "orders.probe_receivers:1 imports django.db.models.signals" in result.stdout
    assert "orders.probe_receivers:2 imports django.dispatch" in result.stdout


def test_the_wiring_may_listen_to_django_signals():
    # given: the project wiring, which syncs the staff groups after every migrate
    graph = ImportGraph()
    graph.add_module("oms.apps")
    contract = NoSignalsContract(
        name="signals", session_options={}, contract_options={"source_modules": ["orders"]}
    )

    # when
    check = contract.check(graph, verbose=False)

    # then
    assert check.kept


def test_the_layers_contract_lists_every_package_and_no_exception():
    # given
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["id"] == "layers")

    # then: the wiring on top, the ground at the bottom, every app in between, no ignores
    assert layers["layers"][0] == "oms"
    assert layers["layers"][-1] == "core"
    # (siblings that may not import each other share a layer: "a | b")
    listed = {name.strip() for layer in layers["layers"] for name in layer.split("|")}
    assert listed == set(ROOT_PACKAGES)
    assert "ignore_imports" not in layers


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        # the cycles the layers replaced
        ("orders/placement.py", "fulfillment.models"),
        ("orders/changes.py", "fulfillment.holds"),
        ("orders/api/views.py", "fulfillment.rerouting"),
        ("orders/placement.py", "oms.roles"),
        ("customers/models.py", "orders.models"),
        ("shipping/promise.py", "orders.models"),
        ("fulfillment/routing.py", "billing.models"),
        ("core/outbox.py", "orders.models"),
    ],
)
def test_each_upward_import_breaks_the_layers(tree, importer, imported):
    # given
    append(tree / importer, f"\nimport {imported}  # noqa\n")
    lower, higher = importer.split("/")[0], imported.split(".")[0]

    # when
    result = lint_imports(tree)

    # then
    assert result.returncode == 1
    assert f"{lower} is not allowed to import {higher}" in result.stdout
