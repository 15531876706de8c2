"""An MLLP client (python-hl7's asyncio streams): send messages on one connection, one at a time, each
waiting for its ACK — as a member's LIS does. Used by `yilian hl7 send`, the demo and the benchmark.

    acks = send_messages("127.0.0.1", 2575, [text, ...])      # the ACK texts, in order
    replies = await exchange("127.0.0.1", 2575, [text, ...])   # (ACK text, seconds) each
"""

import asyncio
import re
import time

from hl7.mllp import open_hl7_connection

from yilian.interop.listener import LIMIT

TIMEOUT = 30.0


async def exchange(host: str, port: int, messages, timeout: float = TIMEOUT) -> list[tuple[str, float]]:
    """Send each message (text, or bytes as they are) and read its ACK: [(ACK text, seconds)]."""
    reader, writer = await asyncio.wait_for(open_hl7_connection(host, port, limit=LIMIT), timeout)
    out = []
    try:
        for message in messages:
            started = time.perf_counter()
            writer.writeblock(message.encode("utf-8") if isinstance(message, str) else message)
            await writer.drain()
            block = await asyncio.wait_for(reader.readblock(), timeout)
            out.append((block.decode("utf-8", "replace"), time.perf_counter() - started))
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
    return out


def send_messages(host: str, port: int, messages, timeout: float = TIMEOUT) -> list[str]:
    """The ACK text of each message, in order (one connection)."""
    return [text for text, _seconds in asyncio.run(exchange(host, port, list(messages), timeout))]


def split_messages(text: str) -> list[str]:
    """The messages of a file: segments end with CR (LF and CRLF are read as CR), a message begins at each
    MSH; MLLP framing characters, if the file has them, are dropped."""
    text = re.sub(r"[\x0b\x1c]", "", text).replace("\r\n", "\r").replace("\n", "\r")
    out: list[list[str]] = []
    for segment in text.split("\r"):
        if not segment.strip():
            continue
        if segment.startswith("MSH") or not out:
            out.append([])
        out[-1].append(segment)
    return ["\r".join(segments) + "\r" for segments in out]
