"""The plugin manager: loads the entry-point group ``jobframe`` and runs the registration hooks.

Built-in adapters and third parties' plugins go through the same entry points. One broken plugin
(it fails to import, fails pluggy's validation, or one of its hooks raises) is reported with a
`JobframePluginWarning`, recorded in `failures()` and skipped; it never takes the others down.

Adapter names are first come, first served: the ``jobframe`` distribution's entry points, other
distributions' by name, then plugins registered in code (``tryfirst`` hookimpls go ahead of all).
A later claim on a taken name is ignored with a warning naming both plugins: a built-in adapter is
never silently replaced. To replace one, `unregister_plugin` its plugin first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pluggy

from jobframe import hookspecs
from jobframe.adapter_registry import AdapterFactory, AdapterInfo, AdapterRegistry, Registrar

GROUP = "jobframe"


class JobframePluginWarning(UserWarning):
    """A plugin failed to load, or one of its hooks raised; it was skipped."""


@dataclasses.dataclass(frozen=True)
class PluginFailure:
    """A plugin (or one of its hooks) that was skipped, and why."""

    distribution: str | None  # None for a plugin registered in code
    version: str | None
    entry_point: str  # "name = module:attr", or the plugin's name for a plugin registered in code
    error: BaseException
    hook: str | None = None  # the hook that raised; None when loading the plugin failed

    @property
    def reason(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


@dataclasses.dataclass(frozen=True)
class PluginInfo:
    """A registered plugin, where it comes from and the hooks it implements."""

    name: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


class _Origin(NamedTuple):
    distribution: str | None
    version: str | None
    entry_point: str


def _new_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(GROUP)
    manager.add_hookspecs(hookspecs)
    return manager


@dataclasses.dataclass
class _State:
    entry_points: bool = True  # still to be loaded, on first use
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock)
    manager: pluggy.PluginManager = dataclasses.field(default_factory=_new_manager)
    hooks_ran: bool = False
    origins: dict[str, _Origin] = dataclasses.field(default_factory=dict)
    failures: list[PluginFailure] = dataclasses.field(default_factory=list)
    adapters: AdapterRegistry = dataclasses.field(default_factory=AdapterRegistry)
    pending: list[str] = dataclasses.field(default_factory=list)  # warnings not yet emitted
    #: `hook_functions` answers, dropped whenever a plugin is registered or unregistered
    hook_cache: dict[str, tuple[tuple[str, Callable[..., Any]], ...]] = dataclasses.field(
        default_factory=dict
    )


_state = _State()


def get_manager() -> pluggy.PluginManager:
    """The plugin manager, with the ``jobframe`` entry points loaded on first call."""
    state = _state
    with state.lock:
        if state.entry_points:
            state.entry_points = False
            _load_entry_points(state)
    _flush(state)
    return state.manager


def _load_entry_points(state: _State) -> None:
    # entry_points() keeps only the first distribution of each name found on sys.path.
    for ep in sorted(importlib.metadata.entry_points(group=GROUP), key=_entry_point_order):
        dist, label = ep.dist, f"{ep.name} = {ep.value}"
        origin = _Origin(dist.name if dist else None, dist.version if dist else None, label)
        try:
            plugin = ep.load()
        except Exception as exc:  # ImportError, a missing module, anything raised at import
            _fail(state, origin, exc)
            continue
        _add(state, plugin, ep.name, origin)


def _entry_point_order(ep: importlib.metadata.EntryPoint) -> tuple[bool, str, str]:
    dist = ep.dist.name.lower() if ep.dist else ""
    return (dist != "jobframe", dist, ep.name)


def _add(state: _State, plugin: object, name: str, origin: _Origin) -> bool:
    manager = state.manager
    try:
        if manager.is_registered(plugin) or manager.get_plugin(name) is not None:
            raise ValueError(f"a plugin named {name!r}, or this very object, is already registered")
        manager.register(plugin, name=name)  # pluggy.PluginValidationError on a bad signature
    except Exception as exc:
        _fail(state, origin, exc)
        return False
    # pluggy accepts unknown hook names until check_pending(); a typo must not pass silently.
    unknown = [
        caller.name
        for caller in manager.get_hookcallers(plugin) or []
        if not caller.has_spec()
        and any(i.plugin is plugin and not i.optionalhook for i in caller.get_hookimpls())
    ]
    if unknown:
        manager.unregister(plugin)
        message = f"unknown hook(s): {', '.join(unknown)}"
        _fail(state, origin, pluggy.PluginValidationError(plugin, message))
        return False
    state.origins[name] = origin
    state.hook_cache.clear()
    return True


def _fail(state: _State, origin: _Origin, exc: BaseException, hook: str | None = None) -> None:
    failure = PluginFailure(*origin, exc, hook)
    state.failures.append(failure)
    source = f"distribution {origin.distribution} {origin.version}"
    what = f"its hook {hook} raised" if hook else "it failed to load"
    state.pending.append(
        f"jobframe plugin {origin.entry_point!r} ({source if origin.distribution else 'in code'}) "
        f"was skipped, {what}: {failure.reason}"
    )


def _flush(state: _State) -> None:
    # Warn only once the state is consistent: under `filterwarnings = error` a warning raises.
    with state.lock:
        messages, state.pending[:] = list(state.pending), []
    for message in messages:
        warnings.warn(JobframePluginWarning(message), stacklevel=3)


def _impls(manager: pluggy.PluginManager, hook: str, only: object) -> list[Any]:
    # pluggy calls the last registered first; registration order lets the first plugin win.
    impls = [
        i
        for i in getattr(manager.hook, hook).get_hookimpls()
        if not (i.wrapper or i.hookwrapper) and (only is None or i.plugin is only)
    ]
    return sorted(impls, key=lambda i: 0 if i.tryfirst else 2 if i.trylast else 1)


def call_isolated(hook: str, only: object = None, **kwargs: Any) -> bool:
    """Call each implementation of ``hook`` on its own, so one that raises skips only itself.

    Order: ``tryfirst`` implementations, then the others in registration order, then ``trylast``.
    Each failure is recorded in `failures()` and warned about. ``only`` restricts the call to one
    plugin's implementation. Returns True if none raised.
    """
    state, manager, ok = _state, get_manager(), True
    with state.lock:
        for impl in _impls(manager, hook, only):
            try:
                impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception as exc:
                ok = False
                origin = state.origins.get(impl.plugin_name, _Origin(None, None, impl.plugin_name))
                _fail(state, origin, exc, hook)
    _flush(state)
    return ok


def hook_functions(hook: str) -> tuple[tuple[str, Callable[..., Any]], ...]:
    """``(plugin name, call)`` for each implementation of ``hook``, in `call_isolated`'s order,
    for a caller that reports failures itself. ``call(**arguments)`` passes an implementation the
    arguments it declares, as pluggy does. Cached until a plugin is (un)registered through this
    module: the context hooks are looked up on every enqueue."""
    state = _state
    found = state.hook_cache.get(hook)
    if found is None:
        manager = get_manager()  # loads the entry points on first use
        with state.lock:
            found = tuple((i.plugin_name, _caller(i)) for i in _impls(manager, hook, None))
            state.hook_cache[hook] = found
    return found


def _caller(impl: Any) -> Callable[..., Any]:
    function, names = impl.function, tuple(impl.argnames)
    return lambda **arguments: function(*(arguments[name] for name in names))


def _run_registration_hooks(state: _State, only: object = None) -> None:
    # Each plugin's adapters are kept only if its hook returns without raising.
    for impl in _impls(get_manager(), "register_adapters", only):
        register = Registrar(impl.plugin_name)
        if call_isolated("register_adapters", only=impl.plugin, register=register):
            state.pending.extend(state.adapters.commit(register.staged))
    # Imported here: both packages call `ensure_loaded` on a lookup miss.
    from jobframe.global_id import register_locator
    from jobframe.serializers import register as register_serializer

    call_isolated("register_serializers", only=only, register=register_serializer)
    call_isolated("register_locators", only=only, register=register_locator)


def ensure_loaded() -> bool:
    """Load the plugins and run the registration hooks, once; later calls do nothing.

    Returns:
        True when this call did the loading (a registry that missed a name may look again).
    """
    state = _state
    ran = False
    with state.lock:
        if not state.hooks_ran:
            state.hooks_ran = True  # first: a hook that calls back in here must not recurse
            _run_registration_hooks(state)
            ran = True
    _flush(state)
    return ran


def adapters() -> list[AdapterInfo]:
    """Every registered queue adapter, sorted by name."""
    ensure_loaded()
    return _state.adapters.infos()


def adapter_factories() -> dict[str, AdapterFactory]:
    """Adapter name -> factory: a class or callable returning a `QueueAdapter`."""
    return {info.name: info.factory for info in adapters()}


def failures() -> list[PluginFailure]:
    """The plugins, or plugins' hooks, that failed and were skipped, oldest first."""
    ensure_loaded()
    return list(_state.failures)


def loaded() -> list[PluginInfo]:
    """The registered plugins, each with its distribution and the hooks it implements."""
    manager, origins = get_manager(), _state.origins
    infos = []
    for name, plugin in manager.list_name_plugin():
        origin = origins.get(name, _Origin(None, None, name))
        hooks = tuple(sorted(caller.name for caller in manager.get_hookcallers(plugin) or []))
        infos.append(PluginInfo(name, origin.distribution, origin.version, hooks))
    return infos


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Register a plugin (module, class or object with ``@hookimpl`` functions); return its name.

    If the registration hooks already ran, this plugin's run now.

    Raises:
        ValueError: the plugin is invalid or the name is taken; code plugins fail loudly.
    """
    state, manager = _state, get_manager()
    with state.lock:
        name = name or manager.get_canonical_name(plugin)
        if not _add(state, plugin, name, _Origin(None, None, name)):
            error = state.failures.pop().error
            state.pending.pop()
            raise ValueError(f"cannot register jobframe plugin {name!r}: {error}") from error
        if state.hooks_ran:
            _run_registration_hooks(state, only=plugin)
    _flush(state)
    return name


def unregister_plugin(plugin: object) -> object:
    """Remove a plugin (the object or its name) and its adapters; ValueError if not registered.

    Serializers and locators it registered stay: those registries do not record who added what.
    """
    state, manager = _state, get_manager()
    with state.lock:
        name = plugin if isinstance(plugin, str) else manager.get_name(plugin)
        removed = manager.get_plugin(name) if name else None
        if name is None or removed is None:
            raise ValueError(f"no jobframe plugin {plugin!r} is registered")
        manager.unregister(removed, name=name)
        state.origins.pop(name, None)
        state.hook_cache.clear()
        state.adapters.remove_plugin(name)
    return removed


@contextlib.contextmanager
def fresh_manager(entry_points: bool = True) -> Iterator[pluggy.PluginManager]:
    """Swap in a new plugin state for the ``with`` block (for tests), then restore the old one.

    With ``entry_points=False`` the new manager holds only the plugins the test registers.
    """
    global _state
    previous, _state = _state, _State(entry_points=entry_points)
    try:
        yield _state.manager  # entry points still load lazily, on first use
    finally:
        _state = previous
