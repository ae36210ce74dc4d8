"""Controlled conditions for a flaky test, loaded with `-p testgate.flaky.control`.

Each option pins one source of non-determinism, from configure on (before test modules are
imported, so `from time import time` gets the pinned clock) and again before every test:

- `--testgate-seed=S`: `random`, `numpy.random`, `os.urandom`, `random.SystemRandom`, `secrets`
  and `uuid.uuid4` draw from one generator seeded with S;
- `--testgate-clock=T`: the wall clock (`time.time`, `time.time_ns`, `datetime.now/utcnow/today`,
  `date.today`, `time.localtime/gmtime/strftime`) starts at epoch T at each test and runs on;
- `--testgate-network=off`: sockets refuse to connect (except Unix sockets);
- `--testgate-switch-interval=S`: `sys.setswitchinterval(S)`, how often threads are switched.

A comma-separated list gives one value per pytest-repeat repetition (`--count`), so one process
screens several values; the repro a user runs names one value.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

PLUGIN = "testgate.flaky.control"
REPEAT_FIXTURE = "__pytest_repeat_step_number"
_real_time = time.time
_real_localtime, _real_gmtime, _real_strftime = time.localtime, time.gmtime, time.strftime
_real_monotonic = time.monotonic


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("testgate")
    for name, what in (
        ("seed", "seed every random source with S"),
        ("clock", "start the wall clock at epoch T at each test"),
        ("network", "'off': sockets refuse to connect"),
        ("switch-interval", "sys.setswitchinterval(S)"),
    ):
        group.addoption(
            f"--testgate-{name}",
            dest=f"testgate_{name.replace('-', '_')}",
            default=None,
            metavar="VALUE[,VALUE…]",
            help=f"testgate flaky: {what} (one value per repetition)",
        )


def _values(raw: str | None) -> list[str]:
    return [] if raw is None else [v for v in raw.split(",") if v]


class Control:
    def __init__(self, config: pytest.Config) -> None:
        self.seeds = [int(v) for v in _values(config.getoption("testgate_seed"))]
        self.clocks = [float(v) for v in _values(config.getoption("testgate_clock"))]
        self.switches = [float(v) for v in _values(config.getoption("testgate_switch_interval"))]
        self.network = config.getoption("testgate_network") == "off"
        self.rng = random.Random(0)  # noqa: S311 - reproducible on purpose, not for secrets
        self.start = (0.0, _real_monotonic())
        if self.seeds:
            self._seed(self.seeds[0])
            os.urandom = self._urandom
            random._urandom = self._urandom  # type: ignore[attr-defined]  # SystemRandom, secrets
        if self.clocks:
            self._clock(self.clocks[0])
            _pin_clock(self.now)
        if self.switches:
            sys.setswitchinterval(self.switches[0])
        if self.network:
            _refuse_network()

    def _urandom(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def _seed(self, seed: int) -> None:
        random.seed(seed)
        self.rng.seed(seed)
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            numpy.random.seed(seed % 2**32)

    def _clock(self, epoch: float) -> None:
        self.start = (epoch, _real_monotonic())

    def now(self) -> float:
        epoch, then = self.start
        return epoch + (_real_monotonic() - then)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Iterator[None]:
        callspec = getattr(item, "callspec", None)
        step = int(callspec.params.get(REPEAT_FIXTURE, 0)) if callspec is not None else 0
        if self.seeds:
            self._seed(self.seeds[step % len(self.seeds)])
        if self.switches:
            sys.setswitchinterval(self.switches[step % len(self.switches)])
        if self.clocks:
            self._clock(self.clocks[step % len(self.clocks)])
        yield


def pytest_configure(config: pytest.Config) -> None:
    names = ("testgate_seed", "testgate_clock", "testgate_network", "testgate_switch_interval")
    if all(config.getoption(n) is None for n in names):
        return
    config.pluginmanager.register(Control(config), "testgate-control")


def _pin_clock(now: Callable[[], float]) -> None:
    def time_ns() -> int:
        return int(now() * 1e9)

    def localtime(secs: float | None = None) -> time.struct_time:
        return _real_localtime(now() if secs is None else secs)

    def gmtime(secs: float | None = None) -> time.struct_time:
        return _real_gmtime(now() if secs is None else secs)

    def strftime(fmt: str, t: Any = None) -> str:
        return _real_strftime(fmt, localtime() if t is None else t)

    time.time, time.time_ns = now, time_ns
    time.localtime, time.gmtime = localtime, gmtime  # type: ignore[assignment]  # narrower args
    time.strftime = strftime

    class PinnedDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Any:
            return dt.datetime.fromtimestamp(now(), tz)

        @classmethod
        def utcnow(cls) -> Any:
            return dt.datetime.fromtimestamp(now(), dt.timezone.utc).replace(tzinfo=None)

        @classmethod
        def today(cls) -> Any:
            return dt.datetime.fromtimestamp(now())

    class PinnedDate(dt.date):
        @classmethod
        def today(cls) -> Any:
            return dt.date.fromtimestamp(now())

    dt.datetime = PinnedDatetime  # type: ignore[misc]  # what `from datetime import datetime` sees
    dt.date = PinnedDate  # type: ignore[misc]


class NetworkRefused(ConnectionRefusedError):
    """Raised by testgate's network control: the test tried to open a connection."""


def _refuse_network() -> None:
    connect = socket.socket.connect

    def refuse(self: socket.socket, address: Any) -> None:
        if self.family == getattr(socket, "AF_UNIX", None):
            connect(self, address)
            return
        raise NetworkRefused(f"testgate flaky: network refused ({address!r})")

    def refuse_ex(self: socket.socket, address: Any) -> int:
        refuse(self, address)
        return 0

    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]  # patched on purpose
    socket.socket.connect_ex = refuse_ex  # type: ignore[method-assign,assignment]
