"""The process supervisor behind ``comun run``: the web server and the search worker as children,
signals forwarded, both stopped, a clean exit, no orphans holding the port.

Each child runs in its own session (process group), so a terminal's Ctrl-C reaches only the
supervisor, which forwards it once; and a child's whole group (gunicorn's master *and* its
workers) can be killed if it does not stop in time. On Linux each child also gets
``PR_SET_PDEATHSIG`` = ``SIGTERM`` (prctl(2)), so even a supervisor killed with ``SIGKILL`` does not
leave it running.

Signals: ``SIGINT`` is forwarded as ``SIGINT`` (gunicorn: quick shutdown), ``SIGTERM`` and ``SIGHUP``
as ``SIGTERM`` (gunicorn: graceful shutdown; ``SIGHUP`` would make gunicorn reload instead). The
supervisor then waits up to ``stop_timeout`` seconds for each child, kills what is left of each
child's process group with ``SIGKILL``, and returns 0.

A child marked ``restart`` (the search worker) is started again when it exits on its own, at most
once every :data:`RESTART_DELAY` seconds; when a child not marked ``restart`` (the web server)
exits on its own (e.g. the port is taken), the others are stopped and its exit code is returned.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

#: Seconds a child may take to stop after the forwarded signal before its group is killed.
STOP_TIMEOUT = 20.0
#: Least seconds between two starts of a restarting child.
RESTART_DELAY = 5.0
#: Seconds between two looks at the children.
POLL = 0.2

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class Child:
    """A supervised command: ``name`` (for messages), ``argv``, and ``restart`` (start it again
    when it exits on its own). ``proc`` and ``started`` (``time.monotonic()``) are set by
    :meth:`Supervisor.start`."""

    name: str
    argv: list[str]
    restart: bool = False
    proc: subprocess.Popen | None = field(default=None, repr=False)
    started: float = 0.0


class Supervisor:
    """Start ``children`` with environment ``env`` and supervise them (see the module docstring).

    Args:
        children: the commands, started in order.
        env: their environment.
        stop_timeout: seconds each child may take to stop (:data:`STOP_TIMEOUT`).
        log: ``log(message)`` for what the supervisor does (default: standard error).
    """

    def __init__(self, children: list[Child], env: dict[str, str], stop_timeout: float = STOP_TIMEOUT,
                 log: Callable[[str], None] | None = None):
        self.children = children
        self.env = env
        self.stop_timeout = stop_timeout
        self.log = log or (lambda message: print(message, file=sys.stderr, flush=True))
        self.received: int | None = None

    def _spawn(self, child: Child) -> None:
        child.proc = subprocess.Popen(child.argv, env=self.env, start_new_session=True,
                                      preexec_fn=_die_with_parent)
        child.started = time.monotonic()

    def _on_signal(self, signum, _frame) -> None:
        if self.received is None:
            self.received = signum

    def run(self) -> int:
        """Start the children and supervise them until a signal arrives or a non-restarting child
        exits. Returns the exit code for ``comun run``: 0 after a signal, else the exit code of the
        child that ended (1 if it was killed by a signal)."""
        previous = {s: signal.signal(s, self._on_signal) for s in FORWARDED}
        code = 0
        try:
            for child in self.children:
                self._spawn(child)
            code = self._watch()
        finally:
            self.stop(self.received or signal.SIGTERM)
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 0 if self.received is not None else code

    def _watch(self) -> int:
        while self.received is None:
            for child in self.children:
                rc = child.proc.poll()
                if rc is None:
                    continue
                if not child.restart:
                    self.log(f"comun run: {child.name} exited with code {rc}; stopping.")
                    return rc if rc > 0 else (1 if rc < 0 else 0)
                if time.monotonic() - child.started >= RESTART_DELAY:
                    self.log(f"comun run: {child.name} exited with code {rc}; starting it again.")
                    self._spawn(child)
            time.sleep(POLL)
        return 0

    def stop(self, signum: int) -> None:
        """Forward ``signum`` (``SIGINT`` as is, anything else as ``SIGTERM``) to every running child,
        wait up to ``stop_timeout`` seconds for each, then kill every child's process group with
        ``SIGKILL`` (what a stopped child left behind, or a child that did not stop)."""
        forward = signal.SIGINT if signum == signal.SIGINT else signal.SIGTERM
        running = [c for c in self.children if c.proc is not None and c.proc.poll() is None]
        for child in running:
            try:
                child.proc.send_signal(forward)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            try:
                child.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"comun run: {child.name} did not stop in {self.stop_timeout:g} s; killing it.")
        for child in self.children:
            if child.proc is None:
                continue
            try:
                os.killpg(child.proc.pid, signal.SIGKILL)  # its group: the pgid is the child's pid
            except (ProcessLookupError, PermissionError):
                pass
            child.proc.wait()
