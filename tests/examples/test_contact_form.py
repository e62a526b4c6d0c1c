"""examples/contact_form, run for real in each of its environments, switched by JOBFRAME_ENV.

In this process: the Starlette app under TestClient, with the `jobs` fixture (``test``) or the
async adapter (``development``). As subprocesses: the Procfile's ``web`` and ``worker`` commands,
on SQLite (``durable``), Redis (``production``) and PostgreSQL (``production_sql``). Every email
goes to the example's own SMTP sink (aiosmtpd), started here on a free port.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import IO, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from starlette.testclient import TestClient

import jobframe
import jobframe.config
from jobframe import queue_adapters
from jobframe.queue_adapters.async_adapter import AsyncAdapter
from jobframe.testing.databases import scratch_database
from jobframe.testing.helpers import JobsHelper
from jobframe.testing.services import require_service

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "contact_form"
BIN = Path(sys.executable).parent  # the venv's: `uvicorn` and `jobframe` in the Procfile
MODULES = ("app", "forms", "jobs", "pages", "smtp_sink")
# The test server, database 15: the example's fixed key prefix there is this test's alone, even
# while someone runs the example on database 0 of the same server.
REDIS_URL = (
    urlsplit(os.environ.get("JOBFRAME_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    ._replace(path="/15")
    .geturl()
)
VALID = {
    "name": "Ann Lee",
    "email": "ann@example.com",
    "message": "Hello,\nare you open on Sunday?",
}
ARGS = [VALID["name"], VALID["email"], VALID["message"]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
    return value


class Mailbox:
    """The example's SMTP sink on a free port of loopback; `next()` waits for a message."""

    def __init__(self, smtp_sink: ModuleType) -> None:
        self.port = free_port()
        self._sink = smtp_sink
        self._messages: queue.Queue[EmailMessage] = queue.Queue()
        self._controller: Any = None

    def start(self) -> None:
        self._controller = self._sink.start(self._messages.put, "127.0.0.1", self.port)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def next(self, timeout: float = 30.0) -> EmailMessage:
        try:
            return self._messages.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no email reached the SMTP sink within {timeout}s")

    def empty(self) -> bool:
        return self._messages.empty()


def assert_is_the_contact_email(mail: EmailMessage, job_id: str | None = None) -> None:
    assert mail["To"] == "inbox@example.com"
    assert mail["Reply-To"] == VALID["email"]
    assert mail["Subject"] == f"Contact form: message from {VALID['name']}"
    body = mail.get_content()
    assert "Ann Lee <ann@example.com> wrote:" in body and VALID["message"] in body
    if job_id is not None:
        assert mail["Message-ID"] == f"<{job_id}@contact-form.example.com>"


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """The example's modules, imported afresh from its folder, which is also the cwd."""
    for name in MODULES:  # another example's `jobs` or `app` must not stand in for ours
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.chdir(EXAMPLE)
    yield SimpleNamespace(**{name: importlib.import_module(name) for name in MODULES})
    for name in MODULES:
        sys.modules.pop(name, None)


@pytest.fixture
def mailbox(example: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A running sink, and SMTP_HOST/SMTP_PORT pointing this process's jobs at it."""
    box = Mailbox(example.smtp_sink)
    box.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(box.port))
    yield box
    box.stop()


def use_environment(monkeypatch: pytest.MonkeyPatch, name: str, **variables: str) -> None:
    """What a deployment does: set JOBFRAME_ENV (and maybe JOBFRAME_URL), nothing in code."""
    monkeypatch.setenv("JOBFRAME_ENV", name)
    for key, value in variables.items():
        monkeypatch.setenv(key, value)
    jobframe.config.reset()
    assert jobframe.settings().source == str(EXAMPLE / "pyproject.toml")


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environment", "adapter", "options"),
    [
        (None, "async", {"concurrency": 2}),
        ("test", "test", {}),
        ("development", "async", {"concurrency": 2}),
        ("durable", "sql", {"url": "sqlite:///jobs.sqlite3"}),
        ("production", "redis", {"url": "redis://127.0.0.1:6379/0", "prefix": "contact_form"}),
        (
            "production_sql",
            "sql",
            {"url": "postgresql+psycopg://postgres@127.0.0.1:5432/contact_form"},
        ),
    ],
)
def test_jobframe_env_alone_picks_the_backend(
    environment: str | None, adapter: str, options: dict[str, Any]
) -> None:
    environ = {} if environment is None else {"JOBFRAME_ENV": environment}
    settings = jobframe.config.load(start=EXAMPLE, environ=environ)
    assert settings.source == str(EXAMPLE / "pyproject.toml"), "the example's file, not the repo's"
    assert (settings.adapter, dict(settings.adapter_options)) == (adapter, options)
    assert settings.imports == ("jobs",)


def test_the_procfile_runs_the_app_and_a_worker_on_the_mailers_queue() -> None:
    commands = procfile_commands()
    assert commands["web"].startswith("uvicorn app:app ")
    assert commands["worker"].startswith("jobframe work --queues mailers ")


def test_the_smtp_sink_saves_each_message_to_a_folder(
    example: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    controller = example.smtp_sink.start(example.smtp_sink.save_to(tmp_path), "127.0.0.1", port)
    try:
        mail = example.jobs.compose("job-1", *ARGS)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(mail)  # the sink has saved it when the server answers 250
    finally:
        controller.stop()
    [saved] = tmp_path.glob("*.eml")
    assert saved.name.startswith("0001-")
    assert_is_the_contact_email(message_from_bytes(saved.read_bytes(), policy=policy.default))
    assert "Contact form: message from Ann Lee (to inbox@example.com)" in capsys.readouterr().out


# -- test: the `jobs` fixture records, perform_enqueued_jobs() sends -----------------------------


def test_the_form_page_renders(example: SimpleNamespace) -> None:
    response = TestClient(example.app.app).get("/")
    assert response.status_code == 200
    assert '<form method="post" action="/"' in response.text
    for field in ("name", "email", "message"):
        assert f'name="{field}"' in response.text


def test_a_valid_message_is_enqueued_and_the_job_sends_it(
    example: SimpleNamespace, jobs: JobsHelper, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(monkeypatch, "test")
    assert jobframe.settings().adapter == "test"
    client = TestClient(example.app.app)

    response = client.post("/", data=VALID, follow_redirects=False)

    record = jobs.assert_enqueued_with(
        job=example.jobs.SendContactEmailJob, args=ARGS, queue="mailers"
    )
    location = (response.status_code, response.headers["location"])
    assert location == (303, f"/thanks?job={record.job_id}")
    assert mailbox.empty(), "the request answered without waiting for the mail server"
    assert jobs.perform_enqueued_jobs() == 1
    assert_is_the_contact_email(mailbox.next(), record.job_id)
    assert "Thank you" in client.get("/thanks").text


def test_the_thank_you_page_polls_the_email_jobs_status_until_it_is_sent(
    example: SimpleNamespace, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(monkeypatch, "development")
    client = TestClient(example.app.app)
    response = client.post("/", data=VALID, follow_redirects=False)
    job_id = response.headers["location"].split("job=", 1)[1]
    assert_is_the_contact_email(mailbox.next(timeout=10), job_id)
    assert wait_until(
        lambda: client.get(f"/status/{job_id}").json() == {"status": "succeeded"},
        "the email job's status to be succeeded",
    )
    page = client.get(f"/thanks?job={job_id}").text
    assert 'data-status="succeeded"' in page and "Your message was sent" in page
    assert 'http-equiv="refresh"' not in page, "a sent message stops the polling"
    assert client.get("/status/not-a-job-id").status_code == 404
    assert client.get(f"/status/{uuid.uuid4()}").json() == {"status": "unknown"}


def test_a_message_on_its_way_reloads_the_page_to_poll(example: SimpleNamespace) -> None:
    page = example.pages.thanks_page("ready")
    assert '<meta http-equiv="refresh" content="2">' in page and "on its way" in page
    assert "try again shortly" in example.pages.thanks_page("retrying")


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({**VALID, "name": "  "}, "name", "Please fill this in."),
        ({**VALID, "email": "ann at example.com"}, "email", "does not look like an email"),
        ({**VALID, "email": "ann@example.com\r\nBcc: all@example.com"}, "email", "does not look"),
        ({**VALID, "name": "Ann\r\nBcc: all@example.com"}, "name", "on one line"),
        ({**VALID, "message": "x" * 5001}, "message", "under 5000 characters"),
        ({"name": "Ann"}, "message", "Please fill this in."),
    ],
)
def test_invalid_input_comes_back_with_errors_and_enqueues_nothing(
    example: SimpleNamespace,
    jobs: JobsHelper,
    monkeypatch: pytest.MonkeyPatch,
    data: dict[str, str],
    field: str,
    error: str,
) -> None:
    use_environment(monkeypatch, "test")
    response = TestClient(example.app.app).post("/", data=data)
    assert response.status_code == 422
    assert f'<p class="error" id="{field}-error">' in response.text and error in response.text
    jobs.assert_no_enqueued_jobs()


def test_what_the_visitor_typed_is_kept_and_escaped(
    example: SimpleNamespace, jobs: JobsHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(monkeypatch, "test")
    data = {**VALID, "email": "nope", "message": "<script>alert(1)</script>"}
    response = TestClient(example.app.app).post("/", data=data)
    assert response.status_code == 422
    assert "&lt;script&gt;alert(1)&lt;/script&gt;</textarea>" in response.text
    assert "<script>" not in response.text and 'value="Ann Lee"' in response.text
    jobs.assert_no_enqueued_jobs()


def test_with_the_mail_server_down_the_email_is_retried_not_lost(
    example: SimpleNamespace, jobs: JobsHelper, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(monkeypatch, "test")
    mailbox = Mailbox(example.smtp_sink)  # not started yet: its port refuses connections
    monkeypatch.setenv("SMTP_PORT", str(mailbox.port))
    TestClient(example.app.app).post("/", data=VALID)

    now = datetime.now(UTC)
    assert jobs.perform_enqueued_jobs(at=now) == 1  # connection refused: retry_on takes it
    retry = jobs.assert_enqueued_with(
        job=example.jobs.SendContactEmailJob, args=ARGS, at=now + timedelta(seconds=3)
    )
    assert retry.payload["executions"] == 1
    assert retry.job_id == jobs.performed_jobs[0].job_id

    mailbox.start()
    try:
        assert jobs.perform_enqueued_jobs() == 1
        assert_is_the_contact_email(mailbox.next(), retry.job_id)
    finally:
        mailbox.stop()
    jobs.assert_no_enqueued_jobs()


def test_with_the_queue_down_the_visitor_is_told_and_keeps_the_message(
    example: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"  # production, but nothing answers there
    use_environment(monkeypatch, "production", JOBFRAME_URL=closed)
    response = TestClient(example.app.app).post("/", data=VALID)
    assert response.status_code == 503
    assert "Please try again" in response.text
    assert "are you open on Sunday?</textarea>" in response.text


# -- development: the async adapter sends from a thread of the web process ----------------------


def test_development_sends_from_a_thread_of_the_web_process(
    example: SimpleNamespace, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_environment(monkeypatch, "development")
    response = TestClient(example.app.app).post("/", data=VALID)
    assert response.status_code == 200 and "Thank you" in response.text
    assert isinstance(queue_adapters.get(), AsyncAdapter)
    assert_is_the_contact_email(mailbox.next(timeout=10))


# -- durable backends: the Procfile's web and worker as real processes ---------------------------


def procfile_commands() -> dict[str, str]:
    lines = (EXAMPLE / "Procfile").read_text().splitlines()
    entries = (line.partition(":") for line in lines)
    return {name.strip(): command.strip() for name, _, command in entries if command}


class Procfile:
    """Runs the Procfile's commands as honcho or foreman would: through a shell, in the
    example's folder, with the given environment. Kills what is left at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.commands = procfile_commands()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._files: list[IO[bytes]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        self._files.append(log)
        proc = subprocess.Popen(
            ["sh", "-c", f"exec {self.commands[name]}"],
            cwd=EXAMPLE,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def output(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str) -> int:
        """SIGTERM, as a platform does on deploy; the exit code."""
        proc = self.procs[name]
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=40)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for file in self._files:
            file.close()


def example_env(environment: str, url: str, smtp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBFRAME_", "SMTP_"))}
    env.update(
        JOBFRAME_ENV=environment,
        JOBFRAME_URL=url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
        PORT=str(free_port()),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


@pytest.fixture
def run_procfile(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Procfile]]:
    made: list[Procfile] = []

    def make(env: dict[str, str]) -> Procfile:
        made.append(Procfile(env, tmp_path))
        return made[-1]

    yield make
    for procfile in made:
        procfile.close()


def db_init(env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(BIN / "jobframe"), "db", "init"],
        cwd=EXAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@contextmanager
def inspected(environment: str, url: str) -> Iterator[Any]:
    """The inspector of the example's backend for ``environment`` at ``url``, in this process."""
    settings = jobframe.config.load(
        start=EXAMPLE, environ={"JOBFRAME_ENV": environment, "JOBFRAME_URL": url}
    )
    adapter = queue_adapters.lookup(settings.adapter, **settings.adapter_options)
    try:
        yield adapter.inspector()  # type: ignore[attr-defined]
    finally:
        adapter.shutdown()


def post_form(env: dict[str, str], data: dict[str, str]) -> tuple[int, str, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['PORT']}/", data=urlencode(data).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.geturl(), response.read().decode()


def urlopen_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return str(response.read().decode())


def wait_for_web(procfile: Procfile, env: dict[str, str]) -> None:
    def answers() -> bool:
        if procfile.procs["web"].poll() is not None:
            pytest.fail(f"the web process exited:\n{procfile.output('web')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{env['PORT']}/", timeout=1):
                return True
        except OSError:
            return False

    wait_until(answers, "the web process to answer")


@pytest.fixture(params=["durable", "production", "production_sql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(JOBFRAME_ENV, JOBFRAME_URL) of an empty store: a SQLite file, a Redis prefix cleared before
    and after, or a PostgreSQL database made for the test and dropped after it."""
    environment: str = request.param
    if environment == "durable":
        yield environment, f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    elif environment == "production":
        require_service("Redis", "127.0.0.1", 6379)
        clear_redis_prefix()
        yield environment, REDIS_URL
        clear_redis_prefix()
    else:
        with scratch_database("postgresql") as url:
            yield environment, url


def clear_redis_prefix() -> None:
    """Delete the keys under the example's prefix (fixed by its config) on the test database."""
    import redis

    settings = jobframe.config.load(start=EXAMPLE, environ={"JOBFRAME_ENV": "production"})
    client = redis.Redis.from_url(REDIS_URL)
    try:
        pattern = "{" + settings.adapter_options["prefix"] + "}:*"
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.mark.slow
def test_durable_backends_keep_the_email_until_a_worker_sends_it(
    mailbox: Mailbox,
    backend: tuple[str, str],
    run_procfile: Callable[[dict[str, str]], Procfile],
) -> None:
    environment, url = backend
    env = example_env(environment, url, mailbox.port)
    if environment != "production":
        db_init(env)  # the SQL backends want their tables first
    procfile = run_procfile(env)
    procfile.start("web")
    wait_for_web(procfile, env)

    status, final_url, page = post_form(env, VALID)

    assert (status, urlsplit(final_url).path) == (200, "/thanks") and "Thank you" in page
    job_id = parse_qs(urlsplit(final_url).query)["job"][0]
    assert 'data-status="ready"' in page, "the page shows the job waiting for a worker"
    with inspected(environment, url) as inspector:
        assert inspector.count("ready") == 1, "stored, waiting for a worker"
        assert mailbox.empty()
        procfile.start("worker")
        assert_is_the_contact_email(mailbox.next(timeout=30))
        status_url = f"http://127.0.0.1:{env['PORT']}/status/{job_id}"
        wait_until(lambda: json.loads(urlopen_text(status_url))["status"] == "succeeded",
                   "the web process to see the job succeeded")  # fmt: skip
        assert procfile.stop("worker") == 0, procfile.output("worker")
        assert [inspector.count(s) for s in ("ready", "scheduled", "running", "dead")] == [0] * 4
    assert "Performed SendContactEmailJob" in procfile.output("worker")
    assert "Ann Lee" not in procfile.output("worker"), "log_arguments = False"
    # uvicorn shuts down gracefully, then re-raises SIGTERM to report how it was stopped.
    assert procfile.stop("web") in (0, -signal.SIGTERM), procfile.output("web")
    assert "Application shutdown complete" in procfile.output("web")


@pytest.mark.slow
def test_a_worker_retries_while_the_mail_server_is_down(
    example: SimpleNamespace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    run_procfile: Callable[[dict[str, str]], Procfile],
) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    mailbox = Mailbox(example.smtp_sink)  # started only after the first attempt failed
    env = example_env("durable", url, mailbox.port)
    db_init(env)
    use_environment(monkeypatch, "durable", JOBFRAME_URL=url)  # the web app, in this process
    response = TestClient(example.app.app).post("/", data=VALID)
    assert response.status_code == 200
    inspector = queue_adapters.get().inspector()  # type: ignore[attr-defined]
    procfile = run_procfile(env)
    procfile.start("worker")
    try:
        wait_until(lambda: inspector.count("scheduled") == 1, "the retry to be scheduled")
        [retry] = inspector.jobs("scheduled")
        assert (retry.executions, inspector.count("dead")) == (1, 0)
        mailbox.start()
        mail = mailbox.next(timeout=30)
    finally:
        mailbox.stop()
    assert_is_the_contact_email(mail, retry.job_id)  # the same job, run again
    assert procfile.stop("worker") == 0, procfile.output("worker")
    assert "ConnectionRefusedError" in procfile.output("worker")
    assert inspector.stats()["processed"] == 2 and inspector.count("dead") == 0
