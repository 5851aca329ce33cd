"""The README is part of the interface: its commands and table list are checked against the CLI,
the Makefile and schemas/ (as sqlite-utils checks its docs against --help)."""

import re

from flows.cli import build_parser
from flows.contract.schema import PUBLISHED_TABLES
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_fresh_machine_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    assert [line.split("#")[0].strip() for line in first_block.strip().splitlines()] == ["make run", "make test"]


def test_every_table_in_schemas_is_listed_in_the_readme():
    listed = set(re.findall(r"^\| `(\w+)` \|", README, re.M))
    assert listed == set(PUBLISHED_TABLES)


def test_every_digigov_subcommand_in_the_readme_exists():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    mentioned = set(re.findall(r"(?:`|bin/)digigov ([a-z]+)", README))
    assert mentioned <= set(sub.choices), mentioned - set(sub.choices)
    for name, sp in sub.choices.items():
        assert f"digigov {name}" in README, f"`digigov {name}` is not documented in the README"
        flags = {o for a in sp._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
        for flag in re.findall(rf"digigov {name}\b[^\n`]*", README):
            for used in re.findall(r"--[\w-]+", flag):
                assert used in flags, f"README uses {used} with digigov {name}"


def test_every_make_target_in_the_readme_exists():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    used = set(re.findall(r"(?:^|`)make ([a-z][\w-]*)", README, re.M))
    assert {"run", "test", "help"} <= used and used <= targets, used - targets


def test_readme_is_a_user_guide_that_links_the_deep_notes():
    assert len(README.splitlines()) <= 300, "README is a user guide: measured figures go to docs/performance.md, deep operations notes to docs/operations.md"
    for doc in ("docs/performance.md", "docs/operations.md"):
        assert f"({doc})" in README and (ROOT / doc).is_file(), doc


def test_every_flows_path_in_the_readme_and_docs_exists():
    for name in ("README.md", "docs/operations.md", "docs/performance.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        for path in set(re.findall(r"flows/[\w/]+\.py", text)):
            assert (ROOT / path).is_file(), f"{name} names {path}, which does not exist"
