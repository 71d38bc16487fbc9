"""The kubelet sampler's cAdvisor parse: three families kept, as the answer streams in line by line, whatever
else a real kubelet's exposition holds (timestamps, escapes, other families, the pod's own cgroup, the pause
container, bytes that are not UTF-8 in a family it skips)."""

from __future__ import annotations

import time

import pytest

from kubewhy.adapters.kubelet_stream import Counters, parse_lines, volumes_of

ID = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-{}.scope"


def _line(family: str, value: str, container: str = "app", pod: str = "web-1", cid: str = "a1") -> bytes:
    labels = f'container="{container}",id="{ID.format(cid)}",image="r/app:1",name="{cid}",namespace="shop",pod="{pod}"'
    return f"{family}{{{labels}}} {value} 1733580000000".encode()


def test_only_the_three_families_are_kept_per_container() -> None:
    lines = [
        b"# HELP container_cpu_cfs_periods_total Number of elapsed enforcement period intervals.",
        b"# TYPE container_cpu_cfs_periods_total counter",
        _line("container_cpu_cfs_periods_total", "120"),
        _line("container_cpu_cfs_throttled_periods_total", "30"),
        _line("container_cpu_cfs_throttled_seconds_total", "4.5"),  # same prefix, not needed
        _line("container_memory_working_set_bytes", "1.5e+08"),
        _line("container_memory_usage_bytes", "2e+08"),
        _line("container_memory_working_set_bytes", "9e+08", container=""),  # the pod's own cgroup
        _line("container_cpu_cfs_periods_total", "7", container="POD"),  # the pause container
        b'container_fs_usage_bytes{container="app",device="\xff\xfe",namespace="shop",pod="web-1"} 1',
        _line("container_cpu_cfs_periods_total", "NaNx", pod="web-2"),  # not a number: left out
        b"",
    ]
    assert parse_lines(lines) == {
        ("shop", "web-1", "app"): Counters(periods=120.0, throttled=30.0, working_set=1.5e8, instance=ID.format("a1"))
    }


def test_escaped_label_values_are_read_back() -> None:
    line = b'container_memory_working_set_bytes{container="a\\"b",namespace="n\\\\s",pod="p\\nq"} 5'
    assert list(parse_lines([line])) == [("n\\s", "p\nq", 'a"b')]


def test_a_kubelet_trickling_its_answer_past_the_deadline_is_a_timeout() -> None:
    def slow() -> object:
        for i in range(10_000):
            yield _line("container_cpu_cfs_periods_total", str(i), pod=f"p-{i}")

    with pytest.raises(TimeoutError):
        parse_lines(slow(), deadline=time.monotonic() - 1)  # type: ignore[arg-type]


def test_a_busy_nodes_exposition_keeps_every_container() -> None:
    families = [f"container_other_{i}_total" for i in range(40)] + [
        "container_cpu_cfs_periods_total",
        "container_cpu_cfs_throttled_periods_total",
        "container_memory_working_set_bytes",
    ]
    lines = [_line(f, str(c + 1), container=f"c{c}", cid=f"{c:064x}") for f in families for c in range(110)]
    parsed = parse_lines(iter(lines))
    assert len(parsed) == 110 and all(c.periods and c.throttled and c.working_set for c in parsed.values())


def test_volumes_come_from_the_summary_apis_claims() -> None:
    doc = {
        "pods": [
            {
                "volume": [
                    {"name": "tmp", "usedBytes": 1, "capacityBytes": 2},  # no claim: not a PVC
                    {"usedBytes": 90, "capacityBytes": 100, "pvcRef": {"namespace": "db", "name": "data-0"}},
                ]
            },
            {"volume": [{"usedBytes": 5, "capacityBytes": 10, "availableBytes": 4, "pvcRef": {"name": "x"}}]},
        ]
    }
    found = volumes_of(doc)
    assert found[("db", "data-0")].available == 10 and found[("", "x")].available == 4
    assert volumes_of([]) == {} and len(found) == 2
