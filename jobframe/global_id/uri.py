"""`GlobalID`: the ``gid://<app>/<Model>/<id>`` URI that names one model instance."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import quote, unquote

SCHEME = "gid://"


@dataclasses.dataclass(frozen=True)
class GlobalID:
    """A model's app-wide name, e.g. ``gid://shop/Order/42``; equal when the three parts are.

    Each part is URL-quoted in the URI, so ids may hold any character.
    """

    app: str
    model_name: str
    model_id: str

    def __post_init__(self) -> None:
        for part in ("app", "model_name", "model_id"):
            value = getattr(self, part)
            if not isinstance(value, str) or not value:
                raise ValueError(f"GlobalID.{part} must be a non-empty string, got {value!r}.")

    @classmethod
    def create(cls, model: Any, app: str | None = None) -> GlobalID:
        """The GlobalID of `model`, as given by the first configured locator that knows it.

        Parameters:
            model: a model instance, e.g. a SQLAlchemy mapped object with a primary key.
            app: overrides the app part (default: the locator's `app`, else `global_id_app`).

        Raises:
            SerializationError: no locator knows the model (the message says how to add one).
        """
        from jobframe.global_id.locator import require

        return require(model, app)

    @classmethod
    def parse(cls, value: object) -> GlobalID | None:
        """The GlobalID in `value` (a ``gid://`` string or a GlobalID), or None if it is not one."""
        if isinstance(value, GlobalID):
            return value
        if not isinstance(value, str) or not value.startswith(SCHEME):
            return None
        parts = value[len(SCHEME) :].split("/")
        if len(parts) != 3 or not all(parts):
            return None
        try:
            app, model_name, model_id = (unquote(part, errors="strict") for part in parts)
            return cls(app, model_name, model_id)
        except ValueError:
            return None

    @property
    def uri(self) -> str:
        """``gid://app/Model/id`` with each part URL-quoted."""
        parts = (quote(part, safe="") for part in (self.app, self.model_name, self.model_id))
        return SCHEME + "/".join(parts)

    def locate(self) -> Any:
        """The model this GlobalID names (see `jobframe.global_id.locate`)."""
        from jobframe.global_id.locator import locate

        return locate(self)

    def __str__(self) -> str:
        return self.uri
