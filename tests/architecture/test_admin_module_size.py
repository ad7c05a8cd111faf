"""No admin module grows past what a reader can hold in their head: an admin that gets
long becomes a package with one module per concern (docs/architecture.md, "The admin as
thin views"). No database."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)
MAX_LINES = 650


def admin_modules() -> list[Path]:
    found: set[Path] = set()
    for package in PACKAGES:
        base = ROOT / package
        found.update(base.rglob("admin.py"))
        found.update(base.rglob("admin/*.py"))
    return sorted(path for path in found if "migrations" not in path.parts)


def test_the_admin_modules_are_found():
    modules = {path.relative_to(ROOT).as_posix() for path in admin_modules()}

    assert {
        "core/admin/pages.py",
        "inventory/admin/stock_levels.py",
        "orders/admin/order_page.py",
    } <= modules


def test_no_admin_module_is_longer_than_the_limit():
    too_long = {
        path.relative_to(ROOT).as_posix(): lines
        for path in admin_modules()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }

    assert too_long == {}, f"split these into a package by concern: {too_long}"
