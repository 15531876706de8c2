"""The MLLP listener (`yilian hl7 listen`): python-hl7's asyncio MLLP server, one task per connection, the
database work in a pool of threads (the ORM is synchronous).

- A connection sends a block, waits for its ACK, sends the next: its messages are handled in order; many
  connections are handled at once, up to `workers` messages in the database at a time.
- Each block is decoded as UTF-8 by `ingest` (anything else gets AR). A block without its start character
  gets AR and the connection goes on (the stream resynchronises at the end mark); a block larger than
  `LIMIT` gets AR and the connection is closed (the rest of it cannot be told from a next message).
- Whatever goes wrong with one connection (a reset, garbage, a crash in a handler) ends that connection
  only. Exceptions are logged by type, never with their text (it may quote a message).
- Each worker thread checks its database connection (`close_old_connections`: CONN_MAX_AGE, health
  check) before its first message, every `CHECK_SECONDS` after, and after any database error; it closes
  its connections when the listener stops.
- Stop (`stop()`, SIGTERM, Ctrl-C): no new connections; idle connections are closed at once; a message in
  the database is finished and acknowledged (within `GRACE` seconds), then its connection is closed.

`start_listener(host, port)` runs it in a background thread (tests, the demo, the benchmark) and returns
the `Listener`: `.port` (the bound port, also for port 0) and `.stop()`.
"""

import asyncio
import logging
import queue
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from django.db import close_old_connections, connections
from hl7.mllp import InvalidBlockError, start_hl7_server

from yilian.interop import ingest

log = logging.getLogger("yilian.interop.listener")
LIMIT = 1 << 20  # the largest block, in bytes (a message with its exam report text fits many times)
GRACE = 10.0  # seconds a stopping listener waits for the messages in the database
CHECK_SECONDS = 5.0  # how often a worker checks its database connection while messages flow


class Workers:
    """A fixed pool of threads for the database work; each closes its own database connections when the
    pool stops (Django's connections belong to the thread that opened them)."""

    def __init__(self, n: int):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"hl7-db-{i}", daemon=True) for i in range(n)]
        for thread in self._threads:
            thread.start()

    def _run(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                future, fn, args = job
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(fn(*args))
                    except BaseException as exc:  # handed to the awaiting connection
                        future.set_exception(exc)
        finally:
            connections.close_all()

    def run(self, fn, *args) -> "asyncio.Future":
        future: Future = Future()
        self._jobs.put((future, fn, args))
        return asyncio.wrap_future(future)

    def stop(self, timeout: float = GRACE) -> None:
        for _thread in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(timeout)


class Listener:
    """One MLLP server: `serve()` in a running loop (the command), or `start()` / `stop()` in a thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 2575, *, workers: int = 4,
                 handler: Callable[[bytes], bytes] | None = None, reuse_port: bool = False):
        self.host, self.port, self.workers, self.reuse_port = host, port, max(1, workers), reuse_port
        self.senders = ingest.Senders()
        self.handler = handler or (lambda raw: ingest.handle(raw, self.senders))
        self.handled = 0
        self._local = threading.local()
        self._busy: dict[asyncio.Task, bool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # --- one message, in a worker thread ---

    def _checked(self, fn, *args) -> bytes:
        """`fn` with a database connection known to work: checked (CONN_MAX_AGE, health check) before the
        first message and then every `CHECK_SECONDS`, and at once after a database error — not before every
        message, which would cost a round trip each."""
        now = time.monotonic()
        if now - getattr(self._local, "checked", -CHECK_SECONDS) >= CHECK_SECONDS:
            close_old_connections()
            self._local.checked = now
        try:
            return fn(*args)
        finally:
            if any(c.errors_occurred for c in connections.all(initialized_only=True)):
                close_old_connections()

    def _work(self, block: bytes) -> bytes:
        return self._checked(self.handler, block)

    def _refuse(self, reason: str) -> bytes:
        return self._checked(ingest.refuse, reason)

    # --- one connection ---

    async def _answer(self, reader) -> tuple[bytes, bool]:
        """(the ACK of the next block, whether the connection can go on)."""
        task = asyncio.current_task()
        try:
            block = await reader.readblock()
        except InvalidBlockError:
            self._busy[task] = True
            return await self.pool.run(self._refuse, "framing"), True
        except ValueError:  # over LIMIT
            self._busy[task] = True
            return await self.pool.run(self._refuse, "size"), False
        self._busy[task] = True
        return await self.pool.run(self._work, bytes(block)), True

    async def _connection(self, reader, writer) -> None:
        task = asyncio.current_task()
        self._busy[task] = False
        go_on = True
        try:
            while go_on and not self._stopping.is_set():
                reply, go_on = await self._answer(reader)
                writer.writeblock(reply)
                await writer.drain()
                self.handled += 1
                self._busy[task] = False
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the peer closed (or dropped) the connection, or the listener is stopping
        except Exception as exc:  # one bad connection never stops the others
            log.warning("hl7 connection ended by %s", type(exc).__name__)
        finally:
            self._busy.pop(task, None)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass

    # --- the server ---

    @staticmethod
    def _quiet(loop, context) -> None:
        exc = context.get("exception")
        log.warning("hl7 listener: %s", type(exc).__name__ if exc else "event-loop error")

    async def serve(self, ready: Callable[[], None] | None = None) -> None:
        """Run until `request_stop` (or `stop`), then shut down gracefully."""
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(self._quiet)
        self._stopping = asyncio.Event()
        self.pool = Workers(self.workers)
        try:
            server = await start_hl7_server(self._connection, self.host, self.port, limit=LIMIT,
                                            reuse_port=self.reuse_port or None)
        except BaseException:
            self.pool.stop()
            raise
        self.port = server.sockets[0].getsockname()[1]
        log.info("hl7 listener on %s:%s with %s workers", self.host, self.port, self.workers)
        if ready:
            ready()
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown(server)

    async def _stop_accepting(self, server) -> None:
        """No new connections; the ones accepted just now get their transport first (closing the server
        under a pending accept makes asyncio drop that socket without closing it: Server._attach asserts)."""
        loop, current = asyncio.get_running_loop(), asyncio.current_task()
        for sock in server.sockets:
            loop.remove_reader(sock.fileno())
        for _ in range(3):
            accepting = [t for t in asyncio.all_tasks() if t is not current and t not in self._busy]
            if not accepting:
                break
            await asyncio.wait(accepting, timeout=1)
        server.close()

    async def _shutdown(self, server) -> None:
        await self._stop_accepting(server)
        for task, busy in list(self._busy.items()):
            if not busy:
                task.cancel()
        pending = list(self._busy)
        if pending:
            _done, late = await asyncio.wait(pending, timeout=GRACE)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=1)
        await asyncio.get_running_loop().run_in_executor(None, self.pool.stop)
        log.info("hl7 listener stopped after %s messages", self.handled)

    def request_stop(self) -> None:
        """From the listener's own loop (a signal handler)."""
        if self._stopping is not None:
            self._stopping.set()

    # --- in a background thread ---

    def start(self, timeout: float = 10) -> "Listener":
        ready, failed = threading.Event(), []

        def run() -> None:
            try:
                asyncio.run(self.serve(ready.set))
            except BaseException as exc:  # reported to the caller of start()
                failed.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name="hl7-listener", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the HL7 listener did not start")
        if failed:
            raise failed[0]
        return self

    def stop(self, timeout: float = GRACE + 5) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.request_stop)
            self._thread.join(timeout)


def start_listener(host: str = "127.0.0.1", port: int = 0, **options) -> Listener:
    """A listener running in a background thread; `.port` is the bound port, `.stop()` stops it."""
    return Listener(host, port, **options).start()


def run_forever(host: str, port: int, workers: int, reuse_port: bool = False) -> None:
    """The command's loop: serve until SIGINT or SIGTERM."""
    listener = Listener(host, port, workers=workers, reuse_port=reuse_port)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, listener.request_stop)
        await listener.serve()

    asyncio.run(main())
