"""Hand-written SQL sits in known places (docs/architecture.md, "The order-intake hot
path"): ``core.rows`` builds the INSERTs, and every other statement an app writes by
hand is in that app's ``sql`` module. This test finds SQL text in string literals
(f-string parts included, docstrings and comments not) anywhere else. No database."""

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = tuple(
    tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
)

# The start of a statement, in the upper case every statement here is written in.
STATEMENT = re.compile(
    r"^\s*\(?\s*(SELECT\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s"
    r"|WITH\s+\w+(\([^)]*\))?\s+AS\s|CREATE\s|DROP\s|ALTER\s|LOCK\s+TABLE\s)"
)

# Where SQL text belongs, beside the apps' sql modules.
ALLOWED = {
    "core/rows.py": "the one hand-written INSERT helper",
    "core/admin/paging.py": "the ground's planner estimate of a table's rows (pg_class)",
    "oms/health.py": "the readiness probe's SELECT 1 (project wiring)",
}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def sql_literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every string literal of ``path`` that starts an SQL statement."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _docstrings(tree)
    return [
        (node.lineno, node.value[:60])
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and STATEMENT.match(node.value)
    ]


def modules() -> list[Path]:
    found = []
    for package in PACKAGES:
        found += [
            path
            for path in (ROOT / package).rglob("*.py")
            if "migrations" not in path.relative_to(ROOT).parts
        ]
    return sorted(found)


def test_sql_is_found_where_it_is_written():
    found = {path.relative_to(ROOT).as_posix() for path in modules() if sql_literals(path)}
    assert {
        "core/rows.py",
        "customers/sql.py",
        "inventory/sql.py",
        "orders/sql.py",
        "fulfillment/sql.py",
        "billing/sql.py",
    } <= found


def test_no_module_writes_sql_outside_the_sql_modules():
    stray = {
        path.relative_to(ROOT).as_posix(): sql_literals(path)
        for path in modules()
        if path.name != "sql.py"
        and path.relative_to(ROOT).as_posix() not in ALLOWED
        and sql_literals(path)
    }
    assert stray == {}, "move these statements into their app's sql module"


def test_every_exception_still_writes_sql():
    for name in ALLOWED:
        path = ROOT / name
        assert path.exists(), f"{name} is gone: unlist it"
        assert sql_literals(path), f"{name} no longer writes SQL: unlist it"
