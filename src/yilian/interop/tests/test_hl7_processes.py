"""`yilian hl7 listen --processes N`: the supervisor starts N processes sharing the port, starts again one that
dies, stops them all on request (each gets SIGTERM and finishes), and fails at once when they cannot start.
The processes here are small stand-ins that bind the port as the listener does."""

import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yilian.interop import processes

CHILD = """
import os, signal, socket, sys, time
folder, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
sock.bind(("127.0.0.1", port))
sock.listen()
def stop(*_):
    open(os.path.join(folder, f"stopped-{os.getpid()}"), "w").close()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(os.path.join(folder, f"started-{os.getpid()}"), "w").close()
while True:
    time.sleep(0.05)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids(folder: Path, kind: str) -> set[int]:
    return {int(p.name.split("-")[1]) for p in folder.glob(f"{kind}-*")}


def _wait(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_processes_share_the_port_a_dead_one_is_replaced_and_all_stop_on_request(tmp_path, monkeypatch):
    monkeypatch.setattr(processes, "EARLY", 0.5)
    command = [sys.executable, "-c", CHILD, str(tmp_path), str(_free_port())]
    stop, failed = threading.Event(), []

    def run():
        try:
            processes.supervise(command, 3, stop.is_set)
        except Exception as exc:  # noqa: BLE001  reported to the test below
            failed.append(exc)

    supervisor = threading.Thread(target=run)
    supervisor.start()
    try:
        _wait(lambda: len(_pids(tmp_path, "started")) == 3)  # three processes bound one port
        time.sleep(0.6)  # past the start-up window
        victim = min(_pids(tmp_path, "started"))
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: len(_pids(tmp_path, "started")) == 4)  # another started in its place
    finally:
        stop.set()
        supervisor.join(30)
    assert not supervisor.is_alive() and not failed
    assert _pids(tmp_path, "stopped") == _pids(tmp_path, "started") - {victim}  # each living one got SIGTERM


def test_processes_that_cannot_start_fail_at_once_instead_of_restarting(tmp_path):
    started = time.monotonic()
    with pytest.raises(processes.StartFailed):
        processes.supervise([sys.executable, "-c", "import sys; sys.exit(3)"], 2, lambda: False)
    assert time.monotonic() - started < processes.EARLY + 2


def test_the_command_refuses_several_processes_on_a_random_port():
    with pytest.raises(CommandError, match="fixed --port"):
        call_command("hl7", "listen", "--processes", "2", "--port", "0")
    with pytest.raises(CommandError, match="at least 1"):
        call_command("hl7", "listen", "--workers", "0")


def test_the_listener_processes_are_whole_listeners_on_the_shared_port():
    command = processes.child_command("10.0.0.5", 2575, 3)
    assert command[1:3] == ["-m", "yilian.cli"] and command[3:5] == ["hl7", "listen"]
    assert {"--reuse-port", "--child"} <= set(command) and command[command.index("--processes") + 1] == "1"
    assert command[command.index("--workers") + 1] == "3" and command[command.index("--port") + 1] == "2575"
