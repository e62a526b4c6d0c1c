"""Finding a Django task by its module path, in the enqueuing process and in a worker.

A task reaches a worker as the path of its function (``app.tasks.send_report``), as in every
Django task backend. A path comes from a payload, and jobframe's rule is that a payload can
never make a worker import arbitrary code: a worker imports only modules inside an installed
Django app (or listed in the backend's ``OPTIONS["MODULES"]``), and runs only what it finds
there if it is a `Task` (a function decorated with ``@task``). The same rule is checked at
enqueue, so a task a worker could not find is refused in the caller, not hours later.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable
from typing import Any

from jobframe.contrib.django.tasks_api import InvalidTask, Task


def allowed_modules(extra: Iterable[str] = ()) -> list[str]:
    """The module prefixes tasks may live under: every installed app's, then ``extra``."""
    from django.apps import apps

    return [config.name for config in apps.get_app_configs()] + list(extra)


def _inside(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def resolve(path: str, prefixes: Iterable[str]) -> Task[..., Any]:
    """The `Task` named by ``path`` (``module.function``).

    Raises:
        InvalidTask: the path is outside ``prefixes`` (and its module is not imported yet),
            cannot be imported, or does not name a `Task`.
    """
    module_name, _, name = path.rpartition(".")
    if not module_name or not name:
        raise InvalidTask(f"{path!r} is not a task path (module.function).")
    if module_name == "__main__":
        raise InvalidTask(
            f"the task {path!r} is defined in __main__ (a script), which a worker cannot "
            "import: move it into a module of an installed app."
        )
    prefixes = list(prefixes)
    if module_name not in sys.modules and not _inside(module_name, prefixes):
        raise InvalidTask(
            f"the task {path!r} lives in {module_name!r}, outside the installed apps, and a "
            "worker imports task modules of INSTALLED_APPS only (a payload may not name any "
            "module to import): move it into an app, or list its module in the backend's "
            "OPTIONS['MODULES']."
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidTask(
            f"cannot import {module_name!r} to find the task {path!r}: {exc}"
        ) from exc
    found = getattr(module, name, None)
    if not isinstance(found, Task):
        raise InvalidTask(
            f"{path!r} is not a task: a worker finds a task by its function's module and "
            "name, so decorate a module-level function with @task and keep its name "
            f"(found {type(found).__name__})."
        )
    return found


def check_importable(task: Task[..., Any], prefixes: Iterable[str]) -> None:
    """Refuse, in the caller, a task that a worker could not find by its path.

    Raises:
        InvalidTask: its module is outside ``prefixes`` or ``__main__``, or its path names
            something other than this task's function.
    """
    path = task.module_path
    module_name = path.rpartition(".")[0]
    prefixes = list(prefixes)
    if not _inside(module_name, prefixes) and module_name != "__main__":
        raise InvalidTask(
            f"the task {path!r} lives in {module_name!r}, outside the installed apps, so a "
            "worker would refuse to import it: move it into an app, or list its module in "
            "the backend's OPTIONS['MODULES']."
        )
    found = resolve(path, prefixes)
    if found.func is not task.func:
        raise InvalidTask(
            f"{path!r} names another function than this task's: a worker finds a task by "
            "its function's module and name, so keep the decorated function's name."
        )


__all__ = ["allowed_modules", "check_importable", "resolve"]
