"""The import contracts of pyproject.toml (docs/architecture.md, "The layers") catch what they are meant to catch.

A contract that import-linter cannot apply keeps silently: a folder without ``__init__.py`` is invisible to it, a
module left out of a layers contract is in no layer. So this test copies the code to a temporary directory, adds
one forbidden import per contract there (in each root package, and in nested packages such as ``tui/screens`` and
``tui/widgets``), runs ``lint-imports`` once on the copy and checks that each contract reports its own injected
import. The real tree must keep every contract. Every contract in pyproject.toml needs an entry in ``INJECTED``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("kubewhy", "kubesim", "bot", "tui", "kubelab")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# contract id -> (importer, imported) pairs appended to the copy; each must be reported under that contract
INJECTED: dict[str, list[tuple[str, str]]] = {
    "core-alone": [("kubewhy.kinds", "tui")],
    "simulator-alone": [("kubesim.store", "kubewhy")],
    "front-ends-through-the-core": [("tui.widgets.table", "kubesim")],
    "front-ends-over-the-core": [("tui.screens.why", "bot"), ("kubewhy.selectors", "kubelab")],
    "core-layers": [
        ("kubewhy.models.target", "kubewhy.service"),  # a lower layer imports a higher one
        ("kubewhy.adapters.kube_live", "kubewhy.audit"),  # independent siblings
        ("kubewhy.watch.rules", "kubewhy.cli"),  # the core's two front-ends
        ("kubewhy.settings", "kubewhy.app"),
    ],
    "no-front-end-composes": [("bot.blocks", "kubewhy.compose"), ("tui.screens.home", "kubewhy.compose")],
    "kubernetes-adapter": [("kubelab.evaluate", "kubernetes")],
    "prometheus-adapter": [("kubewhy.checks.builtin", "prometheus_api_client")],
    "database-in-audit": [("tui.screens.why", "sqlalchemy")],
    "slack-in-bot": [("kubewhy.service", "slack_sdk")],
    "prometheus-client-in-health": [("bot.pager", "prometheus_client")],
    "textual-in-tui": [("kubewhy.cli.why", "textual")],
    "mcp-in-mcp": [("kubewhy.service", "mcp")],
}
UNLISTED = "kubewhy.unlisted_module"  # a new module of kubewhy/ given no layer: core-layers is exhaustive


def contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    found: list[dict[str, object]] = config["tool"]["importlinter"]["contracts"]
    return found


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "1000", "NO_COLOR": "1"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache", "--config", "pyproject.toml"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def sections(output: str, names: list[str]) -> dict[str, str]:
    """The report of each broken contract: from its underlined name to the next one."""
    broken = output.partition("Broken contracts")[2]
    starts = sorted((broken.index(f"{n}\n{'-' * len(n)}"), n) for n in names if f"{n}\n{'-' * len(n)}" in broken)
    return {
        name: broken[at : (starts[i + 1][0] if i + 1 < len(starts) else len(broken))]
        for i, (at, name) in enumerate(starts)
    }


def module_file(root: Path, module: str) -> Path:
    path = root.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def test_every_contract_has_an_injected_import() -> None:
    assert {str(c["id"]) for c in contracts()} == set(INJECTED)


def test_every_code_folder_is_a_package() -> None:
    """import-linter sees only packages: a folder of modules without ``__init__.py`` escapes every contract."""
    missing = [
        str(folder.relative_to(ROOT))
        for package in PACKAGES
        for folder in [ROOT / package, *(ROOT / package).rglob("*")]
        if folder.is_dir()
        and folder.name != "__pycache__"
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    ]
    assert missing == []


def test_the_architecture_page_lists_the_core_layers_as_the_contract_does() -> None:
    """docs/architecture.md's table of every module of kubewhy/, row by row, is the core-layers contract."""
    (layers,) = [c["layers"] for c in contracts() if c["id"] == "core-layers"]
    assert isinstance(layers, list)
    contract = [{m.strip().strip("()") for m in layer.replace(":", "|").split("|")} for layer in layers]
    page = (ROOT / "docs" / "architecture.md").read_text().partition("Every module of `kubewhy/`, by layer")[2]
    documented: list[set[str]] = []
    for line in page.partition("\n\n|")[2].split("\n\n")[0].splitlines()[2:]:
        layer, module = (cell.strip() for cell in line.split("|")[1:3])
        if layer:
            documented.append(set())
        documented[-1].add(module.strip("`").removesuffix(".py").removesuffix("/"))
    assert documented == contract


def test_the_tree_keeps_the_contracts_and_each_injected_import_breaks_its_own(tmp_path: Path) -> None:
    real = lint_imports(ROOT)
    assert real.returncode == 0, real.stdout + real.stderr

    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for pairs in INJECTED.values():
        for importer, imported in pairs:
            path = module_file(tmp_path, importer)
            assert path.exists(), f"{importer}: no such module to inject into"
            with path.open("a") as f:
                f.write(f"\nimport {imported}  # injected by tests/test_layers_enforced.py\n")
    module_file(tmp_path, UNLISTED).write_text('"""In no layer."""\n')

    copy = lint_imports(tmp_path)
    output = copy.stdout + copy.stderr
    assert copy.returncode == 1, output
    names = {str(c["id"]): str(c["name"]) for c in contracts()}
    reports = sections(output, list(names.values()))
    for contract_id, pairs in INJECTED.items():
        report = reports.get(names[contract_id])
        assert report is not None, f"{contract_id} was not broken:\n{output}"
        for importer, imported in pairs:
            assert f"{importer} -> {imported} (l." in report, f"{contract_id} missed {importer} -> {imported}"
    assert f"- {UNLISTED}" in reports[names["core-layers"]], "core-layers is not exhaustive"
