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


# --- the less common spellings and the files that say nothing -------------------------------


def test_testpaths_as_one_string_in_pyproject(tmp_path: Path) -> None:
    """pytest accepts `testpaths = "a b"` in [tool.pytest.ini_options] (an ini-style string)."""
    make(tmp_path, {"pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = "checks more"\n'})
    assert pytest_testpaths(tmp_path) == ("checks", "more")


def test_a_pytest_section_without_testpaths_leaves_discovery_to_pytest(tmp_path: Path) -> None:
    make(tmp_path, {"pytest.ini": "[pytest]\naddopts = -ra\n", "tests/test_a.py": ""})
    assert pytest_testpaths(tmp_path) == ()
    assert detect(tmp_path).unit == ("tests",)


def test_a_pytest_ini_that_is_not_ini_is_read_as_saying_nothing(tmp_path: Path) -> None:
    """pytest reports a broken pytest.ini itself; the layout must not crash the noxfile."""
    make(tmp_path, {"pytest.ini": "testpaths = no section header\n"})
    assert pytest_testpaths(tmp_path) == ()


def test_only_an_integration_folder_runs_nothing_twice(tmp_path: Path) -> None:
    """No unit folder: pytest's own discovery would find the integration tests too, so the unit
    session leaves them to their session."""
    layout = detect(make(tmp_path, {"integration_tests/test_b.py": ""}))
    assert layout.unit == ()
    assert layout.integration == ("integration_tests",)
    assert layout.unit_ignore == ("integration_tests",)
    assert layout.notes["unit"] == "pytest's own discovery"


def test_malformed_group_and_extra_tables_fall_through_to_requirements_files(
    tmp_path: Path,
) -> None:
    make(tmp_path, {
        "pyproject.toml": (
            'dependency-groups = ["test"]\n'
            '[project]\nname = "x"\noptional-dependencies = ["test"]\n'
        ),
        "requirements-test.txt": "pytest\n",
    })  # fmt: skip
    layout = detect(tmp_path)
    assert (layout.groups, layout.extras) == ((), ())
    assert layout.requirements == ("requirements-test.txt",)
    assert layout.notes["requirements"] == "-r requirements-test.txt"


def test_install_origin_with_an_unusable_direct_url_falls_back_to_the_checkout(
    tmp_path: Path,
) -> None:
    make(tmp_path, {"pyproject.toml": '[project]\nname = "testgate"\n'})
    package = tmp_path / "src" / "testgate"
    # direct_url.json without a url string (PEP 610 requires one): not trusted
    assert install_origin(package, json.dumps({"dir_info": {}}), "1.0", None) == (
        "-e",
        str(tmp_path),
    )
    # installed from an index, but this code is not that installed copy: the checkout it is
    other_site = tmp_path / "venv" / "site-packages"
    assert install_origin(package, None, "1.0", other_site) == ("-e", str(tmp_path))


def test_install_origin_keeps_a_subdirectory(tmp_path: Path) -> None:
    url = json.dumps({
        "url": "https://example.invalid/mono.git",
        "vcs_info": {"vcs": "git"},
        "subdirectory": "tools/testgate",
    })  # fmt: skip
    assert install_origin(tmp_path, url, "1.0", tmp_path) == (
        "testgate @ git+https://example.invalid/mono.git#subdirectory=tools/testgate",
    )


def test_coverage_rcfile_in_toml_without_coverage_tables(tmp_path: Path) -> None:
    """$COVERAGE_RCFILE naming a TOML file is that file, even when it configures nothing."""
    make(tmp_path, {"cov.toml": "[tool.other]\nx = 1\n"})
    assert coverage_settings(tmp_path, "cov.toml") == ("cov.toml", {})


def test_coverage_settings_skip_files_that_say_nothing_about_coverage(tmp_path: Path) -> None:
    """coverage.py reads on when setup.cfg has no [coverage:*] section or tox.ini is broken."""
    make(tmp_path, {
        "setup.cfg": "[metadata]\nname = x\n",
        "tox.ini": "no section header\n",
        "pyproject.toml": '[tool.coverage.run]\nbranch = true\n',
    })  # fmt: skip
    assert coverage_settings(tmp_path) == ("pyproject.toml", {"run": {"branch": True}})


def test_multi_line_ini_values_stay_one_per_line(tmp_path: Path) -> None:
    make(tmp_path, {".coveragerc": "[report]\nomit =\n    a.py\n    b.py\n"})
    source, sections = coverage_settings(tmp_path)
    assert source == ".coveragerc"
    assert render_ini(sections) == "[report]\nomit = \n    a.py\n    b.py\n"
