"""`yilian hl7 listen --processes N`: N listener processes on one port (docs/hl7.md, "Layout").

One Python process runs its threads one at a time (the interpreter lock), so one listener uses one core
however many workers it has; on a machine with several cores the listener runs as several processes bound
to the same port with SO_REUSEPORT, and the kernel spreads the members' connections over them. Every
process is a whole listener: a connection, and so a sender's message order, stays with one process, and
the (MSH-3, MSH-10) claim in the database keeps duplicates out across processes as within one.

The supervisor (this module) starts the processes, starts again one that dies (a second later: the others
serve meanwhile), and on SIGTERM or Ctrl-C passes the signal on and waits for them to finish the messages
they hold. If a process dies within `EARLY` seconds of the first start (the port is taken, the database is
unreachable) the supervisor stops them all and fails: restarting would only repeat the failure.
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

from yilian.interop.listener import GRACE

log = logging.getLogger("yilian.interop.listener")
EARLY = 3.0  # seconds: a process that dies this soon after the first start is a failure to start
POLL = 0.2


class StartFailed(Exception):
    pass


def default_processes() -> int:
    """One per core (at most 8), where the port can be shared (SO_REUSEPORT spreads connections on Linux)."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_REUSEPORT"):
        return 1
    return max(1, min(8, os.cpu_count() or 1))


def child_command(host: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "yilian.cli", "hl7", "listen", "--host", host, "--port", str(port),
            "--workers", str(workers), "--processes", "1", "--reuse-port", "--child"]


def supervise(command: list[str], processes: int, should_stop: Callable[[], bool]) -> None:
    """Run `processes` copies of `command` until `should_stop()`; then SIGTERM them and wait."""
    started = time.monotonic()
    children = [subprocess.Popen(command) for _ in range(processes)]
    try:
        while not should_stop():
            for i, child in enumerate(children):
                code = child.poll()
                if code is None or should_stop():  # one stopped by the same Ctrl-C is not started again
                    continue
                if time.monotonic() - started < EARLY:
                    raise StartFailed(f"a listener process exited at start (code {code})")
                log.warning("hl7 listener process %s exited (code %s); starting another", child.pid, code)
                time.sleep(1)
                children[i] = subprocess.Popen(command)
            time.sleep(POLL)
    finally:
        _stop(children)


def _stop(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE + 5
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def run_processes(host: str, port: int, workers: int, processes: int) -> None:
    """The command's loop with several processes: serve until SIGINT or SIGTERM."""
    stop = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_args: stop.append(True))
    supervise(child_command(host, port, workers), processes, lambda: bool(stop))
