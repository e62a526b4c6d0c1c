"""Every hook in `jobframe.hookspecs` works from a plugin and has a `test_hook_<name>` test."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pytest

import jobframe
import jobframe.arguments
import jobframe.global_id
import jobframe.serializers
from jobframe import hookspecs, plugins
from jobframe.backend.adapter import QueueAdapter
from jobframe.cli import main
from jobframe.errors import SerializationError
from jobframe.hookspecs import hookimpl
from jobframe.plugins import JobframePluginWarning
from jobframe.testing import JobsHelper

TESTS = Path(__file__).parent


def hookspec_names() -> set[str]:
    return {name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "jobframe_spec")}


def test_every_hookspec_has_a_test() -> None:
    # As datasette does: a new hook without a `test_hook_<name>` test fails here.
    source = "\n".join(path.read_text() for path in TESTS.rglob("test_*.py"))
    specs = hookspec_names()
    tested = {
        next((spec for spec in specs if name.startswith(spec)), name)
        for name in re.findall(r"^def test_hook_(\w+)\(", source, re.MULTILINE)
    }

    assert specs == {"register_adapters", "register_serializers", "register_locators",
                     "register_commands", "jobframe_current_context",
                     "jobframe_apply_context"}  # fmt: skip
    assert tested == specs


class EchoAdapter(QueueAdapter):
    def enqueue(self, job: Any) -> None:
        pass

    def enqueue_at(self, job: Any, timestamp: Any) -> None:
        pass


class AdapterPlugin:
    @hookimpl
    def register_adapters(self, register: Any) -> None:
        register("echo", EchoAdapter)
        register("echo-lazy", f"{__name__}:EchoAdapter")


def test_hook_register_adapters() -> None:
    with plugins.fresh_manager(entry_points=False):
        plugins.register_plugin(AdapterPlugin())

        factories = plugins.adapter_factories()

        assert factories["echo"] is EchoAdapter
        assert isinstance(factories["echo-lazy"](), EchoAdapter)


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class PointSerializer(jobframe.ObjectSerializer[Point]):
    klass = Point
    name = "tests.Point"

    def serialize(self, obj: Point) -> Any:
        return [obj.x, obj.y]

    def deserialize(self, data: Any) -> Point:
        return Point(*data)


class SerializerPlugin:
    @hookimpl
    def register_serializers(self, register: Any) -> None:
        register(PointSerializer)


def test_hook_register_serializers() -> None:
    with plugins.fresh_manager(entry_points=False):
        plugins.ensure_loaded()
        with pytest.raises(SerializationError, match="Point"):
            jobframe.arguments.serialize((Point(1, 2),), {})
        plugins.register_plugin(SerializerPlugin())
        try:
            args, kwargs = jobframe.arguments.serialize((Point(1, 2),), {"at": Point(3, 4)})

            assert jobframe.arguments.deserialize(args, kwargs) == (
                [Point(1, 2)],
                {"at": Point(3, 4)},
            )
        finally:
            jobframe.serializers.unregister(PointSerializer)


@dataclasses.dataclass(frozen=True)
class Widget:
    id: int


class WidgetLocator:
    """A locator over an in-memory table of widgets."""

    rows = {7: Widget(7)}

    def can_locate(self, model_name: str) -> bool:
        return model_name == "Widget"

    def locate(self, gid: Any) -> Widget:
        return self.rows[int(gid.model_id)]

    def global_id_parts(self, model: Any) -> tuple[str, str] | None:
        return ("Widget", str(model.id)) if isinstance(model, Widget) else None


def test_hook_register_locators() -> None:
    locator = WidgetLocator()

    class LocatorPlugin:
        @hookimpl
        def register_locators(self, register: Any) -> None:
            register(locator)

    with plugins.fresh_manager(entry_points=False):
        plugins.ensure_loaded()
        plugins.register_plugin(LocatorPlugin())
        try:
            gid = jobframe.global_id.identify(Widget(7))

            assert gid is not None and str(gid).endswith("/Widget/7")
            assert jobframe.global_id.locate(str(gid)) is WidgetLocator.rows[7]
        finally:
            jobframe.global_id.unregister_locator(locator)


class HelloPlugin:
    @hookimpl
    def register_commands(self, cli: Any) -> None:
        parser = cli.add_parser("hello", help="say hello")
        parser.add_argument("--name", default="world")
        parser.set_defaults(func=self.run)

    def run(self, args: argparse.Namespace) -> int:
        print(f"hello, {args.name}")
        return 3


def test_hook_register_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with plugins.fresh_manager(entry_points=False):
        plugins.register_plugin(HelloPlugin())

        assert main(["hello", "--name", "jobs"]) == 3
        assert capsys.readouterr().out == "hello, jobs\n"
        assert main(["--help"]) == 0
        assert "say hello" in capsys.readouterr().out


def test_hook_register_commands_cannot_take_a_built_in_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Hijack:
        @hookimpl
        def register_commands(self, cli: Any) -> None:
            cli.add_parser("plugins", help="mine now")

    with plugins.fresh_manager(entry_points=False):
        plugins.register_plugin(Hijack(), name="hijack")
        with pytest.warns(JobframePluginWarning, match=r"'hijack'.*'plugins' already exists"):
            assert main(["generate", "--help"]) == 0
        assert "mine now" not in capsys.readouterr().out
        [failure] = plugins.failures()
        assert failure.hook == "register_commands"


region: ContextVar[str | None] = ContextVar("region", default=None)


class RegionJob(jobframe.Job):
    def perform(self) -> str | None:
        return region.get()


class RegionPlugin:
    """Carries a context variable from the enqueuing code to the job (see test_job_context.py)."""

    @hookimpl
    def jobframe_current_context(self) -> Mapping[str, Any] | None:
        return {"region": region.get()}

    @hookimpl
    def jobframe_apply_context(
        self, context: Mapping[str, Any]
    ) -> contextlib.AbstractContextManager[None]:
        @contextlib.contextmanager
        def applied() -> Iterator[None]:
            token = region.set(context["region"])
            try:
                yield
            finally:
                region.reset(token)

        return applied()


def test_hook_jobframe_current_context(jobs: JobsHelper) -> None:
    with plugins.fresh_manager():
        plugins.register_plugin(RegionPlugin())
        token = region.set("eu-west")
        try:
            job = RegionJob.perform_later()
        finally:
            region.reset(token)

    assert job.captured_context == {"region": "eu-west"}
    assert jobs.enqueued_jobs[0].payload["context"] == {"region": "eu-west"}


def test_hook_jobframe_apply_context(jobs: JobsHelper) -> None:
    with plugins.fresh_manager():
        plugins.register_plugin(RegionPlugin())
        token = region.set("eu-west")
        try:
            RegionJob.perform_later()
        finally:
            region.reset(token)
        loaded = jobframe.Job.deserialize(jobs.enqueued_jobs[0].payload)

        assert loaded.perform_now() == "eu-west"
        assert region.get() is None
