"""Issue 27's end-to-end test, through Slack (signed requests, the Slack double) and a simulator whose RBAC is
the API server's: the bot's own token may only read and impersonate the mapped people (what the Helm chart
grants). One fix's life, as an auditor would replay it:

1. an approver mapped to a Kubernetes user who lacks the right is refused by the API server's own RBAC (the
   access review is asked as them, and a dry run sent as them anyway is a 403 from the API server);
2. a changed object makes an approval stale: nothing is overwritten;
3. after an apply, the verify run posts "Resolved" for a fix that worked and "Still failing" for one that did not.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from bot import blocks
from kubesim import load as load_scenario
from kubesim.runner import RunningSim, run_in_thread
from kubesim.scenario import Identity as SimIdentity
from kubesim.server import SimOptions
from kubewhy.lifecycle import Identity
from kubewhy.models.target import parse_target
from tests.bot.test_security import APPROVER, ASKER, _answer, _apply_button, _modal, _submission
from tests.bot.test_slack_bot import CHANNEL, Bot, running_bot, text_of
from tests.kubesim.test_impersonation import SERVICE_ACCOUNT, grant

pytestmark = pytest.mark.asyncio


def _sre_may_patch_servicemonitors_in_q9(sim: RunningSim) -> None:
    """And the bot may read the Prometheus operator's objects, as the chart lets it."""
    rbac = "rbac.authorization.k8s.io/v1"
    reader = {
        "apiVersion": rbac,
        "kind": "ClusterRole",
        "metadata": {"name": "kubewhy-monitoring"},
        "rules": [{"apiGroups": ["monitoring.coreos.com"], "resources": ["*"], "verbs": ["get", "list", "watch"]}],
    }
    reads = {
        "apiVersion": rbac,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "kubewhy-monitoring"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "kubewhy-monitoring"},
        "subjects": [{"kind": "User", "name": SERVICE_ACCOUNT}],
    }
    role = {
        "apiVersion": rbac,
        "kind": "Role",
        "metadata": {"name": "sre-monitors", "namespace": "q9"},
        "rules": [{"apiGroups": ["monitoring.coreos.com"], "resources": ["servicemonitors"], "verbs": ["patch"]}],
    }
    binding = {
        "apiVersion": rbac,
        "kind": "RoleBinding",
        "metadata": {"name": "sre-monitors", "namespace": "q9"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sre-monitors"},
        "subjects": [{"kind": "Group", "name": "sre"}],
    }
    sim.control("apply", {"steps": [{"create": obj} for obj in (reader, reads, role, binding)]})


async def _verified(bot: Bot, message: dict[str, Any], posts: int = 1) -> str:
    """Approve the fix under ``message`` as APPROVER, run the verification that is due, and say what it posted
    (``posts``: the messages posted since the double's reset)."""
    modal = await _modal(bot, message)
    assert "Dry run accepted" in text_of(modal["blocks"]), text_of(modal["blocks"])
    await bot.interact(_submission(APPROVER, modal["private_metadata"]))
    applied = (await bot.double.wait_for("chat.postMessage", posts + 1))[-1]
    assert "applied" in text_of(applied["blocks"]), text_of(applied["blocks"])
    assert bot.deps.verifier is not None
    assert await bot.deps.verifier.run_once() == 1  # what its loop does once the settle window has passed
    posted = (await bot.double.wait_for("chat.postMessage", posts + 2))[-1]
    assert posted["channel"] == CHANNEL and posted["thread_ts"] == message["ts"]
    return text_of(posted["blocks"])


async def test_rbac_refuses_as_the_person_a_changed_object_is_stale_and_the_verify_run_says_what_happened(
    tmp_path: Path,
) -> None:
    scenario = load_scenario("workshop")
    scenario.users["kubesim"] = SimIdentity(SERVICE_ACCOUNT, read_only=True)  # the kubeconfig's token: the bot's
    sim = run_in_thread(scenario, SimOptions(timeline_mode="manual"), kubeconfig_out=tmp_path / "kubeconfig")
    grant(sim, users=("alice", "bob"), groups=("sre",))  # impersonate these, by name; sre may patch q4's Services
    _sre_may_patch_servicemonitors_in_q9(sim)
    identities = tmp_path / "identities.yaml"
    identities.write_text(f"{APPROVER}: {{user: alice, groups: [sre]}}\n{ASKER}: {{user: bob}}\n")
    env = {
        "KUBEWHY_SLACK_ALLOW": f"*={APPROVER},{ASKER}",
        "KUBEWHY_SLACK_IDENTITIES": str(identities),
        "KUBEWHY_SLACK_NAMESPACES": "q4,q9",
        "KUBEWHY_DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}",
        "KUBEWHY_AUDIT_FALLBACK": str(tmp_path / "audit-fallback.jsonl"),
    }
    service = {"kind": "Service", "namespace": "q4", "name": "web"}
    try:
        async with running_bot(sim, env) as bot:
            bot.deps.slack = dataclasses.replace(bot.deps.slack, verify_after=0.0)  # no settle window here

            # 1. bob is on the allowlist, but Kubernetes RBAC gives him nothing: the API server says no, as him.
            message = await _answer(bot, "why svc/web -n q4")
            sim.reset_stats()
            await bot.click(message, blocks.ACTION_APPLY, user=ASKER, value=_apply_button(message)["value"])
            said = (await bot.double.wait_for("chat.postEphemeral"))[-1]
            assert said["user"] == ASKER and "`bob`" in said["text"] and "may not patch services" in said["text"]
            assert sim.stats().get("create selfsubjectaccessreviews") == 1  # asked of the API server, as bob
            assert not bot.double.to("views.open") and not sim.stats().get("patch services")
            action = bot.deps.app.fix(json.loads(_apply_button(message)["value"])["f"])
            assert action is not None
            # Were kubewhy's own check skipped, the API server itself refuses the patch, as bob: a 403.
            forced = await bot.deps.app.dry_run(action, actor=ASKER, identity=Identity.person("bob"))
            assert not forced.ok and "forbidden" in forced.message.lower()
            assert sim.denied().get("patch services") == 1

            # 2. alice (group sre) is shown the dry run; the selector changes before she approves: stale.
            bot.double.reset()
            modal = await _modal(bot, message)
            assert "Dry run accepted" in text_of(modal["blocks"])
            bot.sim.control(
                "apply", {"steps": [{"patch": {"target": service, "merge": {"spec": {"selector": {"app": "x"}}}}}]}
            )
            await bot.interact(_submission(APPROVER, modal["private_metadata"]))
            refused = (await bot.double.wait_for("chat.postMessage"))[-1]
            assert "changed since the dry run" in text_of(refused["blocks"])
            live = sim.cluster.store.get(("", "services"), "q4", "web")
            assert live is not None and live["spec"]["selector"] == {"app": "x"}  # nothing was overwritten

            # 3a. a fresh look (a new dry run of the same proposal), then the fix: the selector is right, the pods
            # still unreachable (its targetPort is wrong too): the verify run says "Still failing".
            bot.double.reset()
            shown = await _verified(bot, message, posts=0)
            assert "Still failing" in shown and "service-no-endpoints still found on svc/q4/web" in shown, shown
            live = sim.cluster.store.get(("", "services"), "q4", "web")
            assert live is not None and live["spec"]["selector"] == {"app": "web"}  # applied, as alice

            # 3b. a fix that works: the ServiceMonitor selected again: "Resolved".
            bot.double.reset()
            shown = await _verified(bot, await _answer(bot, "why svc/api -n q9"))
            assert "Resolved" in shown and "servicemonitor-ignored no longer found on svc/q9/api" in shown, shown

            jobs = await (await bot.deps.app.verifications()).jobs()
            assert sorted(j.state for j in jobs) == ["failing", "resolved"]
            entries = await bot.deps.app.history(target=parse_target("svc/q4/web"), limit=50)
            events = [(e.actor, e.summary.split(":")[0]) for e in entries if e.kind == "fix_event"]
            assert (ASKER, "declined") in events and (APPROVER, "declined") in events  # RBAC, then stale
            assert (APPROVER, "applied") in events
            applied = next(e for e in entries if e.kind == "fix_event" and e.summary.startswith("applied"))
            assert '"acting_as": {"kind": "person", "name": "alice", "groups": ["sre"]}' in json.dumps(
                applied.details
            ), applied.details
            assert any(e.kind == "action" and e.summary.startswith("fix verified") for e in entries)
    finally:
        sim.stop()
