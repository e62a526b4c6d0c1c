"""No password or token from a backend URL ever shows in an error, a log line or CLI output.

Each backend is pointed at 127.0.0.1:1 (nothing listens there) with credentials in its URL, as
``JOBFRAME_URL`` would give them; the enqueue fails, and its error, the log and ``jobframe
queues`` are searched for the secret.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jobframe
from jobframe import config
from jobframe.cli import main
from jobframe.redact import mask_secrets, mask_url
from jobframe.testing.environment import configured
from jobframe.testing.workers import wait_until

SECRET = "hunter2-Secret"


class PingJob(jobframe.Job):
    def perform(self) -> None:
        pass


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


@pytest.mark.parametrize(
    ("adapter", "url"),
    [
        ("redis", f"redis://:{SECRET}@127.0.0.1:1/9"),
        ("redis", f"redis://default:{SECRET}@127.0.0.1:1/9"),
        ("redis", f"redis://127.0.0.1:1/9?password={SECRET}"),
        ("sql", f"postgresql+psycopg://app:{SECRET}@127.0.0.1:1/app"),
        ("sql", f"postgresql+psycopg://app@127.0.0.1:1/app?password={SECRET}"),
        ("rabbitmq", f"amqp://user:{SECRET}@127.0.0.1:1/"),
    ],
)
def test_a_failed_enqueue_shows_the_url_masked_everywhere(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    adapter: str,
    url: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    with configured(monkeypatch, adapter, url):
        with pytest.raises(jobframe.EnqueueError) as info:
            PingJob.perform_later()
        shown = [text for exc in _chain(info.value) for text in (str(exc), repr(exc))]
        assert "127.0.0.1" in shown[0] and "***" in shown[0]
        main(["queues"])
    out, err = capsys.readouterr()
    assert err.startswith("jobframe: error:")
    logged = [record.getMessage() for record in caplog.records]
    assert any("Failed enqueuing" in line for line in logged)
    for text in [*shown, *logged, out, err]:
        assert SECRET not in text


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://user:p%40ss:w@h/0", "redis://user:***@h/0"),
        ("redis://user@h/0", "redis://user@h/0"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("amqp://u:pw@h/vhost?heartbeat=5", "amqp://u:***@h/vhost?heartbeat=5"),
        ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
        ("pg://h/db?sslpassword=pw;api_key=k", "pg://h/db?sslpassword=***;api_key=***"),
        ("redis+cluster://:pw@a:1,b:2/0", "redis+cluster://:***@a:1,b:2/0"),
        ("u:pw@h/db", "u:***@h/db"),
        ("redis://:p/ss@h:1/0", "redis://:***@h:1/0"),
        ("postgresql://h/db", "postgresql://h/db"),
        ("host=h password=pw user=u", "host=h password=*** user=u"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_mask_secrets_masks_every_url_and_the_known_password() -> None:
    url = f"redis://:{SECRET}@h:1/0"
    text = f"cannot reach {url} (auth {SECRET}), nor amqp://a:b@c/ nor p%2Fw"
    masked = mask_secrets(text, url)
    assert SECRET not in masked and "a:b@" not in masked
    assert masked == "cannot reach redis://:***@h:1/0 (auth ***), nor amqp://a:***@c/ nor p%2Fw"
    assert mask_secrets("Error 111 connecting to 127.0.0.1:1.", "redis://:1@h/0") == (
        "Error 111 connecting to 127.0.0.1:1."
    )


@pytest.mark.parametrize(
    ("adapter", "url"),
    [
        ("redis", f"redis://:{SECRET}@127.0.0.1:1/9"),
        ("sql", f"postgresql+psycopg://app:{SECRET}@127.0.0.1:1/app"),
        ("rabbitmq", f"amqp://user:{SECRET}@127.0.0.1:1/"),
    ],
)
def test_the_worker_never_prints_the_password(tmp_path: Path, adapter: str, url: str) -> None:
    env = {**os.environ, "JOBFRAME_ADAPTER": adapter, "JOBFRAME_URL": url}
    env.pop("JOBFRAME_ENV", None)
    out = tmp_path / "worker.log"
    with out.open("wb") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "jobframe", "work", "--log-level", "DEBUG"],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_until(lambda: b"127.0.0.1" in out.read_bytes(), 30, "the worker to report")
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    text = out.read_text(errors="replace")
    assert SECRET not in text


@settings(max_examples=200, deadline=None)
@given(
    password=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=6),
    scheme=st.sampled_from(["redis", "rediss", "postgresql+psycopg", "amqp", "mysql+pymysql"]),
    user=st.sampled_from(["", "app"]),
    tail=st.sampled_from(["/0", "/app?sslmode=require", "", "/%2F#x"]),
)
def test_no_password_survives_masking(password: str, scheme: str, user: str, tail: str) -> None:
    encoded = quote(password, safe="")
    url = f"{scheme}://{user}:{encoded}@db.internal:5432{tail}"
    assert encoded not in mask_url(url)
    text = f"connecting to {url} failed: auth {password!s} refused"
    masked = mask_secrets(text, url)
    assert encoded not in masked and password not in masked


def test_a_mistyped_adapter_option_holding_a_url_is_shown_masked() -> None:
    """An invalid ``adapter_options`` value is quoted in the error, with its password masked."""
    with pytest.raises(jobframe.ConfigurationError) as info:
        config.configure(adapter_options="redis://:hunter2@127.0.0.1:6379/0")
    assert "hunter2" not in str(info.value)
    assert "127.0.0.1:6379" in str(info.value)
    config.reset()
