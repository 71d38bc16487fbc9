"""Settings are read once from an injectable environ plus flags; bad values are one-line errors naming the
variable; the database URL forms docs/audit.md documents are all normalised to the async drivers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kubewhy import cli
from kubewhy.settings import Flags, SettingsError, load, normalise_database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "given,expected",
    [
        ("sqlite:////var/lib/kubewhy/a.db", "sqlite+aiosqlite:////var/lib/kubewhy/a.db"),
        ("sqlite:///a.db", "sqlite+aiosqlite:///a.db"),
        ("sqlite://", "sqlite+aiosqlite://"),
        ("sqlite+aiosqlite:///a.db", "sqlite+aiosqlite:///a.db"),
        ("sqlite+pysqlite:///a.db", "sqlite+aiosqlite:///a.db"),
        ("postgresql://u:p@db:5432/audit", "postgresql+asyncpg://u:p@db:5432/audit"),
        ("postgres://u@db/audit", "postgresql+asyncpg://u@db/audit"),
        ("postgresql+asyncpg://u@db/audit", "postgresql+asyncpg://u@db/audit"),
        ("postgresql+psycopg2://u@db/audit", "postgresql+asyncpg://u@db/audit"),
    ],
)
def test_every_documented_database_url_form_gets_an_async_driver(given: str, expected: str) -> None:
    assert load({"KUBEWHY_DATABASE_URL": given}).audit.url == expected


def test_default_database_and_fallback_live_in_the_xdg_data_dir(tmp_path: Path) -> None:
    audit = load({"XDG_DATA_HOME": str(tmp_path)}).audit
    assert audit.url == f"sqlite+aiosqlite:///{tmp_path / 'kubewhy' / 'audit.db'}"
    assert audit.fallback_path == tmp_path / "kubewhy" / "audit-fallback.jsonl"
    home = load({"HOME": str(tmp_path / "home")}).audit
    assert home.url == f"sqlite+aiosqlite:///{tmp_path / 'home' / '.local' / 'share' / 'kubewhy' / 'audit.db'}"
    assert load({"KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "fb.jsonl")}).audit.fallback_path == tmp_path / "fb.jsonl"


def test_unsupported_database_names_the_variable_or_the_flag() -> None:
    with pytest.raises(SettingsError, match="KUBEWHY_DATABASE_URL.*mysql"):
        load({"KUBEWHY_DATABASE_URL": "mysql://u@db/audit"})
    with pytest.raises(SettingsError, match="--database-url"):
        load({}, Flags(database_url="audit.db"))
    with pytest.raises(SettingsError):
        normalise_database_url("nonsense", Path("."))


def test_flags_win_over_the_environment(tmp_path: Path) -> None:
    env = {
        "KUBECONFIG": "/env/kubeconfig",
        "KUBEWHY_CONTEXT": "env-ctx",
        "KUBEWHY_PROMETHEUS_URL": "http://env:9090",
        "KUBEWHY_DATABASE_URL": "sqlite:///env.db",
        "KUBEWHY_CHECK_TIMEOUT": "9",
        "KUBEWHY_PLAYBOOKS": "/env/pb",
    }
    from_env = load(env)
    assert (from_env.kube.kubeconfig, from_env.kube.context, from_env.prometheus.url, from_env.check_timeout) == (
        "/env/kubeconfig",
        "env-ctx",
        "http://env:9090",
        9.0,
    )
    s = load(
        env,
        Flags(
            kubeconfig="/flag/kc",
            context="flag-ctx",
            prometheus="discover",
            database_url="postgresql://u@h/d",
            check_timeout=2.0,
            playbooks=["/flag/pb"],
            no_audit=True,
        ),
    )
    assert (s.kube.kubeconfig, s.kube.context, s.prometheus.url, s.check_timeout) == (
        "/flag/kc",
        "flag-ctx",
        "discover",
        2.0,
    )
    assert s.audit.url == "postgresql+asyncpg://u@h/d" and not s.audit.enabled
    assert s.playbook_dirs == (Path("/env/pb"), Path("/flag/pb"))  # both: the flag adds to the variable


def test_prometheus_auth_and_tls_come_from_the_environment(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    prom = load(
        {
            "KUBEWHY_PROMETHEUS_URL": "https://prom:9090",
            "KUBEWHY_PROMETHEUS_TOKEN": "t0k",
            "KUBEWHY_PROMETHEUS_USER": "me",
            "KUBEWHY_PROMETHEUS_PASSWORD": "pw",
            "KUBEWHY_PROMETHEUS_CA": str(ca),
            "KUBEWHY_PROMETHEUS_TIMEOUT": "3.5",
        }
    ).prometheus
    assert (prom.url, prom.token, prom.basic_auth, prom.verify_tls, prom.timeout) == (
        "https://prom:9090",
        "t0k",
        ("me", "pw"),
        str(ca),
        3.5,
    )
    assert load({"KUBEWHY_PROMETHEUS_INSECURE": "yes"}).prometheus.verify_tls is False


@pytest.mark.parametrize(
    "env,variable",
    [
        ({"KUBEWHY_PROMETHEUS_TIMEOUT": "soon"}, "KUBEWHY_PROMETHEUS_TIMEOUT"),
        ({"KUBEWHY_PROMETHEUS_TIMEOUT": "0"}, "KUBEWHY_PROMETHEUS_TIMEOUT"),
        ({"KUBEWHY_PROMETHEUS_URL": "prom:9090"}, "KUBEWHY_PROMETHEUS_URL"),
        ({"KUBEWHY_PROMETHEUS_CA": "/nowhere/ca.pem"}, "KUBEWHY_PROMETHEUS_CA"),
        ({"KUBEWHY_PROMETHEUS_INSECURE": "maybe"}, "KUBEWHY_PROMETHEUS_INSECURE"),
        ({"KUBEWHY_IN_CLUSTER": "perhaps"}, "KUBEWHY_IN_CLUSTER"),
        ({"KUBEWHY_CHECK_TIMEOUT": "-1"}, "KUBEWHY_CHECK_TIMEOUT"),
        ({"KUBEWHY_DATABASE_URL": "oracle://x"}, "KUBEWHY_DATABASE_URL"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    env: dict[str, str], variable: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match=variable):
        load(env)
    snap = ROOT / "kubesim" / "scenarios" / "workshop" / "q01-app-crash.yaml"
    code = cli.main(["why", "pod/q1/app-7d4b9c6f5-x2x7k", "--snapshot", str(snap), "--no-audit"], environ=env)
    err = capsys.readouterr().err
    assert code == 2 and err.startswith(f"kubewhy: {variable}") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_only_the_settings_module_reads_the_process_environment() -> None:
    readers = []
    for package in ("kubewhy", "bot", "kubelab"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "kubewhy/settings.py":
                continue
            if re.search(r"os\.environ|os\.getenv|environ\.get\(", path.read_text(encoding="utf-8")):
                readers.append(rel)
    assert readers == []


def test_the_health_port_defaults_to_8080_and_is_checked() -> None:
    assert load({}).health_port == 8080
    assert load({"KUBEWHY_HEALTH_PORT": "9090"}).health_port == 9090
    with pytest.raises(SettingsError, match="KUBEWHY_HEALTH_PORT='80a'"):
        load({"KUBEWHY_HEALTH_PORT": "80a"})
