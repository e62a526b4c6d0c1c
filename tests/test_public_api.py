"""The public API is exactly what ``__all__`` says, and the names DESIGN.md promises exist."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path

import jobframe

ROOT = Path(__file__).resolve().parents[1]
PROMISED = {
    "Job",
    "perform_all_later",
    "retry_on",
    "discard_on",
    "rescue_from",
    "polynomially_longer",
    "before_enqueue",
    "after_enqueue",
    "around_enqueue",
    "before_perform",
    "after_perform",
    "around_perform",
    "after_discard",
    "Abort",
    "JobframeError",
    "SerializationError",
    "DeserializationError",
    "RecordNotFound",
    "EnqueueError",
    "UnknownJobError",
    "UnsupportedError",
    "ConfigurationError",
    "UnknownAdapterError",
    "GlobalID",
    "SignedGlobalID",
    "ObjectSerializer",
    "configure",
    "subscribe",
}


def test_all_lists_every_public_name_and_nothing_else() -> None:
    public = {name for name in vars(jobframe) if not name.startswith("_")} - {"annotations"}
    modules = {name for name in public if type(getattr(jobframe, name)).__name__ == "module"}
    lazy = {"GlobalID", "SignedGlobalID"}  # resolved by the module's __getattr__
    assert set(jobframe.__all__) == (public - modules) | lazy | {"__version__"}
    for name in jobframe.__all__:
        assert getattr(jobframe, name) is not None


def test_design_names_are_exported() -> None:
    assert set(jobframe.__all__) >= PROMISED


def test_errors_share_one_base() -> None:
    for name in (
        "SerializationError",
        "DeserializationError",
        "EnqueueError",
        "UnknownJobError",
        "ConfigurationError",
        "UnknownAdapterError",
        "RecordNotFound",
        "Abort",
        "UnsupportedError",
    ):
        assert issubclass(getattr(jobframe, name), jobframe.JobframeError)


def test_unsupported_error_is_caught_where_invalid_options_were() -> None:
    assert issubclass(jobframe.UnsupportedError, jobframe.InvalidOptionError)


def test_no_import_package_named_adapters_is_shipped() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["jobframe"]
    assert not (ROOT / "adapters" / "__init__.py").exists()
    spec = importlib.util.find_spec("adapters")
    # An editable install puts the checkout on sys.path, where `adapters/` is a plain folder.
    # (`python -m pytest` adds the checkout to sys.path a second time: the same folder twice.)
    assert spec is None or set(spec.submodule_search_locations or []) == {str(ROOT / "adapters")}


def test_version_matches_distribution() -> None:
    from importlib.metadata import version

    assert jobframe.__version__ == version("jobframe")


def test_enqueue_after_commit_is_public() -> None:
    from jobframe import transactions

    assert jobframe.after_commit is transactions.after_commit
    assert callable(transactions.watch)
