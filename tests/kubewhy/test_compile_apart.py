"""A long-lived process has its cold playbook cache filled by a child (kubewhy/playbooks/warm.py): it reads every
playbook back compiled and never imports the pydantic schema itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from kubewhy.compose import build_catalog
from kubewhy.settings import load

settings = load({"XDG_CACHE_HOME": sys.argv[1], "KUBEWHY_PLAYBOOKS": sys.argv[2]})
warnings = []
catalog = build_catalog(settings, warnings, long_lived=sys.argv[3] == "long")
print(json.dumps({
    "schema": "kubewhy.models.playbook_format" in sys.modules,
    "ids": sorted(p.id for p in catalog.playbooks),
    "warnings": warnings,
}))
"""

BROKEN = "apiVersion: kubewhy/v1\nkind: Playbook\nid: broken\nchecks: [\n"


def probe(cache: Path, extra: Path, mode: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(cache), str(extra), mode],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answer: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return answer


def test_a_cold_cache_is_filled_by_a_child_and_the_schema_stays_out(tmp_path: Path) -> None:
    extra = tmp_path / "playbooks"
    extra.mkdir()
    plain = probe(tmp_path / "plain-cache", extra, "short")  # compiled here, as a short-lived process does
    assert plain["schema"] is True
    long = probe(tmp_path / "cache", extra, "long")
    assert long["schema"] is False
    assert long["ids"] == plain["ids"] and len(long["ids"]) >= 40  # type: ignore[arg-type]
    assert long["warnings"] == plain["warnings"] == []


def test_a_broken_file_is_still_reported_with_its_line(tmp_path: Path) -> None:
    extra = tmp_path / "playbooks"
    extra.mkdir()
    (extra / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    long = probe(tmp_path / "cache", extra, "long")
    warnings = long["warnings"]
    assert isinstance(warnings, list) and len(warnings) == 1
    assert "broken.yaml:" in warnings[0]
