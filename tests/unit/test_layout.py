"""What testgate.nox reads from a project's own files: test folders, requirements, coverage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testgate._layout import (
    branch_enabled,
    coverage_settings,
    detect,
    install_origin,
    pytest_testpaths,
    render_ini,
    session_coverage,
)


def make(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_flat_tests_folder_with_a_tests_group(tmp_path: Path) -> None:
    make(tmp_path, {
        "pyproject.toml": '[dependency-groups]\ntests = ["pytest"]\ndev = ["ruff"]\n',
        "tests/test_a.py": "",
    })  # fmt: skip
    layout = detect(tmp_path)
    assert layout.unit == ("tests",)
    assert layout.integration == ()
    assert layout.unit_ignore == ()
    assert layout.groups == ("tests",)
    assert layout.notes["requirements"] == "group tests"


def test_unit_and_integration_folders(tmp_path: Path) -> None:
    make(tmp_path, {
        "pyproject.toml": '[dependency-groups]\ntest = ["pytest"]\n',
        "tests/unit/test_a.py": "",
        "tests/integration/test_b.py": "",
    })  # fmt: skip
    layout = detect(tmp_path)
    assert (layout.unit, layout.integration) == (("tests/unit",), ("tests/integration",))


def test_integration_folder_inside_the_unit_folder_is_left_to_its_session(tmp_path: Path) -> None:
    make(tmp_path, {"tests/test_a.py": "", "tests/integration/test_b.py": ""})
    layout = detect(tmp_path)
    assert layout.unit == ("tests",)
    assert layout.unit_ignore == ("tests/integration",)


def test_pytest_testpaths_come_first_and_may_be_globs(tmp_path: Path) -> None:
    make(tmp_path, {
        "pyproject.toml": (
            '[tool.pytest.ini_options]\ntestpaths = ["pkg*/tests", "it_integration"]\n'
        ),
        "pkg1/tests/test_a.py": "",
        "pkg2/tests/test_b.py": "",
        "it_integration/test_c.py": "",
        "tests/test_ignored.py": "",
    })  # fmt: skip
    layout = detect(tmp_path)
    assert layout.unit == ("pkg1/tests", "pkg2/tests")
    assert layout.integration == ("it_integration",)
    assert "testpaths" in layout.notes["unit"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pytest.ini", "[pytest]\ntestpaths = checks more\n"),
        ("tox.ini", "[tox]\n[pytest]\ntestpaths = checks more\n"),
        ("setup.cfg", "[metadata]\nname = x\n[tool:pytest]\ntestpaths =\n  checks\n  more\n"),
    ],
)
def test_testpaths_from_every_file_pytest_reads(tmp_path: Path, name: str, text: str) -> None:
    make(tmp_path, {name: text})
    assert pytest_testpaths(tmp_path) == ("checks", "more")


def test_no_tests_folder_leaves_discovery_to_pytest(tmp_path: Path) -> None:
    layout = detect(make(tmp_path, {"test_x.py": ""}))
    assert layout.unit == ()
    assert layout.notes["requirements"] == "no test group, extra or file found"


def test_extra_and_requirements_file_when_there_is_no_group(tmp_path: Path) -> None:
    make(
        tmp_path,
        {
            "pyproject.toml": (
                '[project]\nname = "x"\n[project.optional-dependencies]\ntests = ["pytest"]\n'
            )
        },
    )
    assert detect(tmp_path).extras == ("tests",)
    other = make(tmp_path / "other", {"requirements-dev.txt": "pytest\n"})
    assert detect(other).requirements == ("requirements-dev.txt",)


def test_install_origin_of_an_editable_checkout(tmp_path: Path) -> None:
    url = json.dumps({"url": "file:///work/my%20checkout", "dir_info": {"editable": True}})
    assert install_origin(tmp_path, url, "1.0", tmp_path) == ("-e", "/work/my checkout")


def test_install_origin_of_a_git_url_pins_the_commit(tmp_path: Path) -> None:
    url = json.dumps(
        {"url": "file:///src/testgate", "vcs_info": {"vcs": "git", "commit_id": "abc"}}
    )
    assert install_origin(tmp_path, url, "1.0", tmp_path) == (
        "testgate @ git+file:///src/testgate@abc",
    )


def test_install_origin_of_a_local_wheel(tmp_path: Path) -> None:
    wheel = "file:///dist/testgate-1.0-py3-none-any.whl"
    url = json.dumps({"url": wheel, "archive_info": {}})
    assert install_origin(tmp_path, url, "1.0", tmp_path) == (f"testgate @ {wheel}",)


def test_install_origin_from_an_index_names_the_installed_release(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "testgate"
    assert install_origin(package, None, "1.2", tmp_path / "site-packages") == ("testgate==1.2",)


def test_install_origin_of_a_source_tree_on_sys_path(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": '[project]\nname = "testgate"\n'})
    package = tmp_path / "src" / "testgate"
    assert install_origin(package, None, None, None) == ("-e", str(tmp_path))
    with pytest.raises(LookupError, match=r"Project\(testgate="):
        install_origin(tmp_path / "elsewhere" / "testgate", None, None, None)


def test_coverage_settings_keep_the_project_s_and_add_what_sessions_need(tmp_path: Path) -> None:
    make(tmp_path, {"pyproject.toml": (
        '[tool.coverage.run]\nsource = ["pkg"]\nbranch = false\n'
        '[tool.coverage.report]\nprecision = 2\nexclude_also = ["# pragma: slow", "if x:"]\n'
        '[tool.coverage.paths]\nsource = ["src", "*/site-packages"]\n'
    )})  # fmt: skip
    source, sections = coverage_settings(tmp_path)
    settings = session_coverage(sections)
    assert source == "pyproject.toml"
    assert settings["run"] == {
        "source": ["pkg"], "branch": False, "parallel": True, "patch": ["subprocess"],
        "relative_files": True,
    }  # fmt: skip
    assert not branch_enabled(settings)
    ini = render_ini(settings)
    assert "exclude_also = \n    [#] pragma: slow\n    if x:" in ini
    assert "precision = 2" in ini


def test_coverage_settings_from_ini_files(tmp_path: Path) -> None:
    make(tmp_path, {"setup.cfg": "[coverage:run]\nbranch = True\npatch = subprocess\n"})
    source, sections = coverage_settings(tmp_path)
    settings = session_coverage(sections)
    assert source == "setup.cfg"
    assert settings["run"]["patch"] == ["subprocess"]
    assert branch_enabled(settings)
    assert coverage_settings(tmp_path / "none") == (None, {})
