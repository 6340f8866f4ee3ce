"""The direction of imports between our packages (issue 10's target shape), read from the source with `ast`.

Bottom to top: programme -> support -> store -> repositories -> service -> adapters (cards, mailers,
teams_bot, manifest) -> surfaces and cli -> app.py, the composition root. Every import counts,
including those inside functions; only a script's `if __name__ == "__main__":` block does not (it
runs the module as a program, it is not something the module depends on).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "programme",
    "support",
    "store",
    "repositories",
    "service",
    "cards",
    "mailers",
    "teams_bot",
    "manifest",
    "surfaces",
    "cli",
)
OURS = frozenset({*PACKAGES, "app"})

# What each package may import of ours (besides itself); None: anything.
MAY_IMPORT: dict[str, frozenset[str] | None] = {
    "programme": frozenset(),
    "support": frozenset({"programme"}),
    "store": frozenset({"support", "programme"}),
    "repositories": frozenset({"store", "support", "programme"}),
    "service": frozenset({"repositories", "store", "support", "programme"}),
    "cards": frozenset({"service", "support", "programme"}),
    "mailers": frozenset({"support", "programme"}),
    "manifest": frozenset({"support", "programme"}),
    # An adapter over botbuilder: it knows activities, never the use cases or the Teams surface.
    "teams_bot": frozenset({"support", "programme"}),
    # The Teams routing table: runs use cases, renders cards, and implements the bot's TurnHandler
    # protocol, so of teams_bot it may import that protocol alone (test below), never botbuilder's side.
    "surfaces": frozenset({"service", "cards", "teams_bot", "support", "programme"}),
    "cli": OURS - {"surfaces", "cli"},
    "app": None,
}
# The one module of teams_bot the surfaces may import: the protocol the bot is written against.
SURFACES_MAY_IMPORT_OF_TEAMS_BOT = frozenset({"teams_bot.handler"})


def _package(path: Path) -> str:
    relative = path.relative_to(ROOT)
    return "app" if relative == Path("app.py") else relative.parts[0]


def _is_main_guard(node: ast.stmt) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def imported_packages(path: Path) -> set[str]:
    """Our top-level packages that `path` imports, at module level or in functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    pending: list[ast.AST] = [n for n in tree.body if not _is_main_guard(n)]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        pending.extend(ast.iter_child_nodes(node))
    return found & OURS


def our_modules() -> list[Path]:
    """app.py and every module of our packages."""
    modules = [ROOT / "app.py"]
    for package in PACKAGES:
        modules += sorted((ROOT / package).rglob("*.py"))
    return modules


def test_every_package_is_known() -> None:
    """A new top-level package gets its place in the layers here before anything else."""
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert on_disk <= set(PACKAGES), on_disk - set(PACKAGES)


@pytest.mark.parametrize("path", our_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    package = _package(path)
    allowed = MAY_IMPORT[package]
    if allowed is None:
        return
    name = str(path.relative_to(ROOT))
    wrong = imported_packages(path) - allowed - {package}
    assert not wrong, f"{name} ({package}) imports {sorted(wrong)}"


def imported_modules(path: Path) -> set[str]:
    """The full dotted names of the modules `path` imports from (`from a.b import c` gives `a.b`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "surfaces").rglob("*.py")), ids=lambda p: p.name)
def test_surfaces_use_only_the_bots_protocol(path: Path) -> None:
    of_teams_bot = {m for m in imported_modules(path) if m.split(".")[0] == "teams_bot"}
    assert of_teams_bot <= SURFACES_MAY_IMPORT_OF_TEAMS_BOT, sorted(of_teams_bot)


def test_no_cycles_between_packages() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in our_modules():
        package = _package(path)
        edges[package] |= imported_packages(path) - {package}
    cycles = []
    for start in edges:
        # Depth-first from `start`: reaching it again is a cycle.
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start:
                    cycles.append(" -> ".join([*trail, start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*trail, nxt]))
    assert not cycles, cycles


def test_the_checker_sees_function_level_imports_and_skips_main_guards(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import programme.model\n"
        "def f():\n    from service.outbox import Outbox\n"
        "if __name__ == '__main__':\n    from cli.main import main\n"
    )
    assert imported_packages(module) == {"programme", "service"}
