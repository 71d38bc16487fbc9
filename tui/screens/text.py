"""``d`` describe and ``y`` YAML of the selected object, read through the application (``Kubewhy.describe``/``get``)."""

from __future__ import annotations

from datetime import timedelta

from textual import work
from textual.app import ComposeResult
from textual.widgets import TextArea

from kubewhy.adapters.ports import ApiResource
from kubewhy.errors import KubewhyError
from kubewhy.models.target import Target

from ..data import CHANGES_SINCE
from .base import Base


def span(since: timedelta) -> str:
    """``2h``, ``30m``, ``45s``: how :changes names its window."""
    seconds = int(since.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class TextScreen(Base):
    def __init__(
        self, target: Target, what: str, *, resource: ApiResource | None = None, since: timedelta | None = None
    ) -> None:
        """``what``: ``describe``, ``yaml`` or ``changes`` (the core's change timeline of the last ``since``);
        ``resource``: a custom resource's, read by its path (the core does not model its kind)."""
        super().__init__()
        self.target, self.what, self.resource, self.window = target, what, resource, since
        self.title_text = f"{what} {target.ref}" + (f" (last {span(since)})" if since else "")

    def body(self) -> ComposeResult:
        yield TextArea("loading …", read_only=True, id="text", show_line_numbers=self.what == "yaml")

    def on_mount(self) -> None:
        self.focus_body(self.query_one("#text", TextArea))
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        session = self.tui.session
        try:
            if self.resource is not None:
                text = await session.resource_yaml(self.resource, self.target)
            elif self.what == "changes":
                text = "\n".join(await session.changes(self.target, self.window or CHANGES_SINCE))
            elif self.what == "yaml":
                text = await session.yaml_text(self.target)
            else:
                text = await session.describe(self.target)
        except KubewhyError as exc:
            text = f"could not read {self.target.ref}: {exc}"
        self.query_one("#text", TextArea).load_text(text)
