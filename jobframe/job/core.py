"""Job identity, attributes and the versioned JSON wire format."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from jobframe import arguments, registry
from jobframe.backend.flow import NO_FLOW, FlowControl
from jobframe.errors import DeserializationError, JobDefinitionError
from jobframe.job.ids import uuid4 as _uuid4

WIRE_VERSION = 1
_T = TypeVar("_T")


class hybridmethod(Generic[_T]):
    """A method that works on the class (``Job.perform_now(x)``) and on an instance."""

    def __init__(self, on_class: Callable[..., _T]) -> None:
        self.on_class = on_class
        self.on_instance: Callable[..., _T] | None = None
        self.__doc__ = on_class.__doc__

    def instance(self, fn: Callable[..., _T]) -> Self:
        self.on_instance = fn
        return self

    def __get__(self, obj: object | None, owner: type) -> Callable[..., _T]:
        if obj is None or self.on_instance is None:
            return self.on_class.__get__(owner, owner)  # type: ignore[no-any-return]
        return self.on_instance.__get__(obj, owner)  # type: ignore[no-any-return]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _parse_time(value: Any, key: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise DeserializationError(
            f"payload field {key!r} is not an ISO timestamp: {value!r}"
        ) from exc
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _text(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key!r} must be a non-empty string, got {value!r}")
    return value


def _count(value: Any, key: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise TypeError(f"{key!r} must hold counts (integers >= 0), got {value!r}")


@functools.lru_cache(maxsize=4096)
def _signature(perform: Callable[..., Any]) -> inspect.Signature:
    """``perform``'s signature, computed once per function (it is on the enqueue hot path)."""
    return inspect.signature(perform)


_MARKERS: dict[inspect._ParameterKind, str] = {
    inspect.Parameter.VAR_POSITIONAL: "*",
    inspect.Parameter.VAR_KEYWORD: "**",
}


@functools.lru_cache(maxsize=4096)
def _checker(perform: Callable[..., Any]) -> Callable[..., None]:
    """An empty function with ``perform``'s parameters: calling it checks arguments the way the
    interpreter will, 20 times faster than ``Signature.bind`` (every ``perform_later`` pays it).
    Defaults are replaced by a placeholder: only their presence matters to the check."""
    params = list(_signature(perform).parameters.values())
    kinds = [param.kind for param in params]
    parts = [
        f"{_MARKERS.get(param.kind, '')}{param.name}"
        + ("=_D" if param.default is not inspect.Parameter.empty else "")
        for param in params
    ]
    if inspect.Parameter.KEYWORD_ONLY in kinds and inspect.Parameter.VAR_POSITIONAL not in kinds:
        at = kinds.index(inspect.Parameter.KEYWORD_ONLY)
        parts.insert(at, "*")
    if inspect.Parameter.POSITIONAL_ONLY in kinds:
        last = len(kinds) - 1 - kinds[::-1].index(inspect.Parameter.POSITIONAL_ONLY)
        parts.insert(last + 1, "/")
    namespace: dict[str, Any] = {"_D": None}
    exec(f"def check({', '.join(parts)}): pass", namespace)  # names from a signature only
    check: Callable[..., None] = namespace["check"]
    return check


class Core:
    """Identity and state of one job, and its wire format (``serialize`` / ``deserialize``)."""

    __jobframe_job__: ClassVar[bool] = True
    abstract: ClassVar[bool] = True
    job_name: ClassVar[str | None] = None

    job_id: str
    provider_job_id: str | None
    queue_name: str
    priority: int | None
    executions: int
    exception_executions: dict[str, int]
    enqueued_at: datetime | None
    scheduled_at: datetime | None
    locale: str | None
    timezone: str | None
    #: the name of the recurring task that enqueued this job, or None
    recurring_task: str | None
    #: the flow control the payload carries (`jobframe.backend.flow`): computed when the job is
    #: enqueued (see `jobframe.job.flow_control`), read back by `deserialize`
    flow: FlowControl | None
    #: the W3C trace context the payload carries (``{"traceparent": ..., "tracestate": ...}``,
    #: payload key ``trace``): set by `jobframe.contrib.opentelemetry` when a job is enqueued
    #: inside a span, None otherwise (the payload then has no ``trace`` key)
    trace_context: dict[str, str] | None
    successfully_enqueued: bool
    enqueue_error: BaseException | None

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if "abstract" not in cls.__dict__:
            cls.abstract = False
        if not cls.abstract:
            if not callable(getattr(cls, "perform", None)):
                raise JobDefinitionError(f"{cls.__qualname__} must define a perform() method.")
            registry.register(cls)  # type: ignore[arg-type]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._check_concrete()
        self._bind(args, kwargs)
        # None: still only in ``_serialized_arguments`` (a deserialized job), decoded on first use
        self._args: tuple[Any, ...] | None = args
        self._kwargs: dict[str, Any] | None = kwargs
        self._serialized_arguments: tuple[list[Any], dict[str, Any]] | None = None
        self.job_id = _uuid4()
        self.provider_job_id = None
        self.executions = 0
        self.exception_executions = {}
        self.enqueued_at = None
        self.scheduled_at = None
        self.locale = None
        self.timezone = None
        self.recurring_task = None
        self.flow = None
        self.trace_context = None
        self.successfully_enqueued = False
        self.enqueue_error = None
        self._payload_cache: dict[str, Any] | None = None
        self._init_queue_options()

    @property
    def args(self) -> tuple[Any, ...]:
        """``perform``'s positional arguments. A deserialized job decodes its arguments on first
        access (a worker does it inside ``perform_now``, where ``discard_on`` sees the error).

        Raises:
            DeserializationError: the payload's arguments cannot be decoded (a GlobalID whose
                record is gone, an unknown serializer).
        """
        if self._args is None:
            self._load_arguments()
        assert self._args is not None
        return self._args

    @args.setter
    def args(self, value: tuple[Any, ...]) -> None:
        self._assign_arguments(tuple(value), self._kwargs)

    @property
    def kwargs(self) -> dict[str, Any]:
        """``perform``'s keyword arguments, decoded on first access like `args`."""
        if self._kwargs is None:
            self._load_arguments()
        assert self._kwargs is not None
        return self._kwargs

    @kwargs.setter
    def kwargs(self, value: dict[str, Any]) -> None:
        self._assign_arguments(self._args, dict(value))

    def _assign_arguments(
        self, args: tuple[Any, ...] | None, kwargs: dict[str, Any] | None
    ) -> None:
        """Replace the arguments: the half not given is decoded first if it is still encoded, and
        the wire form is dropped, so the next `serialize` encodes what was assigned."""
        if (args is None or kwargs is None) and self._serialized_arguments is not None:
            raw_args, raw_kwargs = self._serialized_arguments
            if args is None:
                args = tuple(arguments.deserialize(raw_args, {})[0])
            if kwargs is None:
                kwargs = arguments.deserialize([], raw_kwargs)[1]
        self._args, self._kwargs = args, kwargs
        self._serialized_arguments = None
        self._payload_cache = None

    def _init_queue_options(self) -> None:
        """Filled in by the queue-name and priority mixins."""

    @classmethod
    def _check_concrete(cls) -> None:
        if cls.abstract:
            raise JobDefinitionError(
                f"{cls.__qualname__} is abstract (abstract = True) and cannot be enqueued or "
                "performed; subclass it and enqueue the subclass."
            )

    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Fail in the caller, as a direct call would, when arguments don't fit ``perform``."""
        perform = type(self).perform  # type: ignore[attr-defined]
        try:
            _checker(perform)(None, *args, **kwargs)
        except TypeError:
            try:  # the mismatch, in Signature.bind's words (no function name in them)
                _signature(perform).bind(None, *args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"{type(self).__qualname__}.perform(): {exc}") from None

    @classmethod
    def job_class_name(cls) -> str:
        return registry.name_of(cls)

    def serialize(self) -> dict[str, Any]:
        """The job as plain JSON data (the wire format, version 1).

        Raises:
            SerializationError: an argument has no serializer; the message names it and the fix.
        """
        if self._payload_cache is not None:
            return self._payload_cache
        if self._serialized_arguments is None:
            self._serialized_arguments = arguments.serialize(self.args, self.kwargs)
        args, kwargs = self._serialized_arguments
        data: dict[str, Any] = {
            "version": WIRE_VERSION,
            "job_class": registry.name_of(type(self)),
            "job_id": self.job_id,
            "provider_job_id": self.provider_job_id,
            "queue_name": self.queue_name,
            "priority": self.priority,
            "arguments": args,
            "kwargs": kwargs,
            "executions": self.executions,
            "exception_executions": dict(self.exception_executions),
            "locale": self.locale,
            "timezone": self.timezone,
            "enqueued_at": _iso(self.enqueued_at),
            "scheduled_at": _iso(self.scheduled_at),
        }
        if self.recurring_task is not None:  # only then: other jobs' payloads stay as they were
            data["recurring_task"] = self.recurring_task
        flow = self.flow
        if flow is not None and flow is not NO_FLOW and flow:
            data["flow"] = flow.to_json()
        if self.trace_context is not None:
            data["trace"] = self.trace_context
        self._payload_extras(data)
        return data

    def _set_trace_context(self, carrier: dict[str, str] | None) -> None:
        """Carry ``carrier`` (W3C trace context) in the payload, also in one already built."""
        self.trace_context = carrier
        cache = self._payload_cache
        if cache is not None:
            if carrier is None:
                cache.pop("trace", None)
            else:
                cache["trace"] = carrier

    def _payload_extras(self, data: dict[str, Any]) -> None:
        """Add the optional payload keys of the job's mixins (``store_result``, ...) to ``data``:
        each mixin overrides it, calls ``super()`` and adds its keys only when set, so the payload
        of a job that uses none of them stays as it was."""

    def _load_extras(self, data: dict[str, Any]) -> None:
        """Read back what `_payload_extras` added (raise TypeError/ValueError when malformed)."""

    @classmethod
    def deserialize(cls, data: Any) -> Self:
        """Rebuild a job from its wire format. Its arguments are decoded on first access to
        ``args`` or ``kwargs`` (a worker: when the job performs).

        Raises:
            UnknownJobError: ``job_class`` is not a registered job class (nothing is imported).
            DeserializationError: the payload is malformed or of an unknown version.
        """
        if not isinstance(data, dict):
            raise DeserializationError(
                f"a job payload must be a JSON object, got {type(data).__name__}"
            )
        version = data.get("version")
        if version != WIRE_VERSION:
            raise DeserializationError(
                f"unsupported job payload version {version!r} (this jobframe reads "
                f"{WIRE_VERSION}); upgrade the worker to the version that enqueued it."
            )
        job_cls = registry.lookup(data.get("job_class"))
        if not issubclass(job_cls, cls):
            raise DeserializationError(f"{job_cls.__qualname__} is not a {cls.__qualname__}")
        job = job_cls.__new__(job_cls)
        try:
            job._load(data)
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
            # A field of the wrong type or out of range ("executions": "x", a timestamp in
            # year 1 with an offset): whatever a foreign producer wrote, the caller gets one error.
            raise DeserializationError(f"malformed job payload: {exc!r}"[:2000]) from exc
        return job

    def _load(self, data: dict[str, Any]) -> None:
        args, kwargs = data["arguments"], data.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise TypeError("'arguments' must be a list and 'kwargs' an object")
        self._serialized_arguments = (args, kwargs)
        self._args = self._kwargs = None
        self.job_id = _text(data, "job_id")
        self.provider_job_id = data.get("provider_job_id")
        self.queue_name = _text(data, "queue_name")
        priority = data.get("priority")
        if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
            raise TypeError(f"'priority' must be an integer or null, got {priority!r}")
        self.priority = priority
        self.executions = _count(data.get("executions", 0), "executions")
        counts = data.get("exception_executions", {})
        if not isinstance(counts, dict):
            raise TypeError(f"'exception_executions' must be an object, got {counts!r}")
        self.exception_executions = (
            {str(k): _count(v, "exception_executions") for k, v in counts.items()} if counts else {}
        )
        self.locale = data.get("locale")
        self.timezone = data.get("timezone")
        recurring_task = data.get("recurring_task")
        if recurring_task is not None and not isinstance(recurring_task, str):
            raise TypeError(f"'recurring_task' must be a string or null, got {recurring_task!r}")
        self.recurring_task = recurring_task
        flow = data.get("flow")
        self.flow = None if flow is None else FlowControl.from_json(flow)
        trace = data.get("trace")
        if trace is not None and not (
            isinstance(trace, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in trace.items())
        ):
            raise TypeError(f"'trace' must be an object of strings, got {trace!r}")
        self.trace_context = trace
        self.enqueued_at = _parse_time(data.get("enqueued_at"), "enqueued_at")
        self.scheduled_at = _parse_time(data.get("scheduled_at"), "scheduled_at")
        self._load_extras(data)
        self.successfully_enqueued = self.enqueued_at is not None
        self.enqueue_error = None
        self._payload_cache = None

    def _load_arguments(self) -> None:
        """Decode the arguments of a deserialized job (its wire form stays, for retries)."""
        if self._args is not None and self._kwargs is not None:
            return
        assert self._serialized_arguments is not None
        args, kwargs = arguments.deserialize(*self._serialized_arguments)
        self._args, self._kwargs = tuple(args), kwargs

    def __repr__(self) -> str:
        return (
            f"<{type(self).__qualname__} {self.job_id} queue={getattr(self, 'queue_name', None)!r}>"
        )

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)
