from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testgate.errors import InputError
from testgate.flaky.slices import KIND, MANIFEST, _read


def write(folder: Path, data: object) -> Path:
    (folder / "flaky").mkdir(parents=True, exist_ok=True)
    (folder / "flaky" / MANIFEST).write_text(data if isinstance(data, str) else json.dumps(data))
    return folder


GOOD = {
    "meta": {"format": 1, "kind": KIND},
    "slice": 2,
    "args": {"slices": 3, "count": 9, "seed": 1, "timeout": 300.0, "pytest_args": []},
    "finished": [2, 5, 8],
}


def test_a_slice_is_read_from_its_reports_folder_or_its_flaky_folder(tmp_path: Path) -> None:
    folder = write(tmp_path / "r", GOOD)
    assert _read(folder).index == 2
    assert _read(folder / "flaky").args["slices"] == 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("{not json", "slice.json: not valid JSON at line 1, .*; run that slice again"),
        ("[" * 100_000 + "]" * 100_000, "slice.json: .*; run that slice again"),  # too deep
        ({**GOOD, "finished": [2, "5"]}, "slice manifest without slice, args or iterations"),
        ({**GOOD, "finished": [2, 10**9]}, "slice manifest without slice, args or iterations"),
        ({"meta": {"kind": "other"}}, "not a testgate slice manifest"),
        ({**GOOD, "meta": {"format": 9, "kind": KIND}}, "slice manifest format 9 is not 1"),
        ({**GOOD, "slice": "2"}, "slice manifest without slice, args or iterations"),
        ({**GOOD, "args": {"slices": None}}, "slice manifest without slice, args or iterations"),
    ],
)
def test_broken_manifests_are_one_line_errors(tmp_path: Path, data: object, message: str) -> None:
    folder = write(tmp_path / "r", data)
    with pytest.raises(InputError, match=message) as caught:
        _read(folder)
    assert "\n" not in caught.value.message


def test_a_manifest_that_is_not_a_regular_file_or_too_big_is_refused(tmp_path: Path) -> None:
    """Slices are CI artifacts: a FIFO would block a plain read, a huge file exhaust memory."""
    folder = tmp_path / "r" / "flaky"
    folder.mkdir(parents=True)
    os.mkfifo(folder / MANIFEST)
    with pytest.raises(InputError, match="a FIFO, not a regular file; refused"):
        _read(folder)
    (folder / MANIFEST).unlink()
    (folder / MANIFEST).write_text(json.dumps({**GOOD, "pad": "x" * (2 * 1024 * 1024)}))
    with pytest.raises(
        InputError, match=r"over the 1\.0 MiB limit; refused unread; run that slice again"
    ):
        _read(folder)
    (folder / MANIFEST).unlink()
    (folder / MANIFEST).symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "elsewhere.json").write_text(json.dumps(GOOD))
    with pytest.raises(InputError, match="outside the project; refused"):
        _read(folder)


def test_a_folder_without_a_slice(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no flake-hunt slice here"):
        _read(tmp_path)
