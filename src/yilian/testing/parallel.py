"""Real parallel connections for the PostgreSQL tests: n threads released together, each on its own
database connection."""

import threading
from collections.abc import Callable

from django.db import connections


def in_parallel(n: int, work: Callable[[int], object], *, wait: float = 30,
                join: float = 60) -> list[tuple[str, object]]:
    """Run `work(i)` in n threads released together (the barrier waits `wait` seconds at most); each thread
    uses and then closes its own connection. Returns ("ok", result) or ("error", exception) per thread;
    fails if a thread is still running after `join` seconds."""
    barrier = threading.Barrier(n)
    results: list[tuple[str, object]] = [("error", None)] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=wait)
            results[i] = ("ok", work(i))
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=join)
    assert not any(t.is_alive() for t in threads)
    return results
