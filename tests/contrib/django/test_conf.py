"""``settings.JOBFRAME`` is jobframe's configuration under Django: the same keys, environments,
interpolation and errors as ``[tool.jobframe]``, errors naming ``settings.JOBFRAME``."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import override_settings

import jobframe
from jobframe import config
from jobframe.contrib.django import conf

SECRET = "jobframe-tests-not-a-real-secret-key-0123456789"


def test_settings_jobframe_is_the_configuration() -> None:
    current = config.settings()
    assert current.adapter == "test"
    assert current.source == "settings.JOBFRAME"
    assert current.source_of("adapter") == "settings.JOBFRAME"
    assert conf.installed()


def test_the_environment_named_by_jobframe_env_overlays_the_base(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = {
        "adapter": "async",
        "default_queue": "base",
        "environments": {"production": {"adapter": "inline", "default_queue": "prod"}},
    }
    with override_settings(JOBFRAME=table):
        assert config.settings().adapter == "async"
        monkeypatch.setenv("JOBFRAME_ENV", "production")
        config.reload()
        current = config.settings()
        assert (current.adapter, current.default_queue) == ("inline", "prod")
        assert current.source_of("adapter") == "settings.JOBFRAME['environments']['production']"
        monkeypatch.setenv("JOBFRAME_ENV", "staging")
        with pytest.raises(jobframe.ConfigurationError) as caught:
            config.load()
    assert str(caught.value) == (
        "JOBFRAME_ENV is 'staging', but settings.JOBFRAME has no 'environments' entry 'staging' "
        "(its environments: 'production'). Fix JOBFRAME_ENV, or add "
        "settings.JOBFRAME['environments']['staging'] (an empty dict uses the base settings)."
    )


def test_adapter_options_interpolate_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJC_REDIS_URL", "redis://127.0.0.1:6379/3")
    table = {"adapter": "redis", "adapter_options": {"url": "${DJC_REDIS_URL}", "x": "${NOPE:-d}"}}
    with override_settings(JOBFRAME=table):
        assert dict(config.settings().adapter_options) == {
            "url": "redis://127.0.0.1:6379/3",
            "x": "d",
        }
        monkeypatch.delenv("DJC_REDIS_URL")
        with pytest.raises(jobframe.ConfigurationError) as caught:
            config.load()
    assert str(caught.value).startswith(
        "adapter_options in settings.JOBFRAME.url uses ${DJC_REDIS_URL}, but the environment "
        "variable DJC_REDIS_URL is not set"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"adaptr": "redis"}, "unknown jobframe setting 'adaptr' in settings.JOBFRAME. Known "),
        (
            {"shutdown_timeout": "soon"},
            "jobframe setting 'shutdown_timeout' in settings.JOBFRAME must be a number of seconds",
        ),
        (
            {"environments": {"test": {"log_arguments": "yes"}}},
            "jobframe setting 'log_arguments' in settings.JOBFRAME['environments']['test'] must "
            "be true or false, got 'yes'.",
        ),
        (["redis"], "settings.JOBFRAME must be a dict with the keys of [tool.jobframe]"),
    ],
)
def test_a_bad_setting_names_settings_jobframe_and_the_key(
    table: object, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBFRAME_ENV", "test")
    with override_settings(JOBFRAME=table), pytest.raises(jobframe.ConfigurationError) as caught:
        config.load()
    assert message in str(caught.value)


def test_a_bad_setting_stops_the_app_at_install() -> None:
    conf.uninstall()
    with (
        override_settings(JOBFRAME={"adapter": ""}),
        pytest.raises(
            jobframe.ConfigurationError,
            match=r"'adapter' in settings\.JOBFRAME must be a non-empty",
        ),
    ):
        conf.install()


def test_configure_in_code_and_environment_variables_win(monkeypatch: pytest.MonkeyPatch) -> None:
    jobframe.configure(default_queue="from-code")
    monkeypatch.setenv("JOBFRAME_ADAPTER", "inline")
    with override_settings(JOBFRAME={"adapter": "async", "default_queue": "from-settings"}):
        current = config.settings()
    assert (current.adapter, current.default_queue) == ("inline", "from-code")
    assert current.source_of("default_queue") == "jobframe.configure()"


def test_secret_key_defaults_to_djangos_and_is_never_shown() -> None:
    current = config.settings()
    assert current.secret_key == SECRET
    assert current.source_of("secret_key") == "settings.SECRET_KEY"
    assert SECRET not in repr(current)
    with override_settings(JOBFRAME={"adapter": "test", "secret_key": "own-key-for-gids-0123"}):
        assert config.settings().secret_key == "own-key-for-gids-0123"
    with (
        override_settings(JOBFRAME={"secret_key": 12345678}),
        pytest.raises(jobframe.ConfigurationError) as caught,
    ):
        config.load()
    assert "12345678" not in str(caught.value)
    assert "(not shown)" in str(caught.value)


def test_without_settings_jobframe_the_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "jobframe.toml").write_text('adapter = "inline"\ndefault_queue = "from-file"\n')
    monkeypatch.chdir(tmp_path)
    with override_settings():
        from django.conf import settings

        del settings.JOBFRAME
        config.reload()
        current = config.settings()
    assert (current.adapter, current.default_queue) == ("inline", "from-file")
    assert current.secret_key == SECRET  # Django's, still


def test_uninstalled_the_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "jobframe.toml").write_text('adapter = "inline"\n')
    monkeypatch.chdir(tmp_path)
    conf.uninstall()
    assert config.settings().adapter == "inline"
    assert config.settings().secret_key is None


PARITY_TOML = """
adapter = "async"
imports = ["shop.jobs"]
default_queue = "base"
filter_arguments = ["password"]

[adapter_options]
url = "${DJC_PARITY_URL:-redis://127.0.0.1:6379/5}"

[recurring.nightly]
job = "shop.jobs.Nightly"
schedule = "every day at 3am"

[environments.production]
adapter = "redis"
shutdown_timeout = 40

[environments.production.adapter_options]
url = "${DJC_PARITY_URL:-redis://127.0.0.1:6379/6}"

[environments.production.recurring.hourly]
job = "shop.jobs.Hourly"
schedule = "every hour"
"""

PARITY_DICT = {
    "adapter": "async",
    "imports": ["shop.jobs"],
    "default_queue": "base",
    "filter_arguments": ["password"],
    "adapter_options": {"url": "${DJC_PARITY_URL:-redis://127.0.0.1:6379/5}"},
    "recurring": {"nightly": {"job": "shop.jobs.Nightly", "schedule": "every day at 3am"}},
    "environments": {
        "production": {
            "adapter": "redis",
            "shutdown_timeout": 40,
            "adapter_options": {"url": "${DJC_PARITY_URL:-redis://127.0.0.1:6379/6}"},
            "recurring": {"hourly": {"job": "shop.jobs.Hourly", "schedule": "every hour"}},
        }
    },
}


@pytest.mark.parametrize("environment", ["development", "production"])
@pytest.mark.parametrize("url", [None, "redis://127.0.0.1:6379/9"])
def test_settings_jobframe_reads_exactly_as_the_toml_file(
    environment: str, url: str | None, tmp_path: Path
) -> None:
    import dataclasses

    (tmp_path / "jobframe.toml").write_text(PARITY_TOML)
    environ = {"JOBFRAME_ENV": environment, **({"DJC_PARITY_URL": url} if url else {})}
    from_file = config.load(start=tmp_path, environ=environ)
    with override_settings(JOBFRAME=PARITY_DICT):
        from_settings = config.load(environ=environ)

    def bare(settings: config.Settings) -> config.Settings:
        return dataclasses.replace(settings, source=None, provenance={}, secret_key=None)

    assert bare(from_settings) == bare(from_file)
    assert set(from_settings.provenance) - {"secret_key"} == set(from_file.provenance)
