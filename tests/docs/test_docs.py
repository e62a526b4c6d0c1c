"""Every fenced code block in ``docs/**/*.md`` and ``README.md`` is a test item (``jobs.md:42``).

What each block's language means:

- ``python``: executed. A page's python blocks run in page order in one shared namespace, like a
  doctest session, in a fresh temporary working directory (importable: files a block writes there
  can be imported), with fresh jobframe settings and the ``test`` adapter configured; a block may
  configure another adapter. A failing block fails its own item only. A later block of the page
  still runs; if it fails too, its message names the earlier failures it may depend on. Lines
  starting with ``>>>`` make the block a doctest (its expected output is compared, with ``...`` and
  whitespace normalised). After a block runs, the ``test_*`` functions and ``unittest.TestCase``
  classes it defined are run too: a function may ask for ``jobs`` (a fresh `JobsHelper`, installed,
  as the pytest fixture), ``tmp_path`` and ``monkeypatch``.
- ``python`` whose first line is a comment naming a path in this repository
  (``# examples/jobframe-rabbitmq/src/jobframe_rabbitmq/adapter.py``): a **quotation**. It is not
  executed; the rest of the block must appear verbatim, as contiguous lines, in that file (an
  indentation shift of the whole block is allowed). The path is relative to the repo root: a
  path under a top-level entry of the repo (``jobframe/``, ``examples/``, ...), under ``src/``, or
  one that only exists inside a distribution of the repo fails with a message saying so when it is
  not found. Any other path (``# app/jobs.py``, the reader's own file) is just a comment, and the
  block is executed. In toml, sh and yaml blocks a first-line comment naming a path under a
  top-level entry of the repo is a quotation too (and the block is still parsed).
- ``toml``: parsed with `tomllib`. A ``[tool.jobframe]`` table is loaded through the real
  `jobframe.config.load`, once per environment overlay; so is a block whose first line is a comment
  naming ``jobframe.toml`` (keys at the top level).
- ``sh``, ``bash``, ``shell``, ``console``: each command (``&&``, ``;``, ``|`` and ``\\``
  continuations split/joined; ``VAR=value`` prefixes and a ``$`` prompt stripped; in a block with
  ``$`` prompts only those lines are commands) that runs ``jobframe`` or ``python -m jobframe`` is
  parsed by the real CLI parser (`jobframe.cli.build_parser`, plugins' commands included) and must
  parse. Read-only commands (``--version``, ``--help``, ``plugins``) are also run and must exit 0.
  Other commands are ignored.
- ``json`` and ``yaml``: parsed. ``pycon``: a doctest, as above.
- Any other language (``text``, ``output``, ``ini``, ``procfile``, ``dockerfile``, ...): not code;
  it only has to have a language. **A block without a language fails**: give the block a language.

Directives, as HTML comments (GitHub and MkDocs do not show them):

- ``<!-- docs-test: skip REASON -->`` directly before a block (blank lines and other directives
  may come between): the item is skipped with the reason, which is required. Use it rarely; a known
  bug in jobframe is ``skip BUG: ...``.
- ``<!-- docs-test: compare LIBRARY -->`` directly before a python block: another library's code,
  shown side by side with jobframe's (the migration guides). It is compiled, so it must be valid
  Python, but not run (RQ, Celery and Dramatiq are not installed with jobframe).
- A hidden setup block, run in the page namespace before the next block, as part of its item::

      <!-- docs-test: setup
      users = [User(1), User(2)]
      -->

  It is for the names prose code assumes (``user``, ``Session``, a service check such as
  ``jobframe.testing.services.require_service("Redis", "127.0.0.1", 6379)``, which skips locally
  and fails under ``CI``). A setup with no block after it is an item of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import inspect
import io
import json
import re
import shlex
import textwrap
import tomllib
import unittest
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

import jobframe.config
from jobframe import cli
from jobframe.testing import JobsHelper

PageSession = Any  # tests/docs/conftest.py (not importable from here): namespace, folder, settings
REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PYTHON = {"python", "py", "python3", "pycon"}
SHELLS = {"sh", "bash", "shell", "console", "zsh"}
HASH_COMMENTED = {"toml", "sh", "bash", "shell", "yaml", "yml"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<rest>.*)$")


@dataclass
class Block:
    """One test item: a fenced block (or a setup at the end of a page) and its directives."""

    page: str  # "jobs.md", "cli/work.md", "README.md"
    path: Path
    index: int  # position among the page's items
    line: int  # the opening fence (or the setup comment), 1-based
    lang: str  # "" when the fence names none; "setup" for a setup at the end of a page
    code: str
    code_line: int = 0  # line of the first code line
    setups: list[tuple[int, str]] = field(default_factory=list)  # (first line, code)
    skip: str | None = None
    compare: str | None = None  # another library's code: compiled, not run
    problems: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def executed(self) -> bool:
        """Whether it runs code in the page namespace (so later blocks may depend on it)."""
        if self.compare is not None:
            return False
        return bool(self.setups) or (self.lang in PYTHON and quotation_path(self) is None)


def parse_page(page: str, path: Path) -> list[Block]:
    """The fenced blocks of a markdown page, with the directives written before them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: dict[str, Any] = {"setups": [], "skip": None, "compare": None, "problems": []}
    directly_before = False  # only blank lines and directives since the last directive
    i = 0
    while i < len(lines):
        number = i + 1
        directive, fence = DIRECTIVE.match(lines[i]), FENCE.match(lines[i])
        if directive:
            text = [directive["rest"]]
            while "-->" not in text[-1] and i + 1 < len(lines):
                i += 1
                text.append(lines[i])
            if "-->" not in text[-1]:
                pending["problems"].append(f"line {number}: the comment is never closed (-->)")
            text[-1] = text[-1].split("-->", 1)[0]
            word, _, argument = text[0].strip().partition(" ")
            if word == "skip":
                if not argument.strip():
                    pending["problems"].append(f"line {number}: `docs-test: skip` needs a reason")
                pending["skip"] = argument.strip() or "(no reason given)"
            elif word == "compare":
                if not argument.strip():
                    pending["problems"].append(
                        f"line {number}: `docs-test: compare` names a library"
                    )
                pending["compare"] = argument.strip() or "(no library named)"
            elif word == "setup" and not argument.strip():
                pending["setups"].append((number + 1, textwrap.dedent("\n".join(text[1:]))))
            else:
                pending["problems"].append(
                    f"line {number}: unknown directive `docs-test: {text[0].strip()}`"
                )
            directly_before = True
        elif fence:
            marker, indent = fence["fence"], len(fence["indent"])
            end = i + 1
            while end < len(lines) and not _closes(lines[end], marker):
                end += 1
            if pending["skip"] is not None and not directly_before:
                pending["problems"].append("a `docs-test: skip` must come directly before a block")
            body = [
                raw[indent:] if not raw[:indent].strip() else raw.lstrip()
                for raw in lines[i + 1 : end]
            ]
            info = fence["info"].split()
            blocks.append(
                Block(
                    page,
                    path,
                    len(blocks),
                    number,
                    info[0].lower() if info else "",
                    "\n".join(body) + "\n",
                    number + 1,
                    **pending,
                )
            )
            pending = {"setups": [], "skip": None, "compare": None, "problems": []}
            directly_before = False
            i = end
        elif lines[i].strip():
            directly_before = False
        i += 1
    if any(pending.values()):  # a setup after the page's last block is an item of its own
        line = pending["setups"][0][0] - 1 if pending["setups"] else len(lines)
        blocks.append(Block(page, path, len(blocks), line, "setup", "", **pending))
    return blocks


def _closes(line: str, marker: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(marker) and not stripped.strip(marker[0])


def collect() -> list[Block]:
    pages = [(p.relative_to(DOCS).as_posix(), p) for p in sorted(DOCS.rglob("*.md"))]
    pages.append(("README.md", REPO / "README.md"))
    return [block for page, path in pages for block in parse_page(page, path)]


BLOCKS = collect()


@pytest.mark.parametrize("block", BLOCKS, ids=[block.id for block in BLOCKS])
def test_block(block: Block, open_page: Callable[[str, Path], PageSession]) -> None:
    __tracebackhide__ = True
    if block.problems:
        pytest.fail(f"{block.id}: " + "; ".join(block.problems), pytrace=False)
    session = open_page(block.page, block.path)
    for earlier in BLOCKS:  # with -k, the page's earlier blocks still run first, unreported
        before = earlier.page == block.page and earlier.index < block.index
        if before and earlier.index not in session.outcomes:
            _run(session, earlier, report=False)
    _run(session, block, report=True)


def _run(session: PageSession, block: Block, report: bool) -> None:
    __tracebackhide__ = True
    try:
        for line, code in block.setups:
            try:
                _exec(session, code, line)
            except Exception as exc:
                exc.add_note(f"in the hidden setup at {block.page}:{line - 1}")
                raise
        if block.skip is not None:
            pytest.skip(f"{block.id}: {block.skip}")
        if block.compare is not None:
            compile(block.code, f"{block.id} ({block.compare} code)", "exec")
        else:
            check_block(session, block)
    except pytest.skip.Exception as exc:
        session.outcomes[block.index] = f"skipped: {exc.msg}"
        if report:
            raise
    except (Exception, pytest.fail.Exception) as exc:
        session.outcomes[block.index] = "failed"
        if not report:
            return
        earlier = [
            f"{b.id} ({session.outcomes[b.index]})"
            for b in BLOCKS
            if b.page == block.page
            and b.index < block.index
            and b.executed
            and session.outcomes.get(b.index) != "passed"
        ]
        if earlier and block.executed:
            if any("not answering" in e for e in earlier):  # require_service() skipped locally
                pytest.skip(
                    f"{block.id}: an earlier block's service is missing ({earlier[0]}); "
                    f"this block then failed with {exc!r}"
                )
            exc.add_note(
                f"{block.id} may depend on earlier blocks of its page that did not "
                "pass: " + ", ".join(earlier)
            )
        raise
    else:
        session.outcomes[block.index] = "passed"


def check_block(session: PageSession, block: Block) -> None:
    """Check one block according to its language (see the module docstring)."""
    __tracebackhide__ = True
    lang, code = block.lang, block.code
    if lang == "setup":
        return
    if not lang:
        pytest.fail(
            f"{block.id}: give the block a language (```python, ```sh, ```text, ...)",
            pytrace=False,
        )
    quoted = quotation_path(block)
    if quoted is not None:
        check_quotation(block, quoted)
    if lang in PYTHON:
        if lang == "pycon" or re.search(r"^\s*>>> ", code, re.MULTILINE):
            run_doctest(session, block)
        elif quoted is None:
            before = dict(session.module.__dict__)
            _exec(session, code, block.code_line)
            run_defined_tests(session, before)
    elif lang == "toml":
        check_toml(session, block)
    elif lang in SHELLS:
        check_shell(block)
    elif lang == "json":
        json.loads(code)
    elif lang in {"yaml", "yml"}:
        list(yaml.safe_load_all(code))
    # any other language (text, output, ini, procfile, dockerfile, ...) is not code


# -- python -------------------------------------------------------------------------------------


def _exec(session: PageSession, code: str, first_line: int) -> None:
    __tracebackhide__ = True
    # Padding keeps the line numbers those of the markdown file: tracebacks point into the page.
    compiled = compile("\n" * (first_line - 1) + code, str(session.path), "exec")
    exec(compiled, session.module.__dict__)


def run_defined_tests(session: PageSession, before: dict[str, Any]) -> None:
    """Run the test functions and TestCase classes a block just defined, as pytest would."""
    __tracebackhide__ = True
    for name, value in list(session.module.__dict__.items()):
        if (
            before.get(name) is value
            or getattr(value, "__module__", None) != session.module.__name__
        ):
            continue
        if inspect.isfunction(value) and name.startswith("test"):
            try:
                _run_test_function(value)
            except Exception as exc:
                exc.add_note(f"in {name}(), a test function the block defines")
                raise
        elif isinstance(value, type) and issubclass(value, unittest.TestCase):
            out = io.StringIO()
            suite = unittest.defaultTestLoader.loadTestsFromTestCase(value)
            if not unittest.TextTestRunner(stream=out, verbosity=2).run(suite).wasSuccessful():
                pytest.fail(
                    f"unittest {name}, which the block defines, failed:\n{out.getvalue()}",
                    pytrace=False,
                )


def _run_test_function(fn: Any) -> None:
    __tracebackhide__ = True
    with contextlib.ExitStack() as stack:
        kwargs: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters:
            if param == "jobs":
                kwargs[param] = stack.enter_context(JobsHelper().installed())
            elif param == "tmp_path":
                kwargs[param] = Path.cwd() / f"tmp_{fn.__name__}"
                kwargs[param].mkdir()
            elif param == "monkeypatch":
                kwargs[param] = stack.enter_context(pytest.MonkeyPatch.context())
            else:
                pytest.fail(
                    f"{fn.__name__} asks for the fixture {param!r}; the docs harness "
                    "provides jobs, tmp_path and monkeypatch",
                    pytrace=False,
                )
        result = fn(**kwargs)
        if inspect.iscoroutine(result):
            asyncio.run(result)


def run_doctest(session: PageSession, block: Block) -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(
        block.code, session.module.__dict__, block.id, str(block.path), block.code_line - 1
    )
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = io.StringIO()
    runner.run(test, out=out.write, clear_globs=False)
    if runner.failures:
        pytest.fail(out.getvalue(), pytrace=False)


# -- quotations ---------------------------------------------------------------------------------


def quotation_path(block: Block) -> str | None:
    """The repo path a block's first-line comment names as its source, if it is a quotation."""
    if block.lang not in {"python", "py", "python3"} | HASH_COMMENTED:
        return None
    first = block.code.split("\n", 1)[0].strip()
    match = re.match(r"#\s*(\S+/\S+\.\w+)\b", first)
    if not match:
        return None
    path = match[1]
    if (REPO / path).is_file():
        return path
    top = path.split("/", 1)[0]
    if block.lang not in {"python", "py", "python3"}:
        return path if (REPO / top).is_dir() else None
    if (REPO / top).is_dir() or top == "src" or _inside_a_distribution(path):
        return path
    return None  # the reader's own file (`# app/jobs.py`): ordinary code


def _inside_a_distribution(path: str) -> list[Path]:
    return [
        p
        for root in ("examples", "adapters")
        for p in (REPO / root).rglob(Path(path).name)
        if p.as_posix().endswith("/" + path)
    ]


def check_quotation(block: Block, path: str) -> None:
    file = REPO / path
    if not file.is_file():
        hint = ", ".join(str(p.relative_to(REPO)) for p in _inside_a_distribution(path))
        pytest.fail(
            f"{block.id} quotes {path}, which does not exist: quotation paths are relative "
            "to the repository root" + (f" (did you mean {hint}?)" if hint else ""),
            pytrace=False,
        )
    quoted = [line.rstrip() for line in block.code.rstrip("\n").split("\n")[1:]]
    while quoted and not quoted[0]:
        quoted.pop(0)
    source = [line.rstrip() for line in file.read_text(encoding="utf-8").splitlines()]
    if not quoted or _contains(source, quoted):
        return
    pytest.fail(
        f"{block.id}: the block is not a verbatim excerpt of {path}: its lines must appear "
        "there as they are, contiguous (only a shift of the whole block's indentation is "
        "allowed). Copy the excerpt again from the file.",
        pytrace=False,
    )


def _contains(source: list[str], quoted: list[str]) -> bool:
    for start in range(len(source) - len(quoted) + 1):
        shift = source[start].removesuffix(quoted[0])
        if shift == source[start] or shift.strip():
            continue  # the first line does not match, even indented
        window = source[start : start + len(quoted)]
        if all(s == (shift + q if q else "") for q, s in zip(quoted, window, strict=True)):
            return True
    return False


# -- toml ---------------------------------------------------------------------------------------


def check_toml(session: PageSession, block: Block) -> None:
    data = tomllib.loads(block.code)
    first = block.code.split("\n", 1)[0]
    if isinstance(data.get("tool"), dict) and "jobframe" in data["tool"]:
        name, table = "pyproject.toml", data["tool"]["jobframe"]
    elif re.match(r"#.*\bjobframe\.toml\b", first):
        name, table = "jobframe.toml", data
    else:
        return
    folder = session.tmp / f"toml_{block.line}"
    folder.mkdir()
    (folder / name).write_text(block.code, encoding="utf-8")
    jobframe.config.load(start=folder, environ={})
    for environment in table.get("environments", {}):
        jobframe.config.load(start=folder, environ={"JOBFRAME_ENV": environment})


# -- shell --------------------------------------------------------------------------------------


def shell_commands(code: str, console: bool) -> list[list[str]]:
    """The simple commands of a shell block, as argv lists without ``VAR=value`` prefixes."""
    lines = code.replace("\\\n", " ").splitlines()
    if console and any(line.startswith("$ ") for line in lines):
        lines = [line[2:] for line in lines if line.startswith("$ ")]
    commands: list[list[str]] = []
    for line in lines:
        lexer = shlex.shlex(line.removeprefix("$ "), posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        current: list[str] = []
        for token in lexer:
            if token and set(token) <= set(";&|"):
                commands.append(current)
                current = []
            elif current or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", token):
                current.append(token)
        commands.append(current)
    return [command for command in commands if command]


def jobframe_arguments(argv: list[str]) -> list[str] | None:
    """What follows ``jobframe`` / ``python -m jobframe`` in a command, or None."""
    program = argv[0].rsplit("/", 1)[-1]
    if program == "jobframe":
        return argv[1:]
    if re.fullmatch(r"python(3(\.\d+)?)?", program) and argv[1:3] == ["-m", "jobframe"]:
        return argv[3:]
    return None


def check_shell(block: Block) -> None:
    for argv in shell_commands(block.code, console=block.lang == "console"):
        arguments = jobframe_arguments(argv)
        if arguments is None:
            continue
        command = shlex.join(["jobframe", *arguments])
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.build_parser(arguments).parse_args(arguments)
                code = 0
            except SystemExit as exc:  # --help and --version exit 0; a usage error exits 2
                code = exc.code if isinstance(exc.code, int) else 1
            if code == 0 and _read_only(arguments):
                code = cli.main(arguments)
        if code != 0:
            pytest.fail(
                f"{block.id}: `{command}` exits with {code}:\n{err.getvalue()}", pytrace=False
            )


def _read_only(arguments: list[str]) -> bool:
    words = [a for a in arguments if not a.startswith("-")]
    return (
        "--help" in arguments
        or "-h" in arguments
        or "--version" in arguments
        or words == ["plugins"]
    )


# -- the harness itself -------------------------------------------------------------------------


def test_parse_page_reads_languages_directives_and_setups(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    lines = [
        "# Page", "", "<!-- docs-test: setup", "user = 1", "-->", "", "Prose.", "",
        "```python", "print(user)", "```", "",
        "<!-- docs-test: skip needs a GPU -->", "", "~~~~sh", "```", "jobframe work", "~~~~", "",
        "Prose.", "<!-- docs-test: skip -->", "Prose.", "```", "bare", "```", "",
        "<!-- docs-test: setup", "end = 1", "-->",
    ]  # fmt: skip
    page.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first, second, third, trailing = parse_page("page.md", page)
    assert (first.id, first.lang, first.code, first.code_line) == (
        "page.md:9",
        "python",
        "print(user)\n",
        10,
    )
    assert first.setups == [(4, "user = 1\n")]
    assert (second.lang, second.skip, second.code) == ("sh", "needs a GPU", "```\njobframe work\n")
    assert third.lang == "" and len(third.problems) == 2  # no reason; not directly before
    assert trailing.id == "page.md:27"
    assert (trailing.lang, trailing.setups) == ("setup", [(28, "end = 1\n")])


def test_shell_commands_finds_jobframe_invocations() -> None:
    code = (
        "pip install jobframe  # not ours\n"
        "JOBFRAME_ENV=production QUEUES=* jobframe work --processes 4\n"
        "jobframe db init && .venv/bin/python -m jobframe queues | head\n"
        "jobframe work \\\n  --concurrency 8   # a comment\n"
    )
    runs = [jobframe_arguments(argv) for argv in shell_commands(code, console=False)]
    assert [r for r in runs if r is not None] == [
        ["work", "--processes", "4"],
        ["db", "init"],
        ["queues"],
        ["work", "--concurrency", "8"],
    ]
    console = "$ jobframe --version\njobframe 0.1.0\n"
    assert shell_commands(console, console=True) == [["jobframe", "--version"]]


def test_quotations_allow_only_a_shift_of_indentation() -> None:
    source = ["class A:", "    def f(self):", "        return 1", "", "    x = 2"]
    assert _contains(source, ["def f(self):", "    return 1"])
    assert _contains(source, ["    def f(self):", "        return 1", "", "    x = 2"])
    assert not _contains(source, ["def f(self):", "return 1"])
    assert not _contains(source, ["return 1", "x = 2"])
