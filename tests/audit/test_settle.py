"""The settle window per playbook (issue 27: "after a settle window (per playbook, 2 minutes by default), the
diagnosis runs again"): a playbook's ``settle`` decides when its fix is verified; without it the deployment's
default does; a bad value is a clear error naming the file and line; the compile cache keeps it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kubesim import load as scenario
from kubewhy.app import Kubewhy
from kubewhy.playbooks.loader import bundled_dir, load_dirs
from kubewhy.settings import Flags, load

BUNDLED = (bundled_dir() / "app-crash.yaml").read_text()


def _user_playbook(directory: Path, settle: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = BUNDLED.replace("id: app-crash", "id: slow-settling-crash", 1)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("caused_by:"))  # loaded alone
    assert "id: slow-settling-crash" in text
    path = directory / "slow.yaml"
    path.write_text(text.rstrip("\n") + f"\nsettle: {settle}\n")
    return path


async def test_a_playbooks_settle_window_decides_when_its_fix_is_verified(tmp_path: Path) -> None:
    _user_playbook(tmp_path / "pb", "600")
    env = {"KUBEWHY_PLAYBOOKS": str(tmp_path / "pb"), "HOME": str(tmp_path)}
    snapshots = tuple(str(p) for p in scenario("workshop/q01-app-crash").sources)
    async with Kubewhy(load(env, Flags(snapshot=snapshots)), audit=False) as app:
        default = timedelta(minutes=2)
        assert app.settle_window("slow-settling-crash", default) == timedelta(minutes=10)
        assert app.settle_window("app-crash", default) == default  # no settle: the deployment's default
        assert app.settle_window("no-such-playbook", default) == default


def test_the_compile_cache_keeps_the_settle_window(tmp_path: Path) -> None:
    _user_playbook(tmp_path / "pb", "90")
    for _ in range(2):  # compiled, then read back from the cache
        catalog = load_dirs([tmp_path / "pb"], include_bundled=False, cache_dir=tmp_path / "cache")
        playbook = catalog.by_id("slow-settling-crash")
        assert playbook is not None and playbook.settle == 90 and not catalog.errors
    assert list((tmp_path / "cache").iterdir())  # the second load came from the cache


def test_a_bad_settle_window_is_a_clear_error(tmp_path: Path) -> None:
    path = _user_playbook(tmp_path / "pb", "3")
    catalog = load_dirs([tmp_path / "pb"], include_bundled=False)
    assert catalog.by_id("slow-settling-crash") is None
    [error] = catalog.errors
    line = len(path.read_text().splitlines())
    assert str(error).startswith(f"{path}:{line}") and "settle" in str(error), str(error)
