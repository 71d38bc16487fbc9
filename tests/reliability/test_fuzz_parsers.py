"""Property tests (hypothesis) of everything that reads text from people or files: whatever comes in, the
answer is a result or the parser's own clear error (naming what and where), never another exception.

The examples are derandomized (the same ones every run, so the suite stays deterministic); to explore further,
run with ``--hypothesis-seed=N`` after dropping ``derandomize``, or raise ``max_examples``."""

from __future__ import annotations

import datetime as dt
import string
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import SUBCOMMANDS, parse
from bot.gate import Gate, delivery_key, parseable
from kubesim.scenario import ScenarioError, load_paths
from kubewhy.adapters import describe
from kubewhy.adapters.snapshot_files import SnapshotFileError, read
from kubewhy.errors import KubewhyError, PlaybookError, UsageError
from kubewhy.expressions import Compiler
from kubewhy.models.target import parse_target
from kubewhy.playbooks.loader import bundled_dir, load_file

FUZZ = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
FILES = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

slack_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.lists(
    st.sampled_from(
        [
            "why",
            "status",
            "history",
            "-n",
            "--namespace",
            "--namespace=",
            "pod/x",
            "deploy/q1/api",
            "<!channel>",
            "`id`",
            ";",
            "q1",
            "",
            " ",
            "\n",
            "--incident",
            "x" * 300,
        ]
    ),
    max_size=8,
).map(" ".join)

# YAML documents shaped like the real ones, with values of any type in any place.
leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "title",
                    "kind",
                    "applies_to",
                    "checks",
                    "use",
                    "params",
                    "when",
                    "finding",
                    "evidence",
                    "fixes",
                    "severity",
                    "metadata",
                    "name",
                    "namespace",
                    "spec",
                    "status",
                    "items",
                    "apiVersion",
                    "steps",
                    "objects",
                    "containers",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


def mutated(path: Path) -> st.SearchStrategy[str]:
    """A real file with one line dropped, duplicated or replaced by junk."""
    lines = path.read_text(encoding="utf-8").splitlines()
    junk = st.sampled_from(
        [
            "",
            "  - ",
            ": :",
            "{",
            "]",
            "\t",
            "id: [",
            "  use: nope",
            "!!python/object:os.system",
            "checks: 3",
            "&a *a",
            "\x00",
        ]
    )
    return st.tuples(st.integers(0, max(len(lines) - 1, 0)), st.sampled_from(["drop", "dup", "junk"]), junk).map(
        lambda t: "\n".join(
            lines[: t[0]] + ({"drop": [], "dup": lines[t[0] : t[0] + 1] * 2, "junk": [t[2]]}[t[1]]) + lines[t[0] + 1 :]
        )
    )


def write(text: str | bytes, suffix: str) -> Path:
    handle = tempfile.NamedTemporaryFile("wb", suffix=suffix, delete=False)
    with handle:
        handle.write(text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text)
    return Path(handle.name)


@FUZZ
@given(slack_text)
def test_the_slash_command_parser_always_answers(text: str) -> None:
    cmd = parse(text)
    assert cmd.name in SUBCOMMANDS
    assert cmd.unknown is None or len(cmd.unknown) <= 40
    if cmd.error:
        assert len(cmd.error) < 200


@FUZZ
@given(st.text(max_size=300), st.none() | st.text(max_size=70))
def test_targets_parse_or_say_why(text: str, namespace: str | None) -> None:
    try:
        target = parse_target(text, namespace, "default")
    except UsageError as exc:
        assert str(exc)
        return
    assert target.name and len(target.name) <= 253
    assert set(target.name) <= set(string.ascii_lowercase + string.digits + "-.")


@FUZZ
@given(
    st.binary(max_size=400),
    st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""]),
    st.none() | st.text(max_size=20),
    st.none() | st.text(max_size=80),
)
def test_the_slack_gate_never_raises(
    body: bytes, content_type: str, timestamp: str | None, signature: str | None
) -> None:
    gate = Gate("secret")
    assert gate.verify(body, timestamp, signature) is not None  # no valid signature can be guessed
    assert isinstance(parseable(body, content_type), bool)
    assert delivery_key(body)


@FILES
@given(
    st.one_of(
        mutated(sorted(bundled_dir().glob("*.yaml"))[0]),
        st.lists(values, min_size=1, max_size=3).map(lambda docs: yaml.safe_dump_all(docs)),
        st.text(max_size=400),
    )
)
def test_the_playbook_loader_reports_file_and_line(text: str) -> None:
    path = write(text, ".yaml")
    try:
        playbooks, errors = load_file(path, Compiler())
    finally:
        path.unlink()
    for error in errors:
        assert isinstance(error, PlaybookError) and error.location.startswith(f"{path}:")


@FILES
@given(
    st.one_of(
        st.lists(values, min_size=1, max_size=3).map(lambda docs: yaml.safe_dump_all(docs)),
        st.text(max_size=400),
        mutated(Path(__file__).parents[1] / "kubesim" / "data" / "mini.yaml"),
    )
)
def test_the_scenario_loader_names_the_file(text: str) -> None:
    path = write(text, ".yaml")
    try:
        load_paths([path])
    except ScenarioError as exc:
        assert str(path) in str(exc)
    finally:
        path.unlink()


@FILES
@given(
    st.one_of(
        st.lists(values, min_size=1, max_size=3).map(lambda docs: yaml.safe_dump_all(docs)),
        st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
        st.text(max_size=300),
    )
)
def test_the_snapshot_reader_names_the_file(text: str) -> None:
    path = write(text, ".yaml")
    try:
        read([path])
    except (SnapshotFileError, KubewhyError) as exc:
        assert path.name in str(exc)
    finally:
        path.unlink()


DESCRIBE_LINES = [
    "Name:         web-1",
    "Namespace:    shop",
    "Status:       Running",
    "Containers:",
    "  app:",
    "    State:          Waiting",
    "      Reason:       CrashLoopBackOff",
    "    Last State:     Terminated",
    "      Exit Code:    137",
    "    Restart Count:  7",
    "Events:",
    "  Type     Reason   Age   From     Message",
    "  ----     ------   ----  ----     -------",
    "  Warning  BackOff  2m    kubelet  Back-off restarting",
    "Conditions:",
    "  Type  Status",
    "  Ready  False",
    "Kind: Node",
    "Labels:  a=b",
    "             c=d",
    "Volumes:",
    "  data:",
    "    Type:  PersistentVolumeClaim",
    "Ready:  True",
    "Limits:",
    "  memory:  128Mi",
    "",
]


@FUZZ
@given(st.lists(st.sampled_from(DESCRIBE_LINES) | st.text(max_size=40), max_size=30).map("\n".join))
def test_the_describe_reader_parses_or_says_where(text: str) -> None:
    try:
        objects = describe.parse(text, now=dt.datetime(2024, 6, 1, tzinfo=dt.UTC))
    except describe.DescribeError as exc:
        assert str(exc)
        return
    for obj in objects:
        assert isinstance(obj, dict) and "kind" in obj
