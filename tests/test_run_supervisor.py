"""``comun run`` stops gunicorn and the search worker on SIGTERM/SIGINT and leaves no orphan
holding the port (issue 19, item 8).

Runs the real command in a subprocess on a temporary instance and a free port. Waits have
generous bounds (the machine may be loaded); nothing here measures speed.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from comun_cms.supervisor import Child, Supervisor

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

BOUND = 120.0  # seconds: an upper bound for waits, never an expectation


def _ppid_map() -> dict[int, int]:
    out = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            out[int(d.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return out


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents = _ppid_map()
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(condition, bound: float = BOUND) -> bool:
    end = time.monotonic() + bound
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    path = tmp_path_factory.mktemp("run-instance")
    env = dict(os.environ, COMUN_INSTANCE_PATH=str(path))
    env.pop("COMUN_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "comun_cms.cli", "init"], env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env, port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "comun_cms.cli", "run", "--port", str(port), "--workers", "2"],
                            env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_comun_run_stops_every_child_and_frees_the_port(instance, tmp_path, signum):
    port = _free_port()
    run = _start(instance, port, tmp_path / "run.log")
    try:
        assert wait_until(lambda: answers(port)), (tmp_path / "run.log").read_text()
        children = descendants(run.pid)
        # gunicorn master, its 2 workers and the search worker
        assert len(children) >= 4, children
        run.send_signal(signum)
        assert run.wait(timeout=BOUND) == 0, (tmp_path / "run.log").read_text()
        assert wait_until(lambda: not any(alive(p) for p in children)), [p for p in children if alive(p)]
        assert wait_until(lambda: port_free(port))
    finally:
        if run.poll() is None:
            run.kill()
    # a second `comun run` on the same port starts (no "Connection in use")
    again = _start(instance, port, tmp_path / "again.log")
    try:
        assert wait_until(lambda: answers(port)), (tmp_path / "again.log").read_text()
        again.send_signal(signal.SIGTERM)
        assert again.wait(timeout=BOUND) == 0
    finally:
        if again.poll() is None:
            again.kill()
    assert "Connection in use" not in (tmp_path / "again.log").read_text()


def test_a_server_that_exits_stops_the_worker_and_returns_its_code(tmp_path):
    """The web server ending on its own (here: exit 3) stops the other children."""
    marker = tmp_path / "starts"
    worker = Child("worker", [sys.executable, "-c",
                              f"open({str(marker)!r}, 'a').write('x'); import time; time.sleep(600)"], restart=True)
    server = Child("server", [sys.executable, "-c", "import time; time.sleep(1); raise SystemExit(3)"])
    messages = []
    code = Supervisor([worker, server], dict(os.environ), stop_timeout=10, log=messages.append).run()
    assert code == 3 and "server exited with code 3" in messages[0]
    assert worker.proc.poll() is not None and not alive(worker.proc.pid)
    assert marker.read_text() == "x"


def test_a_restarting_child_that_dies_is_started_again(tmp_path, monkeypatch):
    monkeypatch.setattr("comun_cms.supervisor.RESTART_DELAY", 0.1)
    marker = tmp_path / "starts"
    marker.write_text("")
    worker = Child("worker", [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"], restart=True)
    server = Child("server", [sys.executable, "-c",
                              f"import time\nfor _ in range(3000):\n    time.sleep(0.1)\n"
                              f"    if len(open({str(marker)!r}).read()) >= 3: raise SystemExit(0)\nraise SystemExit(9)"])
    messages = []
    assert Supervisor([worker, server], dict(os.environ), stop_timeout=10, log=messages.append).run() == 0
    assert len(marker.read_text()) >= 3
    assert any("worker exited with code 0; starting it again" in m for m in messages)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_children_stop_even_when_the_supervisor_is_killed(tmp_path):
    """SIGKILL cannot be forwarded: the children's PR_SET_PDEATHSIG sends them SIGTERM instead."""
    script = tmp_path / "sup.py"
    script.write_text(
        "import os, sys\n"
        "from comun_cms.supervisor import Child, Supervisor\n"
        "sleep = [sys.executable, '-c', 'import time; time.sleep(600)']\n"
        "sys.exit(Supervisor([Child('a', sleep), Child('b', sleep, restart=True)], dict(os.environ)).run())\n")
    sup = subprocess.Popen([sys.executable, str(script)])
    try:
        assert wait_until(lambda: len(descendants(sup.pid)) == 2)
        children = descendants(sup.pid)
        sup.kill()
        sup.wait(timeout=BOUND)
        assert wait_until(lambda: not any(alive(p) for p in children)), [p for p in children if alive(p)]
    finally:
        if sup.poll() is None:
            sup.kill()
