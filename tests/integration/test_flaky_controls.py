"""The explanation machinery where it refuses a claim or pins a condition, on planted tests whose
ground truth is known: the clock and network controls, the network cause, a schedule no control
explains, leaks the restores cannot show, and fixes that do not hold."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_flaky_hunt import interrupt_after_first_iteration, make_project, run_printed

from testgate.flaky import causes, fixes, leaks, state
from testgate.flaky.aggregate import TestSummary
from testgate.flaky.classify import Finding
from testgate.flaky.explain import Contradicted, _leak, explain_all
from testgate.flaky.runner import run_pytest
from testgate.flaky.trials import Trials

pytestmark = pytest.mark.slow

NOON = 978350400.0  # 2001-01-01T12:00:00Z: still 2001 in every time zone

CONTROLLED = {
    # a stand-in for numpy: the seed control seeds numpy.random when a test imported it
    "numpy/__init__.py": "from . import random\n",
    "numpy/random.py": "SEEDS = []\n\n\ndef seed(value):\n    SEEDS.append(value)\n",
    "conftest.py": "",
    "tests/test_controlled.py": """
        import datetime
        import os
        import random
        import socket
        import time

        import numpy
        import pytest

        MODE = os.environ["CONTROL_MODE"]


        def test_clock():
            if MODE == "none":
                assert time.time() > 978350400.0 + 86400 * 365 * 10  # the real clock
                return
            now = time.time()
            assert 978350400.0 <= now < 978350400.0 + 60
            assert abs(time.time_ns() / 1e9 - now) < 60
            assert time.gmtime()[:3] == (2001, 1, 1)
            assert time.localtime()[0] == 2001
            assert time.strftime("%Y") == "2001"
            assert time.localtime(0)[0] in (1969, 1970)  # an explicit instant is left alone
            assert datetime.datetime.now(datetime.timezone.utc).hour == 12
            assert datetime.datetime.utcnow().hour == 12
            assert datetime.datetime.today().year == datetime.date.today().year == 2001


        def test_seed():
            assert numpy.random.SEEDS[-1] == 5
            assert random.random() == random.Random(5).random()


        def test_network():
            server = socket.socket(socket.AF_UNIX)
            server.bind(f"\\0testgate-control-{os.getpid()}")  # abstract: no path length limit
            server.listen()
            client = socket.socket(socket.AF_UNIX)
            client.connect(server.getsockname())  # Unix sockets still connect
            client.close()
            server.close()
            tcp = socket.socket()
            with pytest.raises(ConnectionRefusedError, match="testgate flaky: network refused"):
                tcp.connect(("127.0.0.1", 9))
            with pytest.raises(ConnectionRefusedError):
                tcp.connect_ex(("127.0.0.1", 9))
            tcp.close()
        """,
}


def _pytest(root: Path, *args: str, mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONTROL_MODE": mode}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "testgate.flaky.control",
         *args],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_controls_pin_the_clock_seed_numpy_and_refuse_the_network(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", CONTROLLED)
    cases = [
        ("none", ()),  # the plugin loaded without an option pins nothing
        ("clock", (f"--testgate-clock={NOON!r}",)),
        ("seed", ("--testgate-seed=5",)),
        ("network", ("--testgate-network=off",)),
    ]
    for mode, args in cases:
        done = _pytest(root, *args, "-k", "clock" if mode == "none" else mode, mode=mode)
        assert done.returncode == 0, done.stdout
        assert "1 passed, 2 deselected" in done.stdout, (mode, done.stdout)


NETWORKED = {
    "tests/test_fetch.py": """
        import socket
        import threading


        def test_fetch_from_local_service():
            server = socket.create_server(("127.0.0.1", 0))
            threading.Thread(target=lambda: server.accept()[0].sendall(b"ok"), daemon=True).start()
            with socket.create_connection(server.getsockname(), timeout=5) as conn:
                assert conn.recv(2) == b"ok"
            server.close()
        """,
}


def test_a_test_that_needs_the_network_is_pinned_by_refusing_it(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", NETWORKED)
    test_id = "tests/test_fetch.py::test_fetch_from_local_service"
    found = causes.find_cause(Trials(root, tmp_path / "work", timeout=60, jobs=2), test_id,
                              causes=(causes.NETWORK,))  # fmt: skip
    assert found.cause == causes.NETWORK
    assert found.p_chance is not None
    assert found.p_chance <= 0.01
    rows = {e.condition: (e.runs, e.failed) for e in found.evidence}
    assert rows["network: network refused, 3 runs in one process"] == (3, 3)
    assert rows["network: network refused"] == (7, 7)
    assert rows["network: no control (fresh process)"] == (7, 0)
    assert found.repro_deterministic
    assert found.repro is not None
    assert "--testgate-network=off" in found.repro
    assert run_printed(found.repro, root).returncode == 1


SCHEDULED = {
    # fails in its 1st, 4th, 7th... run whatever the clock or the thread switching
    "tests/test_schedule.py": """
        from pathlib import Path

        RUNS = Path(__file__).with_name("runs.txt")


        def test_every_third_run_fails():
            n = int(RUNS.read_text()) + 1 if RUNS.exists() else 1
            RUNS.write_text(str(n))
            assert n % 3 != 1
        """,
}


def test_a_schedule_no_control_explains_gets_no_cause(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", SCHEDULED)
    test_id = "tests/test_schedule.py::test_every_third_run_fails"
    trials = Trials(root, tmp_path / "work", timeout=60, jobs=1)  # one run at a time: in order
    found = causes.find_cause(trials, test_id, causes=(causes.TIME, causes.CONCURRENCY))
    assert (found.cause, found.p_chance, found.repro) == (causes.UNKNOWN, None, None)
    rows = [(e.condition, e.runs, e.failed) for e in found.evidence]
    # each screen saw failures and passes; each confirmation was contradicted: the failing
    # clock passed (run 15) and the passing one failed (run 16); the slow thread switching
    # failed in run 40 (the fast one, three runs a process, always holds a failing run)
    assert rows == [
        ("time: screen: 12 clock starts, one process", 12, 4),
        ("time: clock at 1767225600.05", 2, 1),
        ("time: clock at 1767225600.3", 2, 1),
        ("concurrency: screen: switch interval 1e-6 s / 1 s alternating, one process", 12, 4),
        ("concurrency: thread switch interval 0.000001 s x3", 3, 3),
        ("concurrency: thread switch interval 1.0 s", 3, 1),
    ]
    assert (root / "tests" / "runs.txt").read_text() == "40"


LEAKY = {
    "app/__init__.py": "",
    "app/config.py": 'SETTINGS = {"db": {"name": "prod"}}\n',
    "tests/__init__.py": "",
    "tests/test_leaky.py": """
        import os
        from pathlib import Path

        from app.config import SETTINGS

        RUNS = Path(__file__).with_name("runs.txt")


        def test_renames_the_db():
            SETTINGS["db"]["name"] = "test"  # two levels deep: the snapshot cannot see it


        def test_db_is_prod():
            assert SETTINGS["db"]["name"] == "prod"


        def test_renames_the_db_and_flags_it():
            os.environ["DB_RENAMED"] = "1"
            SETTINGS["db"]["name"] = "test"


        def test_sets_both_modes():
            os.environ["MODE_A"] = "1"
            os.environ["MODE_B"] = "1"


        def test_no_mode_set():
            assert "MODE_A" not in os.environ and "MODE_B" not in os.environ


        def test_sets_the_flag():
            os.environ["FLAG"] = "1"


        def test_flag_free_twice_then_broken():
            n = int(RUNS.read_text()) + 1 if RUNS.exists() else 1
            RUNS.write_text(str(n))
            assert "FLAG" not in os.environ and n < 3
        """,
}
LEAKY_ID = "tests/test_leaky.py::"


def _explain(root: Path, polluter: str, victim: str) -> leaks.Leak:
    # a work folder per pair: state logs are appended to, never shared between explanations
    trials = Trials(root, root.parent / f"work-{polluter}", timeout=60, jobs=2)
    return leaks.explain(trials, LEAKY_ID + polluter, LEAKY_ID + victim, polluter=True, known=5)


def test_leaks_the_restores_cannot_show_are_not_named(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", LEAKY)
    deep = _explain(root, "test_renames_the_db", "test_db_is_prod")
    assert (deep.leaked, deep.changed, deep.p_chance) == ((), (), None)
    assert [(e.runs, e.failed) for e in deep.evidence] == [(6, 6)]  # the pair failed again

    flagged = _explain(root, "test_renames_the_db_and_flags_it", "test_db_is_prod")
    assert (flagged.leaked, flagged.p_chance) == ((), None)
    assert flagged.changed == ("os.environ['DB_RENAMED']",)
    restored = flagged.evidence[-1]
    assert (restored.condition, restored.runs, restored.failed) == (
        "every restorable item restored", 1, 1,
    )  # fmt: skip

    once = _explain(root, "test_sets_the_flag", "test_flag_free_twice_then_broken")
    assert (once.leaked, once.p_chance) == ((), None)
    assert once.changed == ("os.environ['FLAG']",)
    row = once.evidence[-1]
    # the one restore that passed (run 2) is not shown dependence: run 3 failed restored too
    assert (row.condition, row.runs, row.failed) == ("os.environ['FLAG'] restored", 2, 1)


def test_items_that_act_only_together_are_named_together(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", LEAKY)
    both = _explain(root, "test_sets_both_modes", "test_no_mode_set")
    assert both.leaked == ("os.environ['MODE_A']", "os.environ['MODE_B']")
    assert both.p_chance is not None
    assert both.p_chance <= 0.01
    rows = [(e.condition, e.failed) for e in both.evidence]
    assert rows[-1] == ("every restorable item restored", 0)


def test_a_suspect_that_passes_twice_in_a_fresh_process_is_not_non_idempotent(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "p", {"tests/test_fine.py": "def test_fine():\n    pass\n"})
    test_id = "tests/test_fine.py::test_fine"
    trials = Trials(root, tmp_path / "work", timeout=60, alpha=0.5)  # one trial decides
    found = explain_all(
        trials, [TestSummary(test_id, passed=4, failed=0, skipped=0)], {}, [test_id],
        reports_dir=root / "reports", known=4,
    )  # fmt: skip
    assert found == {}
    assert trials.runs == 1


def test_a_pair_that_passes_when_explained_contradicts_the_claim(tmp_path: Path) -> None:
    # the victim fails its first run only: the printed pair failed, the next run of it passes
    root = make_project(tmp_path / "p", {**LEAKY, "tests/test_first.py": FIRST_RUN_ONLY})
    trials = Trials(root, tmp_path / "work", timeout=60, alpha=0.5)  # one failing run decides
    claim = Finding("order-dependent", "python -m pytest", polluter=LEAKY_ID + "test_sets_the_flag",
                    verified=True)  # fmt: skip
    with pytest.raises(Contradicted, match="did not behave as claimed"):
        _leak(trials, claim, "tests/test_first.py::test_first_run_fails", known=5)
    assert trials.runs == 2  # the repro (failed), then the pair under the state plugin (passed)
    assert (root / "tests" / "first.txt").read_text() == "2"


FIRST_RUN_ONLY = """
from pathlib import Path

FIRST = Path(__file__).with_name("first.txt")


def test_first_run_fails():
    n = int(FIRST.read_text()) + 1 if FIRST.exists() else 1
    FIRST.write_text(str(n))
    assert n > 1
"""


BROKEN_FIX = {
    "tests/test_clock.py": "import time\n\n\ndef test_never():\n    assert time.time() < 0\n",
}


def test_a_fix_that_does_not_apply_or_does_not_fix_is_not_verified(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", BROKEN_FIX)
    trials = Trials(root, tmp_path / "work", timeout=60)
    test_id = "tests/test_clock.py::test_never"
    source = (root / "tests/test_clock.py").read_text()

    def check(patch: fixes.Patch, name: str) -> fixes.Verified:
        path = fixes.write(root / "reports", name, patch)
        return fixes.verify(
            trials, patch, path, [test_id], {}, test_id,
            repro_failed=7, deselect=[], scratch=tmp_path / "work" / name,
        )  # fmt: skip

    stale = fixes.Patch("tests/test_clock.py", "def other():\n    pass\n", "def other():\n    1\n")
    refused = check(stale, "stale")
    assert (refused.verified, refused.runs) == (False, 0)
    assert refused.note.startswith("the patch does not apply: ")

    useless = fixes.Patch("tests/test_clock.py", source, source + "# looked at\n")
    still = check(useless, "useless")
    assert still == fixes.Verified(False, 1, "the repro still failed in run 1 with the fix")
    assert (root / "tests/test_clock.py").read_text() == source  # never applied to the project


def test_a_fix_is_not_verified_when_the_copy_s_code_is_not_what_runs(tmp_path: Path) -> None:
    # `itertools` is built into the interpreter: a package of that name in the project is never
    # the one imported (as with an editable install whose import hook points at the original)
    files = {**BROKEN_FIX, "itertools/__init__.py": ""}
    root = make_project(tmp_path / "p", files)
    trials = Trials(root, tmp_path / "work", timeout=60)
    test_id = "tests/test_clock.py::test_never"
    source = (root / "tests/test_clock.py").read_text()
    patch = fixes.Patch("tests/test_clock.py", source, source.replace("< 0", "> 0"))
    path = fixes.write(root / "reports", "shadowed", patch)
    got = fixes.verify(
        trials, patch, path, [test_id], {}, test_id,
        repro_failed=7, deselect=[], scratch=tmp_path / "work" / "shadowed",
    )  # fmt: skip
    assert got == fixes.Verified(False, 0, "the scratch copy's own code is not what gets imported")
    assert trials.runs == 0  # nothing ran against code that is not the copy's


def test_the_state_log_names_tests_as_invoked_and_the_recorder_runs_without_xdist(
    tmp_path: Path,
) -> None:
    root = make_project(tmp_path / "p", {"tests/test_env.py": SET_ENV})
    log = tmp_path / "state.jsonl"
    # run from the parent folder: the ids are relative to where pytest was invoked
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", state.PLUGIN,
         f"--testgate-state-log={log}", f"--rootdir={root}", "-c", str(root / "pyproject.toml"),
         "p/tests/test_env.py"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    changes = state.read_log(log)
    assert "os.environ['SET_BY_TEST']" in {c.key for c in changes["p/tests/test_env.py::test_set"]}

    quiet = run_pytest(
        ["-p", "no:xdist", "-p", state.PLUGIN, "tests/test_env.py"],
        root=root, log=tmp_path / "flaky.jsonl", timeout=60,
    )  # fmt: skip
    assert [(r.id, r.outcome.value) for r in quiet.records] == [
        ("tests/test_env.py::test_set", "passed")
    ]
    assert not list(root.rglob("*.jsonl"))  # the state plugin without options writes nothing
    assert json.loads((tmp_path / "flaky.jsonl").read_text().splitlines()[-1])["event"] == "finish"


SET_ENV = "import os\n\n\ndef test_set():\n    os.environ['SET_BY_TEST'] = '1'\n"


def test_an_interrupted_slice_says_how_to_continue_and_resume_finishes_it(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {"tests/test_slow.py": SLOW})
    err = interrupt_after_first_iteration(
        root, "--count", "4", "--jobs", "1", "--seed", "5", "--slice", "1/2"
    )
    assert err.endswith(
        "interrupted after 1 of 2 iterations of slice 1/2; continue with testgate flaky --resume\n"
    )
    manifest = json.loads((root / "reports/flaky/slice.json").read_text())
    assert (manifest["finished"], manifest["complete"]) == ([1], False)

    resumed = subprocess.run(
        [sys.executable, "-m", "testgate", "flaky", "--resume"],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "slice 1/2 of a 4-iteration hunt (seed 5): iterations 1, 3" in resumed.stdout
    manifest = json.loads((root / "reports/flaky/slice.json").read_text())
    assert (manifest["finished"], manifest["complete"]) == ([1, 3], True)


SLOW = "import time\n\n\ndef test_slow():\n    time.sleep(1.5)\n"
