"""Settings: files found upward, environments, variables, `configure`, and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobframe.config as config
from jobframe.errors import ConfigurationError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An app folder with a pyproject.toml, the current directory being a nested folder in it."""
    write(
        tmp_path / "pyproject.toml",
        """
[project]
name = "shop"

[tool.jobframe]
adapter = "async"
imports = ["app.jobs"]
queue_name_prefix = "shop"
shutdown_timeout = 10

[tool.jobframe.environments.test]
adapter = "test"

[tool.jobframe.environments.production]
adapter = "redis"
adapter_options = { url = "redis://localhost:6379/0" }
""",
    )
    nested = tmp_path / "app" / "jobs"
    nested.mkdir(parents=True)
    monkeypatch.chdir(nested)
    return tmp_path


def test_defaults_without_a_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    settings = config.load(environ={})

    assert settings == config.Settings()
    assert settings.adapter == "async"
    assert settings.environment == "development"
    assert settings.source is None


def test_pyproject_is_found_from_a_nested_directory(project: Path) -> None:
    settings = config.settings()

    assert settings.adapter == "async"
    assert settings.imports == ("app.jobs",)
    assert settings.queue_name_prefix == "shop"
    assert settings.shutdown_timeout == 10.0
    assert settings.source == str((project / "pyproject.toml").resolve())


def test_pyproject_without_a_jobframe_table_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.jobframe]\nadapter = "inline"\n')
    inner = write(tmp_path / "lib" / "pyproject.toml", '[project]\nname = "lib"\n').parent

    assert config.load(start=inner, environ={}).adapter == "inline"


def test_jobframe_toml_keys_sit_at_the_top_level(tmp_path: Path) -> None:
    write(tmp_path / "jobframe.toml", 'adapter = "inline"\n[environments.test]\nadapter = "test"\n')

    assert config.load(start=tmp_path, environ={}).adapter == "inline"
    assert config.load(start=tmp_path, environ={"JOBFRAME_ENV": "test"}).adapter == "test"


def test_jobframe_toml_wins_over_pyproject_in_the_same_folder(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.jobframe]\nadapter = "async"\n')
    write(tmp_path / "jobframe.toml", 'adapter = "inline"\n')

    settings = config.load(start=tmp_path, environ={})

    assert settings.adapter == "inline"
    assert settings.source is not None and settings.source.endswith("jobframe.toml")


def test_environment_overlay_comes_from_jobframe_env(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBFRAME_ENV", "production")
    config.reset()

    settings = config.settings()

    assert settings.environment == "production"
    assert settings.adapter == "redis"
    assert settings.adapter_options == {"url": "redis://localhost:6379/0"}
    assert settings.imports == ("app.jobs",)  # the base table still applies


def test_development_and_test_without_an_overlay_use_the_base_table(
    tmp_path: Path, project: Path
) -> None:
    assert config.load(environ={}).adapter == "async"
    assert config.load(environ={"JOBFRAME_ENV": "development"}).adapter == "async"
    write(tmp_path / "jobframe.toml", 'adapter = "inline"\n')
    assert config.load(start=tmp_path, environ={"JOBFRAME_ENV": "test"}).adapter == "inline"


def test_a_mistyped_environment_is_an_error_naming_those_that_exist(project: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        config.load(environ={"JOBFRAME_ENV": "prodution"})
    message = str(info.value)
    assert "JOBFRAME_ENV is 'prodution'" in message
    assert "[tool.jobframe.environments.prodution]" in message
    assert "'production', 'test'" in message
    assert "Fix JOBFRAME_ENV" in message


def test_an_empty_environment_table_uses_the_base_settings(tmp_path: Path) -> None:
    write(tmp_path / "jobframe.toml", 'adapter = "inline"\n[environments.staging]\n')
    settings = config.load(start=tmp_path, environ={"JOBFRAME_ENV": "staging"})
    assert (settings.environment, settings.adapter) == ("staging", "inline")
    with pytest.raises(ConfigurationError, match=r"no \[environments\.stagin\] table"):
        config.load(start=tmp_path, environ={"JOBFRAME_ENV": "stagin"})


def test_jobframe_adapter_drops_the_options_of_the_files_other_adapter(project: Path) -> None:
    settings = config.load(environ={"JOBFRAME_ENV": "production", "JOBFRAME_ADAPTER": "sql"})
    assert settings.adapter == "sql"
    assert settings.adapter_options == {}
    same = config.load(environ={"JOBFRAME_ENV": "production", "JOBFRAME_ADAPTER": "redis"})
    assert same.adapter_options == {"url": "redis://localhost:6379/0"}


def test_settings_know_where_each_value_came_from(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = config.load(environ={"JOBFRAME_ENV": "production", "JOBFRAME_URL": "redis://h/1"})
    pyproject = str(project / "pyproject.toml")
    assert settings.source_of("adapter") == f"{pyproject} [tool.jobframe.environments.production]"
    assert settings.source_of("imports") == pyproject
    assert settings.source_of("adapter_options.url") == "$JOBFRAME_URL"
    assert settings.source_of("default_queue") == "the defaults"
    monkeypatch.setenv("JOBFRAME_ENV", "production")
    config.reset()
    assert config.configure(adapter="inline").source_of("adapter") == "jobframe.configure()"
    monkeypatch.setenv("JOBFRAME_URL", "redis://h/1")
    config.reset()
    assert config.settings().source_of("adapter_options.url") == "$JOBFRAME_URL"
    configured = config.configure(adapter_options={"url": "redis://h/2"})
    assert configured.source_of("adapter_options.url") == "jobframe.configure()"


def test_jobframe_adapter_and_url_override_the_file(project: Path) -> None:
    environ = {"JOBFRAME_ENV": "production", "JOBFRAME_ADAPTER": "sql", "JOBFRAME_URL": "x://y"}

    settings = config.load(environ=environ)

    assert settings.adapter == "sql"
    assert settings.adapter_options == {"url": "x://y"}


def test_configure_wins_over_file_and_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBFRAME_ADAPTER", "redis")
    config.reset()

    settings = config.configure(adapter="inline", default_queue="low")

    assert settings.adapter == "inline"
    assert settings.adapter_options == {}  # options meant for another adapter are dropped
    assert settings.default_queue == "low"
    assert config.settings() is settings


def test_reset_forgets_configure_and_rereads_the_file(project: Path) -> None:
    config.configure(adapter="inline")
    write(project / "pyproject.toml", '[tool.jobframe]\nadapter = "test"\n')

    config.reset()

    assert config.settings().adapter == "test"


def test_on_change_listeners_hear_configure_and_reset(project: Path) -> None:
    heard: list[str] = []
    config.on_change(lambda settings: heard.append(settings.adapter))
    try:
        config.configure(adapter="inline")
        config.reset()
    finally:
        config._listeners.pop()

    assert heard == ["inline", "async"]


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("adaptor = 'inline'", "adaptor"),
        ("shutdown_timeout = 'soon'", "shutdown_timeout"),
        ("shutdown_timeout = -1", "shutdown_timeout"),
        ("imports = 'app.jobs'", "imports"),
        ("log_arguments = 'yes'", "log_arguments"),
        ("global_id_app = 'a/b'", "global_id_app"),
        ("environment = 'production'", "environment"),
    ],
)
def test_invalid_key_or_type_names_the_key_and_the_file(
    tmp_path: Path, table: str, key: str
) -> None:
    path = write(tmp_path / "pyproject.toml", f"[tool.jobframe]\n{table}\n")

    with pytest.raises(ConfigurationError, match=key) as info:
        config.load(start=tmp_path, environ={})

    assert str(path.resolve()) in str(info.value)


def test_invalid_value_in_an_environment_names_that_environment(tmp_path: Path) -> None:
    write(tmp_path / "jobframe.toml", "[environments.test]\nlog_arguments = 1\n")

    with pytest.raises(ConfigurationError, match=r"log_arguments.*environments\.test"):
        config.load(start=tmp_path, environ={"JOBFRAME_ENV": "test"})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "pyproject.toml", "[tool.jobframe\nadapter = \n")

    with pytest.raises(ConfigurationError, match="not valid TOML") as info:
        config.load(start=tmp_path, environ={})

    assert str(path.resolve()) in str(info.value)


def test_configure_rejects_unknown_keys_and_bad_types() -> None:
    with pytest.raises(ConfigurationError, match=r"'adaptor'.*configure"):
        config.configure(adaptor="inline")
    with pytest.raises(ConfigurationError, match="shutdown_timeout"):
        config.configure(shutdown_timeout=True)


def test_adapter_options_name_environment_variables(tmp_path: Path) -> None:
    (tmp_path / "jobframe.toml").write_text(
        'adapter = "redis"\n'
        "[adapter_options]\n"
        'url = "${REDIS_URL:-redis://127.0.0.1:6379/0}"\n'
        'prefix = "${APP}-jobs"\n'
        'note = "costs $${HOME} literally"\n'
        "[environments.production.adapter_options]\n"
        'url = "${REDIS_URL}"\n'
    )
    local = config.load(tmp_path, environ={"APP": "shop"})
    assert dict(local.adapter_options) == {
        "url": "redis://127.0.0.1:6379/0",
        "prefix": "shop-jobs",
        "note": "costs ${HOME} literally",
    }
    env = {"APP": "shop", "JOBFRAME_ENV": "production", "REDIS_URL": "redis://cache:6380/2"}
    assert config.load(tmp_path, environ=env).adapter_options["url"] == "redis://cache:6380/2"


def test_a_missing_environment_variable_names_it_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "jobframe.toml").write_text('[adapter_options]\nurl = "${DATABASE_URL}"\n')
    with pytest.raises(ConfigurationError) as raised:
        config.load(tmp_path, environ={})
    message = str(raised.value)
    assert "DATABASE_URL" in message and "jobframe.toml" in message
    assert "${DATABASE_URL:-value}" in message
