"""The docs against the code: example outputs, the commands they name, and their links.

An example is checked when the line before its fenced block is a comment starting
``<!-- example:`` and the block's first line is ``$ COMMAND``: the command runs in-process
(``hrvd.cli.main``, from the repository's root) as at a terminal (a table, not CSV; a dumb
one, so without style codes) and what it prints must equal the rest of
the block, exactly, but for dates (``YYYY-MM-DD``), which are replaced in both because the
data a command reads is made relative to today. A command that reads a store gets one from
``SETUPS`` (a config named by ``HRVD_CONFIG``, as a user's would be found).
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from hrvd.cli import main
from hrvd.store import Store, open_store
from support.terminal import Terminal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
USER_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ALL_DOCS = [*USER_DOCS, ROOT / "BENCHMARKS.md", ROOT / "RELIABILITY.md"]

MARK = "<!-- example:"
EXAMPLE = re.compile(
    r"^<!-- example:[^\n]*-->\n```[\w-]*\n\$ (?P<command>[^\n]+)\n(?P<output>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
FENCE = re.compile(r"^ *```[^\n]*\n.*?^ *```", re.MULTILINE | re.DOTALL)
SH_BLOCK = re.compile(r"^ *```(?:sh|console)\n(?P<body>.*?)^ *```", re.MULTILINE | re.DOTALL)
INLINE_COMMAND = re.compile(r"`(hrvd [^`]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\((?P<target>[^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(?P<text>.+?) *#* *$", re.MULTILINE)
CHOICES = re.compile(r"\{([\w,-]+)\}")
SUBCOMMAND = re.compile(r"^ {4}([a-z][\w-]*)(?: |$)", re.MULTILINE)


def _three_rides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rides whose HRVT1 estimates are 145, 147 and 150 bpm, 14, 7 and 3 days ago."""

    async def add_rides(store: Store) -> None:
        for i, (days_ago, bpm) in enumerate([(14, 145.0), (7, 147.0), (3, 150.0)]):
            started = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
            ride = {"id": f"H10@{i}", "strap": "H10", "started": started, "ended": started}
            await store.add_ride({**ride, "hrvt1_bpm": bpm})

    store = open_store(tmp_path / "hrvd.sqlite3")  # opened and closed outside the loop
    try:
        asyncio.run(add_rides(store))
    finally:
        store.close()
    config = tmp_path / "hrvd.toml"
    config.write_text(
        "[athlete]\nhr_max = 190\nceiling_follows_hrvt1 = true\n"
        f'[store]\npath = "{tmp_path / "hrvd.sqlite3"}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("HRVD_CONFIG", str(config))


SETUPS: dict[str, Callable[[Path, pytest.MonkeyPatch], None]] = {
    "hrvd thresholds": _three_rides,
}


def _examples() -> Iterator[tuple[str, str, str]]:
    for doc in USER_DOCS:
        for found in EXAMPLE.finditer(doc.read_text(encoding="utf-8")):
            yield doc.relative_to(ROOT).as_posix(), found["command"], found["output"]


EXAMPLES = list(_examples())


def test_every_marked_example_is_a_command_and_its_output() -> None:
    for doc in USER_DOCS:
        text = doc.read_text(encoding="utf-8")
        assert text.count(MARK) == len(EXAMPLE.findall(text)), (
            f"{doc.name}: a marked block without '$ hrvd ...'"
        )
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize(
    "example", EXAMPLES, ids=[f"{doc}: {command}" for doc, command, _ in EXAMPLES]
)
def test_an_example_shows_what_the_command_prints(
    example: tuple[str, str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc, command, shown = example
    argv = shlex.split(command)
    assert argv[0] == "hrvd", f"{doc}: an example runs hrvd, not {argv[0]}"
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("HRVD_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    if command in SETUPS:
        SETUPS[command](tmp_path, monkeypatch)
    terminal = Terminal()
    monkeypatch.setattr("sys.stdout", terminal)
    monkeypatch.setenv("TERM", "dumb")
    assert main(argv[1:]) == 0
    assert capsys.readouterr().out == ""
    printed = terminal.getvalue()
    assert DATE.sub("YYYY-MM-DD", printed) == DATE.sub("YYYY-MM-DD", shown)


def test_readme_names_every_key_of_analyze_json_and_of_its_quality(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    keys_bullet = readme.split("- **`--format json`**", 1)[1].split("\n- ", 1)[0]
    quality_keys = readme.split("In JSON, `quality` is an object of", 1)[1].split(";", 1)[0]
    monkeypatch.chdir(ROOT)
    assert main(["analyze", "examples/resting.txt", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(re.findall(r"`(\w+)`", keys_bullet)) == set(printed)
    assert set(re.findall(r"`(\w+)`", quality_keys)) == set(printed["quality"])


def _shell_commands(line: str) -> Iterator[list[str]]:
    """The simple commands of a shell line, without redirections and comments."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    command: list[str] = []
    redirected = False
    for token in [*lexer, ";"]:
        if token in {"&&", "||", ";", "|"}:
            yield command
            command, redirected = [], False
        elif token in {">", ">>", "<"}:
            redirected = True
        elif not redirected:
            command.append(token)


def _commands_in(text: str) -> Iterator[list[str]]:
    """The words after ``hrvd`` in every command of a shell block and every inline span."""
    for block in SH_BLOCK.finditer(text):
        for line in block["body"].replace("\\\n", " ").splitlines():
            for command in _shell_commands(line.removeprefix("$ ")):
                words = command
                while words[:1] == ["sudo"]:
                    words = words[3:] if words[1:2] == ["-u"] else words[1:]
                if words and (words[0] == "hrvd" or words[0].endswith("/bin/hrvd")):
                    yield words[1:]
    for span in INLINE_COMMAND.finditer(FENCE.sub("", text)):
        yield span[1].split()[1:]


def _help(path: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def _subcommands(help_text: str) -> set[str]:
    """The commands listed under 'positional arguments', or the choices in the usage line."""
    listed = set(SUBCOMMAND.findall(help_text))
    usage = help_text.split("\n\n", 1)[0]
    return listed | {c for group in CHOICES.findall(usage) for c in group.split(",")}


@pytest.mark.parametrize("doc", USER_DOCS, ids=lambda d: d.name)
def test_every_hrvd_command_in_the_docs_exists_with_its_options(
    doc: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "500")  # argparse keeps the usage line, with its choices, whole
    commands = list(_commands_in(doc.read_text(encoding="utf-8")))
    top = _help([], capsys)
    for words in commands:
        shown = " ".join(["hrvd", *words])
        assert words, f"{doc.name}: {shown}: no command"
        if words[0].startswith("-"):
            assert words[0] in top, f"{doc.name}: {shown}: no option {words[0]}"
            continue
        assert words[0] in _subcommands(top), f"{doc.name}: {shown}: no command {words[0]}"
        path = [words[0]]
        text = _help(path, capsys)
        for word in words[1:]:
            if word not in _subcommands(text):
                break
            path.append(word)
            text = _help(path, capsys)
        for word in words:
            option = word.split("=")[0].strip("[](),")
            if option.startswith("--"):
                assert re.search(rf"{re.escape(option)}\b", text), (
                    f"{doc.name}: {shown}: no {option}"
                )


def test_the_pi_block_of_the_readme_is_the_summary_of_install_md() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    install = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    pi_section = readme.split("## On a Raspberry Pi", 1)[1]
    assert SH_BLOCK.search(pi_section)["body"] == SH_BLOCK.search(install)["body"]  # type: ignore[index]


def _anchors(markdown: str) -> set[str]:
    """The ids GitHub gives the headings: lower case, punctuation dropped, spaces as '-'."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in HEADING.finditer(FENCE.sub("", markdown)):
        slug = re.sub(r"[^\w\- ]", "", heading["text"].lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _resolves(doc: Path, target: str) -> bool:
    """Whether a relative link names a file of the repository and, if it has one, a heading."""
    path, _, anchor = target.partition("#")
    file = (doc.parent / path).resolve() if path else doc
    if not file.exists() or ROOT not in file.parents:
        return False
    return not anchor or (
        file.suffix == ".md" and anchor in _anchors(file.read_text(encoding="utf-8"))
    )


def _relative_links() -> Iterator[tuple[Path, str]]:
    for doc in ALL_DOCS:
        for link in LINK.finditer(FENCE.sub("", doc.read_text(encoding="utf-8"))):
            if not re.match(r"[a-z]+:", link["target"]):
                yield doc, link["target"]


LINKS = list(_relative_links())


@pytest.mark.parametrize(
    ("doc", "target"), LINKS, ids=[f"{d.relative_to(ROOT).as_posix()} -> {t}" for d, t in LINKS]
)
def test_a_relative_link_names_a_file_of_the_repository_and_a_heading_in_it(
    doc: Path, target: str
) -> None:
    assert _resolves(doc, target)
