"""The README says what the program does: its Commands table lists exactly the commands
and long options `--help` shows, and its install and test commands are the ones CI runs.

README.md is in Chinese and README.en.md in English. Both open with the same two commands
(install and audit the sample ledger; install and run the tests), byte for byte, and show the
same code; each table of commands is checked against the CLI."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from finaudit.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
README_EN = (REPO / "README.en.md").read_text(encoding="utf-8")
# file name -> (its text, the heading of its table of commands)
READMES = {"README.md": (README, "命令"), "README.en.md": (README_EN, "Commands")}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def readme_commands(name: str) -> dict[str, set[str]]:
    """Each command of a README's table of commands ("## 命令" in README.md, "## Commands" in
    README.en.md) -> the long options its row lists.

    A row names its command(s) as backticked `finaudit <command> ARGS` (options written in
    the ARGS, like `[--year Y]`, count); every other backticked span that starts with `--`
    is an option of the row's command(s), its first word the option's name. A flag named
    only in passing (another command's) is written after its command, like `check --json`.
    """
    text, heading = READMES[name]
    assert f"\n## {heading}\n" in text, f"{name} has no section '## {heading}'"
    section = text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]   # header, |---|
    assert rows, f"{name}: the Commands table has no rows"
    commands: dict[str, set[str]] = {}
    for row in rows:
        spans = [s.replace("\\|", "|") for s in re.findall(r"`([^`]+)`", row)]
        names, options = [], set()
        for span in spans:
            if span.startswith("finaudit "):
                words = span.split()[1:]
                path = []
                for word in words:
                    if not re.fullmatch(r"[a-z][a-z-]*", word):
                        break
                    path.append(word)
                names.append(" ".join(path))
                options |= set(re.findall(r"--[a-z][a-z0-9-]*", " ".join(words[len(path):])))
            elif span.startswith("--"):
                options.add(span.split()[0])
        assert names, f"{name}: a Commands row names no `finaudit <command>`: {row}"
        for command in names:
            assert command not in commands, f"{name}: the Commands table has two rows for `finaudit {command}`"
            commands[command] = set(options)
    return commands


def cli_commands(group: click.Group = main, prefix: str = "") -> dict[str, set[str]]:
    """Each command and subcommand of the click CLI -> the long options `--help` shows for it."""
    commands = {}
    for name, command in group.commands.items():
        if command.hidden:
            continue
        path = f"{prefix}{name}"
        commands[path] = {opt for param in command.params
                          if isinstance(param, click.Option) and not param.hidden
                          for opt in (*param.opts, *param.secondary_opts) if opt.startswith("--")} - {"--help"}
        if isinstance(command, click.Group):
            commands |= cli_commands(command, f"{path} ")
    return commands


CLI_COMMANDS = cli_commands()


@pytest.mark.parametrize("readme", sorted(READMES))
def test_the_readme_commands_table_has_a_row_for_every_command_and_no_other(readme):
    readme_commands_ = readme_commands(readme)
    missing = sorted(set(CLI_COMMANDS) - set(readme_commands_))
    unknown = sorted(set(readme_commands_) - set(CLI_COMMANDS))
    problems = []
    if missing:
        problems.append(f"{readme}'s Commands table has no row for {', '.join(f'`finaudit {c}`' for c in missing)}")
    if unknown:
        problems.append(f"it lists {', '.join(f'`finaudit {c}`' for c in unknown)}, which the CLI does not have")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("readme", sorted(READMES))
@pytest.mark.parametrize("command", sorted(CLI_COMMANDS))
def test_the_readme_lists_exactly_the_long_options_help_shows(command, readme):
    readme_commands_ = readme_commands(readme)
    if command not in readme_commands_:
        pytest.skip(f"no {readme} row for `finaudit {command}` (the test above fails on that)")
    listed, exposed = readme_commands_[command], CLI_COMMANDS[command]
    problems = []
    if exposed - listed:
        problems.append(f"{readme}'s Commands table lacks {', '.join(sorted(exposed - listed))}")
    if listed - exposed:
        problems.append(f"{readme} lists {', '.join(sorted(listed - exposed))}, which --help does not show")
    assert not problems, f"`finaudit {command}`: " + "; ".join(problems)


def opening_commands(name: str) -> list[str]:
    """The `python3 -m venv .venv` commands of a README, each an indented code block (four
    spaces, a blank line before and after) before its first "## " section."""
    text = READMES[name][0]
    lines = text.splitlines()
    commands = [line.strip() for line in lines if line.strip().startswith("python3 -m venv .venv")]
    opening = text.split("\n## ", 1)[0].splitlines()
    for command in commands:
        assert f"    {command}" in opening, f"{name}: `{command[:40]}…` is not an indented code block before the first section"
        i = opening.index(f"    {command}")
        assert opening[i - 1] == "" and (opening + [""])[i + 1] == "", f"{name}: `{command[:40]}…` is not a code block of its own"
    return commands


def test_the_readme_install_and_test_commands_install_only_the_lock():
    commands = opening_commands("README.md")
    assert len(commands) == 2, f"README.md should have its install and its test command, found {len(commands)}"
    ci_last_line = (REPO / ".ci" / "run").read_text(encoding="utf-8").rstrip("\n").splitlines()[-1]
    assert commands[1] == ci_last_line, "README.md's test command is not the last line of .ci/run"
    assert (REPO / "requirements-lock.txt").is_file()
    for command in commands:
        installs = [step.strip() for step in command.split("&&") if re.search(r"\bpip install\b", step)]
        assert any("--require-hashes -r requirements-lock.txt" in step for step in installs), command
        # Anything else installed without --no-deps would resolve dependencies outside the lock.
        assert all("-r requirements-lock.txt" in step or "--no-deps" in step for step in installs), command


def test_both_readmes_open_with_the_same_two_commands():
    commands, english = opening_commands("README.md"), opening_commands("README.en.md")
    assert len(english) == 2, f"README.en.md should have its install and its test command, found {len(english)}"
    assert english == commands, "README.en.md's install and test commands differ from README.md's"
    # tests/test_contributing.py takes the test command from the first indented line after
    # "Run the tests:" in README.md: that label stays right before it, in both files.
    for name in READMES:
        lines = READMES[name][0].splitlines()
        label = lines[lines.index(f"    {commands[1]}") - 2]
        assert label.endswith("Run the tests:"), f"{name}: the test command is not right after 'Run the tests:'"


def _prose(text: str) -> str:
    """The text without fenced or indented code blocks, inline code, tables and link targets."""
    text = re.sub(r"^( *)```.*?^\1```[ \t]*$", "", text, flags=re.S | re.M)
    text = "\n".join(line for line in text.splitlines() if not line.startswith(("    ", "|")))
    return re.sub(r"`[^`\n]*`|\]\([^)]*\)", "", text)


def _first_paragraph(text: str) -> str:
    """The first paragraph after the title and the line linking the other language's README."""
    paragraphs = [p for p in text.split("\n\n") if p.strip() and not p.startswith("#") and "README" not in p]
    return paragraphs[0]


def test_readme_md_is_in_chinese_and_readme_en_md_in_english():
    headings = re.findall(r"^## (.+)$", README, re.M)
    assert headings and all(CJK.search(h) for h in headings), \
        f"README.md has headings without Chinese: {[h for h in headings if not CJK.search(h)]}"
    first = _first_paragraph(README)
    assert len(CJK.findall(first)) > len(re.findall(r"[A-Za-z]", first)), f"README.md's first paragraph is not Chinese: {first[:80]}"
    prose = _prose(README)
    assert len(CJK.findall(prose)) > len(re.findall(r"[A-Za-z]", prose)), "README.md's text is mostly not Chinese"

    first = _first_paragraph(README_EN)
    assert len(re.findall(r"[A-Za-z]", first)) > len(CJK.findall(first)), f"README.en.md's first paragraph is not English: {first[:80]}"


def test_each_readme_links_the_other_before_its_commands():
    for name, other in (("README.md", "README.en.md"), ("README.en.md", "README.md")):
        opening = READMES[name][0].split("python3 -m venv .venv", 1)[0]
        assert f"]({other})" in opening, f"{name} does not link {other} near its top"


def _code(text: str) -> tuple[list[str], list[str]]:
    """A README's fenced code blocks and its indented code lines, in order."""
    fenced = [m.group(0) for m in re.finditer(r"^( *)```.*?^\1```[ \t]*$", text, re.S | re.M)]
    rest = re.sub(r"^( *)```.*?^\1```[ \t]*$", "", text, flags=re.S | re.M)
    return fenced, [line for line in rest.splitlines() if re.match(r"    \S", line)]


def test_both_readmes_have_the_same_sections_and_the_same_code():
    """README.md translates README.en.md: as many sections, and every code block byte for byte."""
    sections = [re.findall(r"^## .+$", text, re.M) for text, _ in READMES.values()]
    assert len(sections[0]) == len(sections[1]), f"README.md has {len(sections[0])} sections, README.en.md {len(sections[1])}"
    (fenced, indented), (fenced_en, indented_en) = _code(README), _code(README_EN)
    assert len(fenced) == len(fenced_en), f"README.md has {len(fenced)} fenced code blocks, README.en.md {len(fenced_en)}"
    for n, (block, block_en) in enumerate(zip(fenced, fenced_en), 1):
        assert block == block_en, f"fenced code block {n} ({block_en.splitlines()[0].strip()}) differs between README.md and README.en.md"
    assert indented == indented_en, "the indented code blocks of README.md and README.en.md differ"
