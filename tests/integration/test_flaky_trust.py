"""Causal claims against planted ground truth: coin flips never get one at a strict alpha,
true pairs are named within the bound, and every repro reported was run and did what it says."""

from __future__ import annotations

import pytest
from test_flaky_hunt import Hunt, hunt, make_project, run_printed

PLANTED = {
    "tests/__init__.py": "",
    "tests/state.py": 'STATE = {"polluted": False, "ready": False}\n',
    "tests/test_coins.py": """
        import secrets

        def test_half():
            assert secrets.randbelow(2)

        def test_quarter():
            assert secrets.randbelow(4)
        """,
    "tests/test_pairs.py": """
        from tests.state import STATE

        def test_victim():
            assert not STATE["polluted"]

        def test_brittle():
            assert STATE["ready"]
        """,
    "tests/test_setters.py": """
        from tests.state import STATE

        def test_polluter():
            STATE["polluted"] = True

        def test_setter():
            STATE["ready"] = True
        """,
    **{
        f"tests/test_m{m}.py": "".join(f"def test_{t}():\n    assert True\n\n" for t in range(6))
        for m in range(4)
    },
}
COINS = ("tests/test_coins.py::test_half", "tests/test_coins.py::test_quarter")
VICTIM, BRITTLE = "tests/test_pairs.py::test_victim", "tests/test_pairs.py::test_brittle"
POLLUTER, SETTER = "tests/test_setters.py::test_polluter", "tests/test_setters.py::test_setter"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Hunt:
    root = make_project(tmp_path_factory.mktemp("trust"), PLANTED)
    return hunt(root, "--count", "10", "--seed", "11", "--jobs", "2", "--alpha", "0.001")


def test_coin_flips_get_no_causal_claim(strict: Hunt) -> None:
    assert strict.report["meta"]["alpha"] == 0.001
    for coin in COINS:
        t = strict.tests[coin]
        if t["verdict"] != "flaky":  # 10 runs of a 1/4 coin can all pass: no claim either way
            assert t["kind"] is None
            continue
        assert (t["kind"], t["polluter"], t["state_setter"]) == ("non-deterministic", None, None)
        assert t["classify_runs"] <= 50
        if t["cause"] in (None, "unknown"):
            assert t["p_chance"] is None
            assert t["note"]
            # a probabilistic repro states its chance, and it was run once
            assert t["repro_deterministic"] is False
            assert 0.9 <= t["repro_chance"] < 1
            assert t["repro_runs"] == 1
        else:
            # the coins draw from `secrets`: a cause is a claim too, held to the same bound, and
            # its seeded repro fails every time it runs
            assert t["cause"] == "random"
            assert 0 < t["p_chance"] <= 0.001
            assert t["repro_deterministic"] is True
            assert run_printed(t["repro"], strict.root).returncode == 1


def test_true_pairs_are_named_within_the_bound(strict: Hunt) -> None:
    victim, brittle = strict.tests[VICTIM], strict.tests[BRITTLE]
    assert (victim["kind"], victim["polluter"]) == ("order-dependent", POLLUTER)
    assert (brittle["kind"], brittle["state_setter"]) == ("brittle", SETTER)
    for t in (victim, brittle):
        assert 0 < t["p_chance"] <= 0.001
        assert t["verified"] is True
        assert t["note"] is None


def test_deterministic_repros_fail_every_time_they_run(strict: Hunt) -> None:
    for test_id in (VICTIM, BRITTLE):
        t = strict.tests[test_id]
        assert t["repro_deterministic"] is True
        assert t["repro_runs"] == t["repro_failed"] >= 5
        assert run_printed(t["repro"], strict.root).returncode == 1
    assert run_printed(strict.tests[BRITTLE]["passes_with"], strict.root).returncode == 0


def test_the_bound_is_stated_once_in_every_report(strict: Hunt) -> None:
    line = "Each causal claim here could be chance with probability <= 0.1%."
    assert strict.out.splitlines()[0] == line
    assert (strict.root / "reports/flaky.md").read_text().count(line) == 1
