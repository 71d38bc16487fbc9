"""Issue 28's runbooks: links configured per playbook (finding id) or per namespace (``KUBEWHY_RUNBOOKS``) appear on
the watchers' page and in its diagnosis, next to an alert's own ``runbook_url``; a bad file stops the start with
file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubewhy.settings import RunbookSettings, SettingsError, load
from tests.watch.conftest import Cluster, crash_looping, text_of

from .test_receiver import stack

SHOP = "https://wiki.example/shop-oncall"


def test_links_in_order_each_once() -> None:
    books = RunbookSettings(playbooks=(("oom-killed", "https://w/oom"),), namespaces=(("shop", SHOP),))
    assert books.links("shop", ["oom-killed", "x"], first=["https://alert"]) == [
        "https://alert",
        "https://w/oom",
        SHOP,
    ]
    assert books.links("prod", []) == []
    assert books.links("shop", [], first=[SHOP]) == [SHOP]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("namespaces:\n  shop: https://ok\n  prod: javascript:alert(1)\n", ":3: namespaces.prod"),
        ("playbooks: [a, b]\n", ":1: playbooks"),
        ("namespaces: {shop: https://ok}\nteams: {}\n", ":2: unknown key 'teams'"),
        ("namespaces: {shop: https://ok\n", ":1:"),
    ],
)
def test_a_bad_file_names_its_line(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "runbooks.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as failure:
        load({"KUBEWHY_RUNBOOKS": str(path)})
    assert f"{path}{where}" in str(failure.value)


async def test_the_page_and_its_diagnosis_carry_the_runbook(cluster: Cluster, tmp_path: Path) -> None:
    books = tmp_path / "runbooks.yaml"
    books.write_text(f"namespaces:\n  shop: {SHOP}\n")
    await cluster.create_pod("shop", "web-5c8d7f9b6d-fghij", "node-2", owner="web", status=crash_looping(6))
    async with stack(cluster, tmp_path, KUBEWHY_RUNBOOKS=str(books)) as s:
        await s.pages.wait(lambda: len(s.pages.posts()) == 1 and len(s.pages.replies()) == 1, what="page, thread")
        assert f"<{SHOP}|" in text_of(s.pages.posts()[0])
        assert f"<{SHOP}|" in text_of(s.pages.replies()[0])  # the diagnosis in the thread
        # and so does the answer to /k8s why
        await s.bot.command("why pod/web-5c8d7f9b6d-fghij -n shop")
        await s.pages.wait(
            lambda: any("Why pod/shop/web" in text_of(u) for u in s.pages.updates()), what="the /k8s why answer"
        )
        answer = next(u for u in s.pages.updates() if "Why pod/shop/web" in text_of(u))
        assert f"<{SHOP}|" in text_of(answer)
