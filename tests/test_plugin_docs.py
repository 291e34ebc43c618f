"""The plugin author's guide shows real code: every example of docs/plugin_hooks.md names, on its
first line, the file it is copied from, and is still in that file word for word. Those files
run in the test suite (the sleep diary's in its own, `tests/test_plugin_packages.py`), so the
examples do too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import THIRD_PARTY

ROOT = Path(__file__).parent.parent
GUIDE = ROOT / "docs" / "plugin_hooks.md"
#: Where the examples' paths are read from: the sleep diary's package, then the repository.
PLACES = (THIRD_PARTY / "carnet_sleep_diary", ROOT)
EXAMPLE = re.compile(r"^```(python|jinja|toml)\n(.*?)^```$", re.M | re.S)
ORIGIN = {"python": r"# (\S+)", "toml": r"# (\S+)", "jinja": r"\{# (\S+) #\}"}
EXAMPLES = EXAMPLE.findall(GUIDE.read_text())


def test_the_guide_has_examples_of_every_kind():
    assert {language for language, _code in EXAMPLES} == set(ORIGIN)
    assert len(EXAMPLES) > 30


@pytest.mark.parametrize(("language", "example"), EXAMPLES, ids=range(len(EXAMPLES)))
def test_every_example_is_copied_from_a_file_that_runs(language, example):
    origin, _newline, code = example.partition("\n")
    named = re.fullmatch(ORIGIN[language], origin)
    assert named, f"the example's first line names its file, not {origin!r}"
    path = named.group(1)
    source = next((place / path for place in PLACES if (place / path).is_file()), None)
    assert source is not None, f"no file {path} for the example"
    assert code in source.read_text(), f"the example is no longer in {path}:\n{code}"
