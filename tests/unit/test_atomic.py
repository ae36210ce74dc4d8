from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from testgate import _atomic
from testgate._safeio import OutputError


def test_writes_create_parents_and_leave_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "gate.json"
    _atomic.write_json(target, {"meta": {"format": 1}})
    assert json.loads(target.read_text(encoding="utf-8")) == {"meta": {"format": 1}}
    assert [p.name for p in target.parent.iterdir()] == ["gate.json"]


def test_mode_follows_the_umask_not_mkstemps_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = _atomic.write_text(tmp_path / "index.html", "<p>ok</p>")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_failed_write_keeps_the_old_file_whole(tmp_path: Path) -> None:
    target = _atomic.write_text(tmp_path / "gate.md", "old report\n")

    class Unencodable:
        pass

    with pytest.raises(TypeError):
        _atomic.write_json(target, {"x": Unencodable()})
    assert target.read_text(encoding="utf-8") == "old report\n"
    assert [p.name for p in tmp_path.iterdir()] == ["gate.md"]


def test_an_interrupted_write_removes_its_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "flaky.json"
    target.mkdir()  # os.replace of a file onto a directory fails after the data is written
    with pytest.raises(OutputError, match=r"flaky\.json: cannot replace: it is a folder"):
        _atomic.write_bytes(target, b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flaky.json"]


def test_a_set_that_cannot_be_written_whole_changes_none_of_its_files(tmp_path: Path) -> None:
    old = _atomic.write_text(tmp_path / "gate.json", "old\n")
    (tmp_path / "badges").write_text("a file where the badges folder goes\n", encoding="utf-8")
    with pytest.raises(OutputError, match=r"badges: cannot create the folder: a file of that"):
        _atomic.write_many({old: b"new\n", tmp_path / "badges" / "gate.svg": b"<svg/>"})
    assert old.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["badges", "gate.json"]


def test_a_folder_below_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "reports").write_text("", encoding="utf-8")
    with pytest.raises(OutputError) as caught:
        _atomic.write_text(tmp_path / "reports" / "junit" / "gate.xml", "<x/>")
    assert caught.value.message == (
        f"{tmp_path / 'reports' / 'junit'}: cannot create the folder: "
        "a part of the path is a file, not a folder"
    )
