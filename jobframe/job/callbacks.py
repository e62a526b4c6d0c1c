"""Callbacks around enqueueing and performing, inherited down the class tree.

Decorate methods with ``@jobframe.before_perform`` and friends. Around callbacks are generators:
the code before ``yield`` runs first, the code after it once the job is enqueued or performed (an
exception from the job is thrown in at the ``yield``). A before-callback that raises
`jobframe.Abort`, or an around-callback that returns without yielding, halts the chain.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from types import GeneratorType, TracebackType
from typing import Any, ClassVar, TypeVar

from jobframe.errors import Abort, JobDefinitionError

F = TypeVar("F", bound=Callable[..., Any])
KINDS = ("before_enqueue", "after_enqueue", "around_enqueue", "before_perform", "after_perform",
         "around_perform", "after_discard")  # fmt: skip
_MARK = "__jobframe_callback__"


def _marker(kind: str) -> Callable[[F], F]:
    def decorate(fn: F) -> F:
        setattr(fn, _MARK, (*getattr(fn, _MARK, ()), kind))
        return fn

    decorate.__name__ = kind
    decorate.__doc__ = f"Register the decorated method as a ``{kind}`` callback."
    return decorate


before_enqueue = _marker("before_enqueue")
after_enqueue = _marker("after_enqueue")
around_enqueue = _marker("around_enqueue")
before_perform = _marker("before_perform")
after_perform = _marker("after_perform")
around_perform = _marker("around_perform")
after_discard = _marker("after_discard")


class Callbacks:
    """Collects decorated methods per class (by name, so an override replaces the body).

    Every class in the MRO counts, base first, so callbacks of a plain mixin class are kept too.
    """

    _callbacks: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        chains: dict[str, list[str]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                for kind in getattr(value, _MARK, ()):
                    chain = chains.setdefault(kind, [])
                    if name not in chain:
                        chain.append(name)
        cls._callbacks = {kind: tuple(names) for kind, names in chains.items()}

    def _run_after_discard(self, exc: BaseException) -> None:
        for name in type(self)._callbacks.get("after_discard", ()):
            getattr(self, name)(exc)


class CallbackChain:
    """Runs one event's before and around callbacks on enter, and the rest on exit.

    Raises:
        Abort: from ``__enter__`` when a callback halted the chain.
    """

    def __init__(self, job: Callbacks, event: str) -> None:
        self.job = job
        chains = type(job)._callbacks
        self.before = chains.get(f"before_{event}", ())
        self.around = chains.get(f"around_{event}", ())
        self.after = chains.get(f"after_{event}", ())
        self.entered: list[GeneratorType[Any, Any, Any]] = []

    def __enter__(self) -> CallbackChain:
        for name in self.before:
            getattr(self.job, name)()
        for name in self.around:
            gen = getattr(self.job, name)()
            if not inspect.isgenerator(gen):
                raise JobDefinitionError(
                    f"around callback {type(self.job).__qualname__}.{name} must be a generator "
                    "(put `yield` where the job should run)."
                )
            try:
                next(gen)
            except StopIteration:
                self._unwind(Abort(f"{name} did not yield"))
                raise Abort(f"around callback {name} halted the chain by not yielding") from None
            except BaseException as exc:
                self._unwind(exc)
                raise
            self.entered.append(gen)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        suppressed = self._unwind(exc)
        if exc is None or suppressed:
            for name in self.after:
                getattr(self.job, name)()
        return suppressed

    def _unwind(self, exc: BaseException | None) -> bool:
        """Resume entered around-callbacks, innermost first. True when no exception is left."""
        original = exc
        while self.entered:
            gen = self.entered.pop()
            try:
                if exc is None:
                    next(gen)
                else:
                    gen.throw(exc)
            except StopIteration:
                exc = None  # the callback finished: it swallowed the exception, if any
                continue
            except BaseException as raised:
                exc = raised
                continue
            exc = JobDefinitionError(f"around callback {gen.__name__} yielded more than once")
        if exc is not None and exc is not original:
            raise exc
        return exc is None
