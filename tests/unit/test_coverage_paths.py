"""Remapping recorded paths onto the project tree, without hand-written [paths]."""

from __future__ import annotations

from pathlib import Path

import pytest

from testgate.read.coverage_paths import parts_of, remap_paths, to_project_paths

TREE = [
    "src/pkg/__init__.py",
    "src/pkg/x.py",
    "src/pkg/sub/x.py",
    "src/top.py",
    "conftest.py",
    "tests/data/other/y.py",
    "tests/fixtures/other/y.py",
    # copies that must never win: a virtualenv, tox, build output
    "venv/pyvenv.cfg",
    "venv/lib/python3.12/site-packages/pkg/x.py",
    ".tox/py/lib/python3.12/site-packages/pkg/x.py",
    "build/lib/pkg/x.py",
    "pkg.egg-info/x.py",
]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One tree for the module: the tests only read it."""
    tree = tmp_path_factory.mktemp("tree")
    for rel in TREE:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("")
    return tree


@pytest.mark.parametrize(
    ("recorded", "expected"),
    [
        ("/srv/a/checkout1/src/pkg/x.py", "src/pkg/x.py"),
        ("/builds/xyz/src/pkg/x.py", "src/pkg/x.py"),
        ("/opt/venv/lib/python3.12/site-packages/pkg/x.py", "src/pkg/x.py"),
        ("/builds/xyz/src/pkg/sub/x.py", "src/pkg/sub/x.py"),
        ("C:\\builds\\xyz\\src\\pkg\\x.py", "src/pkg/x.py"),
        ("D:/a/proj/src/pkg/__init__.py", "src/pkg/__init__.py"),
        ("pkg/x.py", "src/pkg/x.py"),  # recorded relative to src/
        ("src/pkg/x.py", "src/pkg/x.py"),
        ("./src/pkg/x.py", "src/pkg/x.py"),
        ("/usr/lib/python3/site-packages/top.py", "src/top.py"),  # installed top-level module
        ("/builds/xyz/conftest.py", "conftest.py"),
        ("/elsewhere/src/top.py", "src/top.py"),
        ("/elsewhere/tests/data/other/y.py", "tests/data/other/y.py"),  # the longer match wins
    ],
)
def test_recorded_paths_land_on_the_project_file(root: Path, recorded: str, expected: str) -> None:
    remap = remap_paths([recorded], root)
    assert remap.mapped == {recorded: expected}
    assert (remap.unmapped, dict(remap.ambiguous)) == ((), {})


def test_paths_inside_root_stay_even_when_missing(root: Path) -> None:
    recorded = str(root / "src" / "pkg" / "gone.py")
    assert remap_paths([recorded], root).mapped == {recorded: "src/pkg/gone.py"}


@pytest.mark.parametrize(
    "recorded",
    [
        "/x/y/unknown.py",
        "/elsewhere/lib/x.py",  # only the base name matches src/pkg/x.py: too weak
        "relative/missing.py",
        "/x/lib/top.py",  # one component, and not installed into site-packages
    ],
)
def test_unmatched_paths_are_left_and_reported(root: Path, recorded: str) -> None:
    remap = remap_paths([recorded], root)
    assert remap.mapped == {}
    assert remap.unmapped == (recorded,)
    assert recorded in remap.describe()
    assert "not in the project tree" in remap.describe()


def test_a_tie_between_equally_long_matches_is_ambiguous(root: Path) -> None:
    remap = remap_paths(["/ci/other/y.py"], root)
    assert remap.mapped == {}
    assert remap.ambiguous == {
        "/ci/other/y.py": ("tests/data/other/y.py", "tests/fixtures/other/y.py")
    }
    assert remap.describe() == (
        "/ci/other/y.py (matches tests/data/other/y.py and tests/fixtures/other/y.py)"
    )


def test_empty_paths_are_ignored(root: Path) -> None:
    remap = remap_paths(["", "/"], root)
    assert (dict(remap.mapped), remap.unmapped) == ({}, ())


def test_report_names_keep_theirs_when_two_would_collide(root: Path) -> None:
    names = ["src/pkg/x.py", "/builds/xyz/src/pkg/x.py", "C:\\other\\thing.py", "/a/src/top.py"]
    assert to_project_paths(names, root) == {
        "src/pkg/x.py": "src/pkg/x.py",
        "/builds/xyz/src/pkg/x.py": "/builds/xyz/src/pkg/x.py",
        "C:\\other\\thing.py": "C:/other/thing.py",
        "/a/src/top.py": "src/top.py",
    }


def test_parts_of_drops_drives_and_empty_components() -> None:
    assert parts_of("C:\\a\\\\b/./c.py") == ("a", "b", "c.py")
    assert parts_of("/a//b/") == ("a", "b")
    assert parts_of("") == ()


def test_a_root_that_cannot_be_listed_matches_nothing(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("")
    assert remap_paths(["/ci/src/pkg/x.py"], not_a_folder).unmapped == ("/ci/src/pkg/x.py",)
