"""Suggested fixes for explained flakes: a unified diff, verified in a scratch copy, never applied.

- a leak (order-dependent, non-idempotent): an autouse fixture in the culprit's module that
  puts the leaked items back after each of its tests (monkeypatch where it can);
- `random`: an autouse fixture seeding every random source of the test's module with a seed
  under which it passed;
- `hash-seed`: the set the test iterates, sorted;
- `time`: the clock pinned, with monkeypatch, at an instant under which it passed.

Verification copies the project (without VCS data, virtual environments or reports), applies the
diff there with `git apply`, puts the copy first on the import path (its own install of the
project's code), checks the copy is what gets imported, runs the repro until chance cannot
explain its passing, and the rest of the suite once.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from testgate import _atomic
from testgate.flaky.stats import chance
from testgate.flaky.trials import Trials, failed

IGNORE = shutil.ignore_patterns(
    ".git", ".hg", ".venv", "venv", ".nox", ".tox", "__pycache__", ".pytest_cache",
    ".mypy_cache", ".ruff_cache", "node_modules", "reports", "*.egg-info", ".hypothesis",
)  # fmt: skip
MARK = "Suggested by testgate flaky"


@dataclass(frozen=True)
class Patch:
    file: str  # relative to the project root
    before: str
    after: str

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                f"a/{self.file}",
                f"b/{self.file}",
            )
        )


def _file_of(test_id: str) -> str:
    return test_id.split("::", 1)[0]


def _with_imports(source: str, names: Sequence[str]) -> str:
    """`source` with `import NAME` for each name not imported yet, after its last import."""
    tree = ast.parse(source)
    have = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    missing = [n for n in names if n not in have]
    if not missing:
        return source
    lines = source.splitlines(keepends=True)
    last = 0
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            last = node.end_lineno or node.lineno
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            break
    added = "".join(f"import {n}\n" for n in sorted(missing))
    return "".join(lines[:last]) + added + "".join(lines[last:])


def _append(source: str, block: str) -> str:
    return source.rstrip("\n") + "\n\n\n" + block


def _module_attr(key: str) -> tuple[str, str] | None:
    if key.startswith(("os.environ[", "sys.", "file ", "logging", "thread ", "signal ")):
        return None
    if key in ("cwd", "umask", "locale", "warnings filters"):
        return None
    module, _, attr = key.rpartition(".")
    return (module, attr) if module and attr.isidentifier() else None


def _autouse_fixture(
    root: Path, test_id: str, imports: Sequence[str], signature: str, body: Sequence[str]
) -> Patch | None:
    """The patch appending one autouse fixture (`signature` is its `def` line) to the test's
    module; None when the module cannot be read."""
    file = _file_of(test_id)
    try:
        source = (root / file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = ["@pytest.fixture(autouse=True)", signature, *(f"    {line}" for line in body)]
    patched = _append(_with_imports(source, sorted({"pytest", *imports})), "\n".join(lines) + "\n")
    return Patch(file, source, patched)


def leak_fix(root: Path, culprit: str, leaked: Sequence[str]) -> Patch | None:
    """An autouse fixture in the culprit's module restoring each leaked item after its tests."""
    body: list[str] = []
    after: list[str] = []
    imports: set[str] = set()
    env_names: list[str] = []
    for key in leaked:
        env = re.fullmatch(r"os\.environ\[(.+)\]", key)
        attr = _module_attr(key)
        if env:
            env_names.append(env.group(1))
        elif key == "cwd":
            imports.add("os")
            body.append("monkeypatch.chdir(os.getcwd())")
        elif key == "sys.path":
            imports.add("sys")
            body.append("monkeypatch.setattr(sys, 'path', list(sys.path))")
        elif key == "logging: handler on root":
            imports.add("logging")
            body.append("saved_handlers = logging.getLogger().handlers[:]")
            after.append("logging.getLogger().handlers[:] = saved_handlers")
        elif key.startswith("file ") and not key.startswith("file $TMPDIR/"):
            rel = key[len("file ") :]
            imports.add("pathlib")
            after.append(f"pathlib.Path(request.config.rootpath, {rel!r}).unlink(missing_ok=True)")
        elif attr is not None:
            module, name = attr
            imports.update(("copy", "importlib"))
            body += [
                f"leaked_module = importlib.import_module({module!r})",
                f"monkeypatch.setattr(leaked_module, {name!r}, copy.copy(leaked_module.{name}))",
            ]
        else:
            return None  # an item we do not know how to restore: no fix rather than half of one
    if env_names:
        imports.add("os")
        body.append(
            f"saved_env = {{name: os.environ.get(name) for name in ({', '.join(env_names)},)}}"
        )
        # by hand, not monkeypatch: a variable the test itself set must go too
        after += [
            "for name, value in saved_env.items():",
            "    if value is None:",
            "        os.environ.pop(name, None)",
            "    else:",
            "        os.environ[name] = value",
        ]
    needs_request = any("request." in line for line in after)
    args = "monkeypatch, request" if needs_request else "monkeypatch"
    return _autouse_fixture(
        root,
        culprit,
        sorted(imports),
        f"def _restore_leaked_state({args}):",
        [
            f'"""{MARK}: these tests leaked {", ".join(leaked)}; put it back after each."""',
            *body,
            "yield",
            *after,
        ],
    )


def seed_fix(root: Path, test_id: str, seed: int) -> Patch | None:
    return _autouse_fixture(
        root,
        test_id,
        ["os", "random"],
        "def _seeded_randomness(monkeypatch):",
        [
            f'"""{MARK}: every random source here draws from one generator seeded with {seed}."""',
            f"generator = random.Random({seed})",
            f"random.seed({seed})",
            "monkeypatch.setattr(os, 'urandom', generator.randbytes)",
            "# SystemRandom, and so secrets, read random._urandom",
            "monkeypatch.setattr(random, '_urandom', generator.randbytes)",
        ],
    )


def clock_fix(root: Path, test_id: str, epoch: float) -> Patch | None:
    return _autouse_fixture(
        root,
        test_id,
        ["time"],
        "def _pinned_clock(monkeypatch):",
        [
            f'"""{MARK}: the wall clock is pinned, so the outcome does not depend on when."""',
            f"monkeypatch.setattr(time, 'time', lambda: {epoch!r})",
            f"monkeypatch.setattr(time, 'time_ns', lambda: {int(epoch * 1e9)})",
        ],
    )


_ORDER_TAKERS = frozenset(("list", "tuple", "next", "iter", "enumerate"))


def sorted_set_fix(root: Path, test_id: str) -> Patch | None:
    """Wrap with sorted() each set the test turns into an order: `list(tags)`, `"".join(s)`."""
    file = _file_of(test_id)
    source = (root / file).read_text(encoding="utf-8")
    name = test_id.split("::")[-1].split("[")[0]
    tree = ast.parse(source)
    func = next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
        ),
        None,
    )
    if func is None:
        return None
    sets = {
        t.id
        for n in ast.walk(func)
        if isinstance(n, ast.Assign) and _is_set(n.value)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    spots: list[ast.expr] = []
    for n in ast.walk(func):
        if not isinstance(n, ast.Call) or not n.args:
            continue
        arg = n.args[0]
        taker = isinstance(n.func, ast.Name) and n.func.id in _ORDER_TAKERS
        joiner = isinstance(n.func, ast.Attribute) and n.func.attr == "join"
        if (taker or joiner) and (_is_set(arg) or (isinstance(arg, ast.Name) and arg.id in sets)):
            spots.append(arg)
    for n in ast.walk(func):
        if isinstance(n, ast.For) and isinstance(n.iter, ast.Name) and n.iter.id in sets:
            spots.append(n.iter)
    if not spots:
        return None
    lines = source.splitlines(keepends=True)
    for spot in sorted(spots, key=lambda s: (s.lineno, s.col_offset), reverse=True):
        if spot.lineno != spot.end_lineno or spot.end_col_offset is None:
            continue
        line = lines[spot.lineno - 1].encode()
        start, end = spot.col_offset, spot.end_col_offset
        line = line[:start] + b"sorted(" + line[start:end] + b")" + line[end:]
        lines[spot.lineno - 1] = line.decode()
    return Patch(file, source, "".join(lines))


def _is_set(node: ast.expr) -> bool:
    if isinstance(node, ast.Set | ast.SetComp):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("set", "frozenset")
    )


@dataclass(frozen=True)
class Verified:
    verified: bool
    runs: int
    note: str


def scratch_copy(root: Path, dest: Path) -> Path:
    """Copy the project into `dest`, leaving out the folder that holds `dest` itself (a
    `--reports` folder of any name inside the project), which would copy the copy forever."""
    if dest.exists():
        shutil.rmtree(dest)
    target = dest.resolve()

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(IGNORE(folder, names))
        for name in names:
            path = (Path(folder) / name).resolve()
            if path == target or path in target.parents:
                skipped.add(name)
        return skipped

    shutil.copytree(root, dest, ignore=ignore, symlinks=True)
    return dest


def _own_packages(copy: Path) -> list[str]:
    names = []
    for base in (copy, copy / "src"):
        if not base.is_dir():
            continue
        for entry in sorted(base.iterdir()):
            if entry.is_dir() and (entry / "__init__.py").is_file() and entry.name.isidentifier():
                names.append(entry.name)
    return names


def verify(
    trials: Trials,
    patch: Patch,
    diff_path: Path,
    repro_args: Sequence[str],
    repro_env: dict[str, str],
    victim: str,
    *,
    repro_failed: int,
    deselect: Sequence[str],
    scratch: Path,
) -> Verified:
    """In a scratch copy: the diff applies, the copy's code is what runs, the repro passes until
    chance (a test failing at a fixed rate) cannot explain it, and the rest of the suite passes."""
    copy = scratch_copy(trials.root, scratch)
    applied = subprocess.run(
        ["git", "apply", "--whitespace=nowarn", str(diff_path.resolve())],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    if applied.returncode != 0:
        return Verified(False, 0, f"the patch does not apply: {applied.stderr.strip()[:200]}")
    if (copy / patch.file).read_text(encoding="utf-8") != patch.after:
        return Verified(False, 0, "the patch applied, but not as written")  # pragma: no cover
    path = os.pathsep.join(
        [str(copy / "src"), str(copy), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env = {"PYTHONPATH": path, **repro_env}
    local = Trials(
        copy, trials.work / (scratch.name + "-runs"), timeout=trials.timeout,
        options=trials.options, stop=trials.stop, alpha=trials.alpha,
    )  # fmt: skip
    packages = _own_packages(copy)
    if packages:
        probe = subprocess.run(
            [
                trials_python(),
                "-c",
                "import importlib.util, sys\n"
                "for n in sys.argv[1:]: print(importlib.util.find_spec(n).origin)",
                *packages,
            ],
            cwd=copy,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        origins = probe.stdout.split()
        if probe.returncode != 0 or not all(
            Path(o).resolve().is_relative_to(copy.resolve()) for o in origins
        ):
            return Verified(False, 0, "the scratch copy's own code is not what gets imported")
    runs = 0
    while True:
        run = local.run(repro_args, env=env)
        runs += 1
        if failed(run.outcome_of(victim)):
            return Verified(False, runs, f"the repro still failed in run {runs} with the fix")
        if chance(passes=runs, failures=repro_failed) <= trials.alpha or runs >= 12:
            break
    rest = local.run([f"--deselect={d}" for d in deselect], env={"PYTHONPATH": path})
    runs += 1
    if rest.exit_code != 0:
        broken = sorted({r.id for r in rest.records if r.outcome.is_failure})
        return Verified(False, runs, "the rest of the suite fails with it: " + ", ".join(broken))
    verified = chance(passes=runs - 1, failures=repro_failed) <= trials.alpha
    note = f"repro passed {runs - 1} of {runs - 1}; the rest of the suite passed"
    return Verified(verified, runs, note)


def trials_python() -> str:
    import sys

    return sys.executable


def write(reports_dir: Path, name: str, patch: Patch) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120] or "fix"
    return _atomic.write_text(reports_dir / "flaky" / "fixes" / f"{safe}.diff", patch.diff())
