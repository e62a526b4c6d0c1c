"""The plugin manager: entry points, broken plugins, adapter names, plugins registered in code."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jobframe import plugins
from jobframe.backend.adapter import QueueAdapter
from jobframe.cli import main
from jobframe.errors import ConfigurationError
from jobframe.hookspecs import hookimpl
from jobframe.plugins import JobframePluginWarning

GOOD_PLUGIN = """
from jobframe.hookspecs import hookimpl
from jobframe.backend.adapter import QueueAdapter


class GoodAdapter(QueueAdapter):
    name = "good"

    def enqueue(self, job):
        pass

    def enqueue_at(self, job, timestamp):
        pass


@hookimpl
def register_adapters(register):
    register("good", GoodAdapter)
"""


class MemoryAdapter(QueueAdapter):
    name = "memory"

    def enqueue(self, job: Any) -> None:
        pass

    def enqueue_at(self, job: Any, timestamp: datetime) -> None:
        pass


def adapter_plugin(adapter: str, factory: Any) -> object:
    """A plugin object registering ``factory`` under ``adapter``."""

    class Plugin:
        @hookimpl
        def register_adapters(self, register: Any) -> None:
            register(adapter, factory)

    return Plugin()


def install(site: Path, name: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """Install a distribution the way pip would leave it: a .dist-info folder and its modules."""
    dist_info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (dist_info / "entry_points.txt").write_text(f"[jobframe]\n{lines}")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site-packages folder on sys.path; its modules are forgotten afterwards."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))  # also clears importlib's finder caches
    yield folder
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(folder)):
            del sys.modules[name]


@pytest.fixture
def broken_site(site: Path) -> Path:
    install(
        site,
        "jobframe-broken",
        {"broken": "jobframe_broken_mod"},
        {"jobframe_broken_mod": "raise ImportError('jobframe-broken needs libfoo')\n"},
    )
    install(site, "jobframe-ghost", {"ghost": "jobframe_ghost_missing_mod"}, {})
    install(
        site, "jobframe-good", {"good": "jobframe_good_mod"}, {"jobframe_good_mod": GOOD_PLUGIN}
    )
    return site


def test_a_broken_distribution_is_reported_and_skipped(broken_site: Path) -> None:
    with pytest.warns(JobframePluginWarning) as record, plugins.fresh_manager():
        factories = plugins.adapter_factories()
        failures = {f.distribution: f for f in plugins.failures()}
        loaded = {p.name: p for p in plugins.loaded()}

    assert factories["good"].__name__ == "GoodAdapter"  # type: ignore[attr-defined]
    assert {"inline", "async", "test"} <= set(factories)
    assert set(failures) == {"jobframe-broken", "jobframe-ghost"}
    broken, ghost = failures["jobframe-broken"], failures["jobframe-ghost"]
    assert (broken.version, broken.entry_point) == ("1.0", "broken = jobframe_broken_mod")
    assert isinstance(broken.error, ImportError) and "libfoo" in broken.reason
    assert isinstance(ghost.error, ModuleNotFoundError)
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert any("jobframe-broken 1.0" in m and "libfoo" in m for m in messages)
    assert any("jobframe-ghost 1.0" in m and "jobframe_ghost_missing_mod" in m for m in messages)
    assert loaded["good"].distribution == "jobframe-good"
    assert loaded["good"].hooks == ("register_adapters",)
    assert "broken" not in loaded


def test_jobframe_plugins_lists_the_failures(
    broken_site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with plugins.fresh_manager():
        assert main(["plugins", "--json"]) == 0  # no warnings: the report shows the failures

    report = json.loads(capsys.readouterr().out)
    assert "good" in {adapter["name"] for adapter in report["adapters"]}
    failed = {failure["distribution"]: failure for failure in report["failures"]}
    assert failed["jobframe-broken"]["error"] == "ImportError: jobframe-broken needs libfoo"
    assert failed["jobframe-ghost"]["entry_point"] == "ghost = jobframe_ghost_missing_mod"


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("@hookimpl\ndef register_adapters(register, extra):\n    pass\n", "extra"),
        ("@hookimpl\ndef register_adaptors(register):\n    pass\n", "register_adaptors"),
    ],
)
def test_a_plugin_failing_validation_is_skipped(site: Path, source: str, error: str) -> None:
    module = "from jobframe.hookspecs import hookimpl\n\n" + source
    install(
        site,
        "jobframe-invalid",
        {"invalid": "jobframe_invalid_mod"},
        {"jobframe_invalid_mod": module},
    )

    with pytest.warns(JobframePluginWarning, match="jobframe-invalid 1.0"), plugins.fresh_manager():
        [failure] = plugins.failures()
        names = {p.name for p in plugins.loaded()}

    assert failure.distribution == "jobframe-invalid" and error in failure.reason
    assert "invalid" not in names and "inline" in names


def test_a_hook_that_raises_skips_only_its_own_registrations() -> None:
    class Raising:
        @hookimpl
        def register_adapters(self, register: Any) -> None:
            register("half", MemoryAdapter)
            raise RuntimeError("boom")

    with plugins.fresh_manager(entry_points=False):
        plugins.register_plugin(Raising(), name="raising")
        plugins.register_plugin(adapter_plugin("memory", MemoryAdapter), name="fine")
        with pytest.warns(JobframePluginWarning, match="'raising'.*register_adapters.*boom"):
            factories = plugins.adapter_factories()
        [failure] = plugins.failures()

    assert factories == {"memory": MemoryAdapter}
    assert (failure.entry_point, failure.hook, failure.distribution) == (
        "raising",
        "register_adapters",
        None,
    )


def test_a_plugin_registered_in_code_adds_an_adapter() -> None:
    with plugins.fresh_manager():
        plugins.ensure_loaded()
        name = plugins.register_plugin(adapter_plugin("memory", MemoryAdapter), name="mine")

        assert name == "mine"
        assert plugins.adapter_factories()["memory"] is MemoryAdapter
        [info] = [a for a in plugins.adapters() if a.name == "memory"]
        assert (info.plugin, info.target) == ("mine", f"{__name__}:MemoryAdapter")

        plugins.unregister_plugin("mine")
        assert "memory" not in plugins.adapter_factories()
    assert "memory" not in plugins.adapter_factories()  # the fresh manager did not leak


def test_fresh_manager_restores_the_previous_manager() -> None:
    outer = plugins.get_manager()
    with plugins.fresh_manager(entry_points=False) as inner:
        assert plugins.get_manager() is inner is not outer
        assert inner.list_name_plugin() == []
    assert plugins.get_manager() is outer


def test_a_duplicate_adapter_name_warns_naming_both_and_the_first_wins() -> None:
    with plugins.fresh_manager(entry_points=False):
        plugins.register_plugin(adapter_plugin("dup", MemoryAdapter), name="first")
        plugins.register_plugin(adapter_plugin("dup", "elsewhere:Other"), name="second")
        with pytest.warns(JobframePluginWarning, match=r"'dup'.*'first'.*'second'"):
            factories = plugins.adapter_factories()

    assert factories["dup"] is MemoryAdapter


def test_a_built_in_adapter_is_not_overridden_silently() -> None:
    with plugins.fresh_manager():
        plugins.ensure_loaded()
        builtin = plugins.adapter_factories()["inline"]
        with pytest.warns(JobframePluginWarning, match=r"'inline'.*'inline'.*'sneaky'"):
            plugins.register_plugin(adapter_plugin("inline", MemoryAdapter), name="sneaky")

        assert plugins.adapter_factories()["inline"] is builtin
        plugins.unregister_plugin("inline")  # the documented way to replace a built-in
        plugins.unregister_plugin("sneaky")
        plugins.register_plugin(adapter_plugin("inline", MemoryAdapter), name="replacement")
        assert plugins.adapter_factories()["inline"] is MemoryAdapter


def test_a_module_attr_factory_is_imported_on_first_use(site: Path) -> None:
    (site / "jobframe_lazy_mod.py").write_text(GOOD_PLUGIN)
    with plugins.fresh_manager(entry_points=False):
        plugins.register_plugin(adapter_plugin("lazy", "jobframe_lazy_mod:GoodAdapter"))
        plugins.register_plugin(adapter_plugin("absent", "jobframe_absent_mod:Adapter"))
        factories = plugins.adapter_factories()

        assert "jobframe_lazy_mod" not in sys.modules
        adapter = factories["lazy"](option=1)
        assert "jobframe_lazy_mod" in sys.modules
        assert type(adapter).__name__ == "GoodAdapter" and adapter.options == {"option": 1}
        with pytest.raises(ConfigurationError, match=r"'absent'.*jobframe_absent_mod:Adapter"):
            factories["absent"]()


def test_a_bad_registration_is_a_failure_of_that_plugin() -> None:
    with plugins.fresh_manager(entry_points=False):
        plugins.register_plugin(adapter_plugin("bad", "no-colon"), name="bad")
        plugins.register_plugin(adapter_plugin("", MemoryAdapter), name="empty")
        with pytest.warns(JobframePluginWarning) as record:
            assert plugins.adapter_factories() == {}
        failures = plugins.failures()

    assert len(record) == 2
    assert {(f.entry_point, type(f.error)) for f in failures} == {
        ("bad", ValueError),
        ("empty", TypeError),
    }


def test_register_plugin_fails_loudly_for_invalid_code_plugins() -> None:
    class Typo:
        @hookimpl
        def register_adaptors(self, register: Any) -> None:
            pass

    with plugins.fresh_manager(entry_points=False):
        with pytest.raises(ValueError, match="register_adaptors"):
            plugins.register_plugin(Typo())
        plugins.register_plugin(adapter_plugin("x", MemoryAdapter), name="taken")
        with pytest.raises(ValueError, match="taken"):
            plugins.register_plugin(adapter_plugin("y", MemoryAdapter), name="taken")
        with pytest.raises(ValueError, match="nope"):
            plugins.unregister_plugin("nope")
        assert plugins.failures() == []


def test_registration_hooks_run_once_under_concurrent_first_use() -> None:
    calls: list[int] = []

    class Counting:
        @hookimpl
        def register_adapters(self, register: Any) -> None:
            calls.append(1)
            register("memory", MemoryAdapter)

    with plugins.fresh_manager(entry_points=False):
        plugins.register_plugin(Counting())
        threads = [threading.Thread(target=plugins.ensure_loaded) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        plugins.ensure_loaded()

        assert calls == [1]
        assert plugins.adapter_factories() == {"memory": MemoryAdapter}
