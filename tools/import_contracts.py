"""Import-linter contracts of our own: no module uses another module's ``_private`` name
(``PrivateNamesContract``), and the apps use no Django signals (``NoSignalsContract``).

import-linter's built-in contracts look at which modules import which; they cannot see *what*
is imported. This one reads the source of every module of the root packages and reports

- ``from x import _name`` (relative imports included), and
- ``x._name`` where ``x`` is a name bound to another module of the project,

unless ``x`` is the module itself. Dunder names and Django's model API (``_meta``,
``_default_manager``, ...), which is underscored but public, are allowed.

``ignore_names`` lists known debts as ``module._name``. Like import-linter's own
``ignore_imports``, an entry that no longer matches anything breaks the contract, so the list
can only shrink.

Configured in ``pyproject.toml`` (``contract_types``); ``lint-imports`` puts the working
directory on ``sys.path``, so it finds this module when run from the repository root.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output

# Underscored by Django but meant to be used.
PUBLIC_UNDERSCORED = frozenset({"_meta", "_default_manager", "_base_manager", "_state"})


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name not in PUBLIC_UNDERSCORED


def source_of(module: str) -> Path | None:
    """The file of ``module``, found without importing anything.

    Importing would run package ``__init__`` modules (``oms`` starts Celery); the root
    package's location from ``find_spec`` is enough to place every submodule.
    """
    top, *rest = module.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations))).joinpath(*rest)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def resolve_from(module: str, *, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from ... import`` statement reads from."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, *([node.module] if node.module else [])])


@dataclass
class PrivateUses:
    """What one module takes from other modules' private names."""

    module: str
    modules: frozenset[str]
    roots: frozenset[str]
    found: list[tuple[int, str, str]] = field(default_factory=list)  # line, verb, target

    def scan(self, tree: ast.Module, *, is_package: bool) -> None:
        bound: dict[str, str] = {}  # local name -> project module (or module.attribute)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = resolve_from(self.module, is_package=is_package, node=node)
                if source.split(".")[0] not in self.roots:
                    continue
                for alias in node.names:
                    bound[alias.asname or alias.name] = f"{source}.{alias.name}"
                    if is_private(alias.name) and source != self.module:
                        self.found.append((node.lineno, "imports", f"{source}.{alias.name}"))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in self.modules:
                        top = alias.name.split(".")[0]
                        bound[alias.asname or top] = alias.name if alias.asname else top
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and is_private(node.attr):
                owner = self.module_named(node.value, bound)
                if owner is not None and owner != self.module:
                    self.found.append((node.lineno, "uses", f"{owner}.{node.attr}"))

    def module_named(self, node: ast.expr, bound: dict[str, str]) -> str | None:
        """The project module an expression such as ``placement`` or ``orders.placement``
        stands for, if it stands for one."""
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in bound:
            return None
        name = ".".join([bound[node.id], *parts])
        return name if name in self.modules else None


class PrivateNamesContract(Contract):
    """No module imports or uses another module's ``_private`` name."""

    ignore_names = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        # The field holds the parsed list once the contract is built.
        ignored: set[str] = set(cast("list[str] | None", self.ignore_names) or [])
        modules = frozenset(graph.modules)
        roots = frozenset(name.split(".")[0] for name in modules)
        problems: list[str] = []
        matched: set[str] = set()
        for module in sorted(modules):
            path = source_of(module)
            if path is None:
                continue
            uses = PrivateUses(module=module, modules=modules, roots=roots)
            uses.scan(
                ast.parse(path.read_text(encoding="utf-8")), is_package=path.stem == "__init__"
            )
            for line, verb, target in uses.found:
                if target in ignored:
                    matched.add(target)
                else:
                    problems.append(f"{module}:{line} {verb} {target}")
        problems.extend(
            f"{name} is listed in ignore_names but no longer used: remove it"
            for name in sorted(ignored - matched)
        )
        return ContractCheck(
            kept=not problems,
            metadata={"problems": problems},
            ignored_import_count=len(matched),
        )

    def render_broken_contract(self, check: ContractCheck) -> None:
        for problem in check.metadata["problems"]:
            output.print_error(f"- {problem}", bold=False)
        output.new_line()


# Django's signal machinery: a receiver registered at import time is a hidden call from one
# app into another.
SIGNAL_MODULES = ("django.dispatch", "django.db.models.signals", "django.core.signals")


def signal_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """The lines of ``tree`` that import Django's signal machinery, with what they import."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.startswith(SIGNAL_MODULES):
                found.append((node.lineno, name))
                break
    return found


class NoSignalsContract(Contract):
    """The source packages never use Django signals: a workflow that touches two apps lives
    in the higher one and calls the lower one (docs/architecture.md, "Layers").

    import-linter sees external packages only as a whole (``django``), so this contract
    reads the sources, like the private-names one."""

    source_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        sources = tuple(cast("list[str]", self.source_modules))
        problems: list[str] = []
        for module in sorted(graph.modules):
            if not any(module == root or module.startswith(f"{root}.") for root in sources):
                continue
            path = source_of(module)
            if path is None:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            problems.extend(
                f"{module}:{line} imports {name}" for line, name in signal_imports(tree)
            )
        return ContractCheck(kept=not problems, metadata={"problems": problems})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for problem in check.metadata["problems"]:
            output.print_error(f"- {problem}", bold=False)
        output.new_line()
