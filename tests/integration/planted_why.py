"""A planted suite with known ground truth for explanations (also used by bench/flaky_versus.py).

Three polluters leak an environment variable, the working directory and a module global; one
test fails when run twice in one process; five tests are flaky through `random`, `secrets`,
string hashing, the wall clock and a thread race.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

FILES = {
    "pyproject.toml": """
        [tool.pytest.ini_options]
        addopts = ["-p", "no:hypothesispytest"]
        """,
    "app/__init__.py": "",
    "app/config.py": """
        DEBUG = False
        """,
    "app/registry.py": """
        _PLUGINS = {}


        def register(name, plugin):
            if name in _PLUGINS:
                raise ValueError(f"plugin {name!r} is already registered")
            _PLUGINS[name] = plugin
            return plugin
        """,
    "data/settings.ini": "[app]\nname = demo\n",
    "tests/__init__.py": "",
    "tests/test_mode.py": """
        import os


        def test_enable_debug_mode():
            os.environ["APP_MODE"] = "debug"
            assert os.environ["APP_MODE"] == "debug"


        def test_default_mode():
            assert os.environ.get("APP_MODE", "production") == "production"
        """,
    "tests/test_export.py": """
        import os
        from pathlib import Path


        def test_export_into_build_dir(tmp_path):
            os.chdir(tmp_path)
            Path("export.csv").write_text("a,b\\n")
            assert Path("export.csv").exists()


        def test_reads_bundled_settings():
            assert "demo" in Path("data/settings.ini").read_text()
        """,
    "tests/test_config.py": """
        from app import config


        def test_debug_toggle():
            config.DEBUG = True
            assert config.DEBUG


        def test_quiet_by_default():
            assert config.DEBUG is False
        """,
    "tests/test_registry.py": """
        from app.registry import register


        def test_register_csv_exporter():
            assert register("csv", object()) is not None
        """,
    "tests/test_nondet.py": """
        import random
        import secrets
        import threading
        import time


        def test_random_sample():
            assert random.random() < 0.6


        def test_secret_token():
            assert secrets.randbelow(3) != 0


        def test_tag_order():
            tags = {"alpha", "beta"}
            assert list(tags)[0] == "alpha"


        def test_token_still_valid_half_a_second_later():
            now = time.time()
            assert int(now) == int(now + 0.5)


        def _bump(value):
            return value + 1


        def test_counter_race():
            counter = [0]
            start = threading.Barrier(2)

            def work():
                start.wait()
                for _ in range(150_000):
                    counter[0] = _bump(counter[0])

            threads = [threading.Thread(target=work) for _ in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert counter[0] == 300_000
        """,
    "tests/test_stable.py": """
        def test_one():
            assert 1 + 1 == 2


        def test_two():
            assert "a".upper() == "A"
        """,
}

ENV_VICTIM = "tests/test_mode.py::test_default_mode"
ENV_POLLUTER = "tests/test_mode.py::test_enable_debug_mode"
CWD_VICTIM = "tests/test_export.py::test_reads_bundled_settings"
CWD_POLLUTER = "tests/test_export.py::test_export_into_build_dir"
GLOBAL_VICTIM = "tests/test_config.py::test_quiet_by_default"
GLOBAL_POLLUTER = "tests/test_config.py::test_debug_toggle"
TWICE = "tests/test_registry.py::test_register_csv_exporter"
RANDOM = "tests/test_nondet.py::test_random_sample"
SECRETS = "tests/test_nondet.py::test_secret_token"
HASH = "tests/test_nondet.py::test_tag_order"
CLOCK = "tests/test_nondet.py::test_token_still_valid_half_a_second_later"
RACE = "tests/test_nondet.py::test_counter_race"

# test id -> (kind, cause, culprit, leaked)
TRUTH: dict[str, tuple[str, str | None, str | None, tuple[str, ...]]] = {
    ENV_VICTIM: ("order-dependent", None, ENV_POLLUTER, ("os.environ['APP_MODE']",)),
    CWD_VICTIM: ("order-dependent", None, CWD_POLLUTER, ("cwd",)),
    GLOBAL_VICTIM: ("order-dependent", None, GLOBAL_POLLUTER, ("app.config.DEBUG",)),
    TWICE: ("non-idempotent", None, None, ("app.registry._PLUGINS",)),
    RANDOM: ("non-deterministic", "random", None, ()),
    SECRETS: ("non-deterministic", "random", None, ()),
    HASH: ("non-deterministic", "hash-seed", None, ()),
    CLOCK: ("non-deterministic", "time", None, ()),
    RACE: ("non-deterministic", "concurrency", None, ()),
}


def make(root: Path) -> Path:
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root
