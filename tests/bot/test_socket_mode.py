"""Socket Mode end to end, locally: the Bolt app opens a WebSocket to the Slack double (no public URL),
receives a slash command envelope, acknowledges it, and answers through the Web API."""

from __future__ import annotations

from pathlib import Path

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.app import build_app
from bot.deps import BotDeps
from kubewhy.app import Kubewhy
from kubewhy.settings import load
from tests.bot.slack_double import SlackDouble


async def test_slash_command_over_socket_mode(start_sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim = start_sim("workshop/q05-statefulset-pvc-full")
    double = SlackDouble()
    api = await double.start()
    settings = load(
        {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-test",
            "KUBEWHY_SLACK_API_URL": api,
            "KUBECONFIG": str(sim.kubeconfig),
            "KUBEWHY_NO_AUDIT": "1",
        }
    )
    assert settings.slack.mode == "socket"
    kubewhy = Kubewhy(settings, source="slack")
    await kubewhy.open()
    deps = BotDeps.of(kubewhy)
    app = build_app(deps)
    handler = AsyncSocketModeHandler(app, settings.slack.app_token)
    try:
        await handler.connect_async()
        await double.wait_for("socket.hello")
        await double.send_envelope(
            "slash_commands",
            {
                "team_id": "T0001",
                "channel_id": "C0OPS",
                "user_id": "U0ONCALL",
                "command": "/k8s",
                "text": "why db-0 -n q5",
                "response_url": f"{double.url}/response/1",
                "trigger_id": "1.2.3",
                "api_app_id": "A0KUBEWHY",
            },
        )
        ack = (await double.wait_for("socket.ack"))[0]
        assert ack["envelope_id"] == "env-1"
        update = (await double.wait_for("chat.update"))[0]
        assert "statefulset" in str(update["blocks"]).lower() and "No space left on device" in str(update["blocks"])
        assert double.to("apps.connections.open")  # the app asked Slack where to connect, with its app token
        # the verify-after-fix loop runs in Socket Mode too (started by the first request: no start-up hook)
        assert deps.verifier is not None and deps.verifier._task is not None and not deps.verifier._task.done()
    finally:
        if deps.verifier is not None:
            await deps.verifier.stop()
        await handler.close_async()
        await kubewhy.close()
        await double.stop()
