"""The README says what the program does: its Commands table lists exactly the commands
and long options `--help` shows, and its install and test commands are the ones CI runs."""
from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from finaudit.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")


def readme_commands() -> dict[str, set[str]]:
    """Each command of the README's "## Commands" table -> the long options its row lists.

    A row names its command(s) as backticked `finaudit <command> ARGS` (options written in
    the ARGS, like `[--year Y]`, count); every other backticked span that starts with `--`
    is an option of the row's command(s), its first word the option's name. A flag named
    only in passing (another command's) is written after its command, like `check --json`.
    """
    section = README.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")][2:]   # header, |---|
    assert rows, "README.md: the Commands table has no rows"
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
        assert names, f"README.md: a Commands row names no `finaudit <command>`: {row}"
        for name in names:
            assert name not in commands, f"README.md: the Commands table has two rows for `finaudit {name}`"
            commands[name] = set(options)
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


README_COMMANDS = readme_commands()
CLI_COMMANDS = cli_commands()


def test_the_readme_commands_table_has_a_row_for_every_command_and_no_other():
    missing = sorted(set(CLI_COMMANDS) - set(README_COMMANDS))
    unknown = sorted(set(README_COMMANDS) - set(CLI_COMMANDS))
    problems = []
    if missing:
        problems.append(f"README.md's Commands table has no row for {', '.join(f'`finaudit {c}`' for c in missing)}")
    if unknown:
        problems.append(f"it lists {', '.join(f'`finaudit {c}`' for c in unknown)}, which the CLI does not have")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("command", sorted(CLI_COMMANDS))
def test_the_readme_lists_exactly_the_long_options_help_shows(command):
    if command not in README_COMMANDS:
        pytest.skip(f"no README row for `finaudit {command}` (the test above fails on that)")
    listed, exposed = README_COMMANDS[command], CLI_COMMANDS[command]
    problems = []
    if exposed - listed:
        problems.append(f"the README's Commands table lacks {', '.join(sorted(exposed - listed))}")
    if listed - exposed:
        problems.append(f"the README lists {', '.join(sorted(listed - exposed))}, which --help does not show")
    assert not problems, f"`finaudit {command}`: " + "; ".join(problems)


def test_the_readme_install_and_test_commands_install_only_the_lock():
    commands = [line.strip() for line in README.splitlines() if line.strip().startswith("python3 -m venv .venv")]
    assert len(commands) == 2, f"README.md should have its install and its test command, found {len(commands)}"
    ci_last_line = (REPO / ".ci" / "run").read_text(encoding="utf-8").rstrip("\n").splitlines()[-1]
    assert commands[1] == ci_last_line, "README.md's test command is not the last line of .ci/run"
    assert (REPO / "requirements-lock.txt").is_file()
    for command in commands:
        installs = [step.strip() for step in command.split("&&") if re.search(r"\bpip install\b", step)]
        assert any("--require-hashes -r requirements-lock.txt" in step for step in installs), command
        # Anything else installed without --no-deps would resolve dependencies outside the lock.
        assert all("-r requirements-lock.txt" in step or "--no-deps" in step for step in installs), command
