"""Page sessions for the docs tests: one namespace, working directory and settings per page.

The python blocks of a page run like one doctest session, so the page's state (its namespace, its
configured adapter and whatever that adapter recorded) must outlive a single test item. The root
conftest's ``_fresh_settings`` resets the settings around every test; here it is replaced by a page
session that does the same reset when a page starts and undoes everything when the page ends (the
next page starts, or the module finishes).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import sys
import tempfile
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobframe
import jobframe.config
from jobframe import notifications, plugins, queue_adapters, registry, serializers
from jobframe.global_id import locator
from jobframe.recurrence import forget
from jobframe.recurrence import registry as recurring_registry


class PageSession:
    """The shared state of one page's blocks, set up fresh and torn down without leaks."""

    def __init__(self, page: str, path: Path) -> None:
        self.page, self.path = page, path
        self.outcomes: dict[int, str] = {}  # block index -> "passed" / "failed" / "skipped: why"
        self.tmp = Path(tempfile.mkdtemp(prefix="jobframe-docs-"))
        self.module = types.ModuleType("docs_" + re.sub(r"\W", "_", page.removesuffix(".md")))
        self.module.__file__ = str(path)
        self._stack = contextlib.ExitStack()
        try:
            self._enter()
        except BaseException:
            self._stack.close()
            raise

    def _enter(self) -> None:
        stack = self._stack
        # Registries that a page's code may add to: put back exactly what was there before. Their
        # public APIs add and remove one entry at a time, so the private state is copied back.
        jobs_before = registry.registered()
        stack.callback(lambda: (registry._classes.clear(), registry._classes.update(jobs_before)))
        serializers_before = serializers.registered()
        stack.callback(_restore_serializers, serializers_before)
        locators_before = list(locator._registered)
        stack.callback(lambda: locator._registered.__setitem__(slice(None), locators_before))
        subscribers_before = dict(notifications._subscribers)
        stack.callback(
            lambda: (
                notifications._subscribers.clear(),
                notifications._subscribers.update(subscribers_before),
            )
        )
        tasks_before = set(recurring_registry._declared)
        stack.callback(
            lambda: [forget(name) for name in set(recurring_registry._declared) - tasks_before]
        )
        root, jobframe_logger = logging.getLogger(), logging.getLogger("jobframe")
        levels = root.level, jobframe_logger.level
        stack.callback(lambda: (root.setLevel(levels[0]), jobframe_logger.setLevel(levels[1])))
        stack.enter_context(plugins.fresh_manager())
        # The page runs in its own empty folder (no config file above it in /tmp), importable.
        modules_before = set(sys.modules)
        stack.callback(_forget_modules, modules_before, self.tmp)
        sys.modules[self.module.__name__] = self.module
        sys.path.insert(0, str(self.tmp))
        stack.callback(sys.path.remove, str(self.tmp))
        cwd = os.getcwd()
        stack.callback(shutil.rmtree, self.tmp, True)
        stack.callback(os.chdir, cwd)
        os.chdir(self.tmp)
        environ = {k: v for k, v in os.environ.items() if k.startswith("JOBFRAME_")}
        stack.callback(os.environ.update, environ)
        for key in environ:
            del os.environ[key]
        # Last registered, first run: forget the page's settings and shut its adapters down
        # while still in its folder.
        stack.callback(queue_adapters.reset)
        stack.callback(jobframe.config.reset)
        jobframe.config.reset()
        jobframe.configure(adapter="test")

    def close(self) -> None:
        self._stack.close()


def _restore_serializers(before: dict[str, object]) -> None:
    with serializers._lock:
        serializers._by_name.clear()
        serializers._by_name.update(before)  # type: ignore[arg-type]
        serializers._changed()


def _forget_modules(before: set[str], folder: Path) -> None:
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None)
        if name.startswith("docs_") or (file and Path(file).is_relative_to(folder)):
            del sys.modules[name]


_current: PageSession | None = None


def page_session(page: str, path: Path) -> PageSession:
    """The session of ``page``: the current one, or a new one after closing the previous page's."""
    global _current
    if _current is not None and _current.page != page:
        close_page_session()
    if _current is None:
        _current = PageSession(page, path)
    return _current


def close_page_session() -> None:
    global _current
    session, _current = _current, None
    if session is not None:
        session.close()


@pytest.fixture
def open_page() -> Callable[[str, Path], PageSession]:
    """``open_page(page, path)``: the session of that page (see `page_session`)."""
    return page_session


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    """Replaces the root conftest's per-test reset: pages reset their settings themselves."""
    yield


@pytest.fixture(autouse=True)
def _forget_declared_tasks() -> Iterator[None]:
    """Replaces the root conftest's: a page's recurring tasks last until the page ends."""
    yield


@pytest.fixture(autouse=True, scope="module")
def _close_last_page() -> Iterator[None]:
    yield
    close_page_session()
