"""The ``jobframe`` command: --version, generate job, plugins, and ``python -m jobframe``."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobframe import plugins
from jobframe.cli import COMMANDS, main

JOB_FILE = Path("app/jobs/process_image_data_job.py")
TEST_FILE = Path("tests/jobs/test_process_image_data_job.py")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"jobframe {importlib.metadata.version('jobframe')}\n"


def test_python_dash_m_jobframe_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jobframe", "--version"], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"jobframe {importlib.metadata.version('jobframe')}\n"


def test_no_command_prints_the_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "generate" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], *([name, "--help"] for name in COMMANDS),
                                  ["generate", "job", "--help"]])  # fmt: skip
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert "usage: jobframe" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name",
    ["ProcessImageData", "process_image_data", "process-image-data", "ProcessImageDataJob"],
)
def test_generate_job_writes_the_job_and_its_test(
    project: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "job", name]) == 0

    job, test = (project / JOB_FILE).read_text(), (project / TEST_FILE).read_text()
    compile(job, str(JOB_FILE), "exec")
    compile(test, str(TEST_FILE), "exec")
    assert "class ProcessImageDataJob(jobframe.Job):" in job
    assert 'queue_as = "default"' in job
    assert "def perform(self" in job and '"""Do the work' in job
    assert "from app.jobs.process_image_data_job import ProcessImageDataJob" in test
    assert "ProcessImageDataJob.perform_later(" in test
    assert "jobs.assert_enqueued_with(job=ProcessImageDataJob" in test
    out = capsys.readouterr().out
    assert f"create  {JOB_FILE}" in out and f"create  {TEST_FILE}" in out


def test_generate_job_options(project: Path) -> None:
    argv = ["generate", "job", "S3Upload", "--path", "src/shop/jobs", "--test-path", "t"]

    assert main([*argv, "--queue", "uploads"]) == 0

    job = (project / "src/shop/jobs/s3_upload_job.py").read_text()
    test = (project / "t/test_s3_upload_job.py").read_text()
    assert "class S3UploadJob(jobframe.Job):" in job and 'queue_as = "uploads"' in job
    assert "from src.shop.jobs.s3_upload_job import S3UploadJob" in test
    assert 'queue="uploads"' in test


def test_generate_job_refuses_to_overwrite_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / TEST_FILE).parent.mkdir(parents=True)
    (project / TEST_FILE).write_text("# mine\n")

    assert main(["generate", "job", "ProcessImageData"]) == 1

    assert str(TEST_FILE) in capsys.readouterr().err
    assert not (project / JOB_FILE).exists()
    assert not (project / "app").exists()
    assert (project / TEST_FILE).read_text() == "# mine\n"


@pytest.mark.parametrize("name", ["9lives", "process image", "process.image", "", "Jöb"])
def test_generate_job_rejects_invalid_names(
    project: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["generate", "job", name]) == 2

    assert "is not a valid job name" in capsys.readouterr().err
    assert list(project.iterdir()) == []


def run_generated_test(project: Path) -> None:
    """Run the generated test with pytest in a subprocess, as the user would; it must pass."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBFRAME_", "PYTEST_"))}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(TEST_FILE)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_generated_test_passes(project: Path) -> None:
    assert main(["generate", "job", "ProcessImageData"]) == 0
    run_generated_test(project)


# The layout docs/getting-started.md has a new user create: a package `app` with a module `jobs`.
GETTING_STARTED_JOBS = """\
import jobframe


class ApplicationJob(jobframe.Job):
    abstract = True


class SendWelcomeEmailJob(ApplicationJob):
    queue_as = "mailers"

    def perform(self, email):
        print(email)
"""

PYPROJECT = """\
[tool.jobframe]
adapter = "sql"
imports = ["app.jobs"]
"""


def test_generate_job_appends_to_a_jobs_module_and_subclasses_application_job(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "app").mkdir()
    (project / "app/__init__.py").write_text("")
    (project / "app/jobs.py").write_text(GETTING_STARTED_JOBS)

    assert main(["generate", "job", "ProcessImageData"]) == 0

    jobs = (project / "app/jobs.py").read_text()
    assert jobs.startswith(GETTING_STARTED_JOBS), "the module is appended to, not rewritten"
    assert "\n\n\nclass ProcessImageDataJob(ApplicationJob):\n" in jobs
    compile(jobs, "app/jobs.py", "exec")
    assert not (project / "app/jobs").exists()
    assert "from app.jobs import ProcessImageDataJob" in (project / TEST_FILE).read_text()
    out = capsys.readouterr().out
    assert "append  app/jobs.py" in out and f"create  {TEST_FILE}" in out
    assert "Next:" not in out, "app.jobs is in imports already"
    run_generated_test(project)


def test_generate_job_in_a_jobs_package_subclasses_its_application_job(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT)
    (project / "app/jobs").mkdir(parents=True)
    (project / "app/__init__.py").write_text("")
    (project / "app/jobs/__init__.py").write_text("")
    (project / "app/jobs/application_job.py").write_text(GETTING_STARTED_JOBS)

    assert main(["generate", "job", "ProcessImageData"]) == 0

    job = (project / JOB_FILE).read_text()
    assert "from app.jobs.application_job import ApplicationJob\n" in job
    assert "class ProcessImageDataJob(ApplicationJob):" in job
    assert "import jobframe\n" not in job
    out = capsys.readouterr().out
    assert f"create  {JOB_FILE}" in out
    assert (
        "Next: add 'app.jobs.process_image_data_job' to `imports` in [tool.jobframe] in "
        f"{project.resolve() / 'pyproject.toml'} so workers load the job." in out
    )
    run_generated_test(project)


def test_generate_job_into_a_jobs_module_without_application_job(project: Path) -> None:
    (project / "app").mkdir()
    (project / "app/__init__.py").write_text("")
    (project / "app/jobs.py").write_text('"""My jobs."""\n')

    assert main(["generate", "job", "ProcessImageData"]) == 0

    jobs = (project / "app/jobs.py").read_text()
    assert jobs.startswith('"""My jobs."""\n\n\nimport jobframe\n\n\nclass ProcessImageDataJob(')
    assert "class ProcessImageDataJob(jobframe.Job):" in jobs
    run_generated_test(project)


def test_generate_job_refuses_a_class_the_jobs_module_defines(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "app").mkdir()
    (project / "app/jobs.py").write_text(GETTING_STARTED_JOBS)

    assert main(["generate", "job", "SendWelcomeEmail"]) == 1

    assert "app/jobs.py already defines SendWelcomeEmailJob; nothing was written" in (
        capsys.readouterr().err
    )
    assert (project / "app/jobs.py").read_text() == GETTING_STARTED_JOBS
    assert not (project / "tests").exists()


def test_plugins_lists_the_built_in_adapters(capsys: pytest.CaptureFixture[str]) -> None:
    with plugins.fresh_manager():
        names = {info.name for info in plugins.adapters()}
        assert main(["plugins"]) == 0

    out = capsys.readouterr().out
    assert {"inline", "async", "test"} <= names
    for section in ("Plugins:", "Adapters:", "Failed plugins:"):
        assert section in out
    assert "jobframe.queue_adapters.inline:InlineAdapter" in out


def test_plugins_json(capsys: pytest.CaptureFixture[str]) -> None:
    with plugins.fresh_manager():
        assert main(["plugins", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    adapters = {adapter["name"]: adapter for adapter in report["adapters"]}
    assert {"inline", "async", "test"} <= set(adapters)
    assert adapters["inline"]["plugin"] == "inline"
    [inline] = [plugin for plugin in report["plugins"] if plugin["name"] == "inline"]
    assert inline["distribution"] == "jobframe"
    assert inline["hooks"] == ["register_adapters"]
    assert report["failures"] == []


def test_work_takes_job_modules_after_the_options_too(
    capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    # Modules before and after the options are all imported (the last one does not exist, so the
    # command stops there, naming it, before any worker starts).
    code = main(["work", "json", "--queues", "a,b", "-c", "2", "no_such_jobs_module"])
    assert code == 1
    assert "cannot import 'no_such_jobs_module'" in capsys.readouterr().err


def test_an_unknown_option_after_the_modules_is_still_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["work", "json", "--queues", "a", "--no-such-flag"]) == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_a_heartbeat_timeout_not_above_the_interval_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["work", "--heartbeat-interval", "5", "--heartbeat-timeout", "3"])
    assert code == 1
    err = capsys.readouterr().err
    assert "--heartbeat-timeout (3s) must be longer than --heartbeat-interval (5s)" in err


def test_an_unknown_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["work", "--log-level", "LOUD"]) == 2
    assert "invalid choice: 'LOUD'" in capsys.readouterr().err


def test_an_unreachable_backend_is_one_error_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("JOBFRAME_ADAPTER", "redis")
    monkeypatch.setenv("JOBFRAME_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.delenv("JOBFRAME_DEBUG", raising=False)
    jobframe_config_reset()
    assert main(["queues"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("jobframe: error: redis.exceptions.ConnectionError")
    assert "Traceback" not in err and "JOBFRAME_DEBUG=1" in err


def jobframe_config_reset() -> None:
    from jobframe import config, queue_adapters

    config.reset()
    queue_adapters.reset()


def test_db_init_refuses_another_adapters_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JOBFRAME_ADAPTER", "redis")
    monkeypatch.setenv("JOBFRAME_URL", "redis://127.0.0.1:6379/0")
    jobframe_config_reset()
    assert main(["db", "init"]) == 1
    err = capsys.readouterr().err
    assert "the configured adapter is 'redis', not 'sql'" in err and "--url" in err


@pytest.mark.parametrize(
    ("environ", "queues"),
    [
        ({}, ["*"]),
        ({"QUEUE": "mailers"}, ["mailers"]),  # Resque's Procfile habit
        ({"QUEUES": "a,b"}, ["a", "b"]),
        ({"QUEUES": "a", "QUEUE": "a"}, ["a"]),
    ],
)
def test_work_takes_its_queues_from_queues_or_queue(
    environ: dict[str, str], queues: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobframe.cli import build_parser
    from jobframe.worker.command import _options

    for name in ("QUEUE", "QUEUES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)

    args = build_parser(["work"]).parse_args(["work"])
    assert _options(args).queues == queues
    explicit = build_parser(["work"]).parse_args(["work", "--queues", "c"])
    assert _options(explicit).queues == ["c"], "--queues wins over the environment"


def test_work_refuses_queue_and_queues_that_disagree(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QUEUES", "a")
    monkeypatch.setenv("QUEUE", "b")

    assert main(["work"]) == 1
    err = capsys.readouterr().err
    assert "QUEUES='a' and QUEUE='b' are both set and differ; unset one" in err


def test_work_names_worker_backend_when_the_adapter_has_none(
    capsys: pytest.CaptureFixture[str], root_logging: None
) -> None:
    from jobframe import queue_adapters
    from jobframe.queue_adapters.inline import InlineAdapter

    class PluginAdapter(InlineAdapter):
        name = "plugin"

    with queue_adapters.override(PluginAdapter()):
        assert main(["work"]) == 1
    err = capsys.readouterr().err
    assert "the 'plugin' adapter's worker_backend() returned None" in err
    assert "implement worker_backend()" in err
    assert "inside the enqueuing process" not in err


def test_every_work_option_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from jobframe.worker.command import add_arguments

    work = argparse.ArgumentParser(prog="jobframe work")
    add_arguments(work)
    assert [action.dest for action in work._actions if not action.help] == []
    assert main(["work", "--help"]) == 0
    assert "one JSON object per line" in capsys.readouterr().out


def test_jobs_show_needs_an_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "show"]) == 2
    assert "name the job: `jobframe jobs show ID`" in capsys.readouterr().err
