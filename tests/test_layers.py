"""The layers hold: imports run one way, dvsync (app) > flows > connectors > rules > schemas, with
no exceptions list, and no two files import each other (directly or round a longer circle).

Every import counts, at module level or inside a function: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["schemas", "rules", "connectors", "flows", "dvsync"]  # bottom floor first


def _modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for path in (ROOT / layer).rglob("*.py"):
            if "migrations" in path.parts:
                continue  # alembic's scripts are loaded by alembic, not imported
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, module: str, known: dict[str, Path]) -> set[str]:
    """Project modules imported by ``path`` (resolved to the longest known module name)."""
    out: set[str] = set()
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module and not module.startswith(name + "."):
                out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    known = _modules()
    return {m: _imports(p, m, known) for m, p in known.items()}


def _layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def test_imports_run_one_way() -> None:
    upward = sorted(f"{m} -> {d}" for m, deps in _graph().items() for d in deps if _layer(d) > _layer(m))
    assert not upward, "imports from a lower floor to a higher one:\n" + "\n".join(upward)


def test_no_files_import_each_other() -> None:
    graph = _graph()
    # A package's __init__ re-exporting its modules is not a circle with them.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    cycles, state, stack = [], {}, []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == 1:
                cycles.append(" -> ".join([*stack[stack.index(d) :], d]))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
    assert not cycles, "files that import each other:\n" + "\n".join(cycles)


def test_the_contract_fails_on_a_new_upward_import(tmp_path: Path) -> None:
    """The check itself: an import from schemas/ up to rules/ is caught."""
    path = ROOT / "schemas" / "contract.py"
    known = _modules()
    fake = tmp_path / "x.py"
    fake.write_text("from rules import findings\n", encoding="utf-8")
    deps = _imports(fake, "schemas.x", known)
    assert "rules.findings" in deps and _layer("rules.findings") > _layer("schemas.x")
    assert path.exists()


def test_settings_are_read_in_one_place() -> None:
    """Every DVSYNC_* setting is read from the environment by schemas/settings.py alone."""
    import re

    read = re.compile(r"""os\.(environ\.get\(|environ\[|getenv\()\s*["']?(DVSYNC_|ENV_)""")
    found = []
    for path in _modules().values():
        if path == ROOT / "schemas" / "settings.py":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if read.search(line) and "] =" not in line and "dvsync-env" not in line:
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "settings read outside schemas/settings.py:\n" + "\n".join(found)
