"""A malformed backend setting is a `ConfigurationError` at start-up that names the setting, where
it came from and the fix, with no secret in it: for the Redis, SQL and RabbitMQ adapters."""

from __future__ import annotations

from pathlib import Path

import pytest

import jobframe
from jobframe import config, queue_adapters
from jobframe.cli import main

SECRET = "hunter2-Secret"


@pytest.fixture(autouse=True)
def _no_shared_adapters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    queue_adapters.reset()


def _start(monkeypatch: pytest.MonkeyPatch, **env: str) -> jobframe.ConfigurationError:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.reset()
    try:
        with pytest.raises(jobframe.ConfigurationError) as info:
            queue_adapters.get()
    finally:
        queue_adapters.reset()
    assert info.value.__cause__ is None and info.value.__context__ is None
    assert SECRET not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("adapter", "url", "says"),
    [
        ("redis", "not a url", "must start with redis://, rediss:// or unix://"),
        ("redis", f"redis://:{SECRET}@127.0.0.1:6379/notanumber", "names database 'notanumber'"),
        ("redis", f"redis://:{SECRET}@127.0.0.1:port/0", "malformed: Port could not be cast"),
        ("sql", "not a url", "Could not parse SQLAlchemy URL"),
        ("sql", f"redis://:{SECRET}@127.0.0.1:6379/0", "sqlalchemy.dialects:redis"),
        ("sql", f"postgresql://u:{SECRET}@h:port/db", "cannot use the url 'postgresql://u:***@"),
        ("rabbitmq", "not a url", "must start with amqp:// or amqps://"),
        ("rabbitmq", f"amqp://u:{SECRET}@h:port/", "Port could not be cast"),
    ],
)
def test_a_malformed_url_names_the_setting_its_source_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, adapter: str, url: str, says: str
) -> None:
    error = _start(monkeypatch, JOBFRAME_ADAPTER=adapter, JOBFRAME_URL=url)
    message = str(error)
    assert says in message
    assert "adapter_options.url comes from $JOBFRAME_URL; fix it there" in message
    assert "e.g. " in message


def test_a_bad_url_in_the_file_names_the_file_and_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "jobframe.toml").write_text(
        '[environments.production]\nadapter = "redis"\n'
        f'adapter_options = {{ url = "redis://:{SECRET}@127.0.0.1/zero" }}\n'
    )
    error = _start(monkeypatch, JOBFRAME_ENV="production")
    assert f"comes from {tmp_path / 'jobframe.toml'} [environments.production]" in str(error)


def test_the_command_line_reports_it_without_the_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOBFRAME_ADAPTER", "redis")
    monkeypatch.setenv("JOBFRAME_URL", f"redis://:{SECRET}@127.0.0.1:6379/notanumber")
    config.reset()
    assert main(["queues"]) == 1
    assert main(["work"]) == 1
    err = capsys.readouterr().err
    assert err.count("names database 'notanumber'") == 2 and SECRET not in err


def test_jobframe_adapter_does_not_inherit_the_files_redis_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "jobframe.toml").write_text(
        'adapter = "redis"\nadapter_options = { url = "redis://127.0.0.1:6379/0", prefix = "x" }\n'
    )
    monkeypatch.setenv("JOBFRAME_ADAPTER", "sql")
    monkeypatch.setenv("JOBFRAME_URL", f"sqlite:///{tmp_path}/jobs.sqlite3")
    config.reset()
    try:
        adapter = queue_adapters.get()
        assert adapter.name == "sql" and adapter.options == {
            "url": f"sqlite:///{tmp_path}/jobs.sqlite3"
        }
    finally:
        queue_adapters.reset()
