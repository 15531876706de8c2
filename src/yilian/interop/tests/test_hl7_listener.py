"""The MLLP listener over a real socket: the replay test (every message sent up to three times, connections
dropped before the ACK, database failures injected), malformed input, and one bad connection never
stopping the others."""

import contextlib
import io
import random
import socket
import threading
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, connections

from yilian.access.models import AuditEvent
from yilian.interop import ingest as ingest_module
from yilian.interop.client import send_messages
from yilian.interop.listener import LIMIT, start_listener
from yilian.interop.models import Message, Rejection
from yilian.interop.tests import hl7_data as d
from yilian.network.roles import Role
from yilian.results.actions import store_report
from yilian.results.models import Observation, Report
from yilian.testing import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
VT, END = b"\x0b", b"\x1c\x0d"


def frame(text) -> bytes:
    return VT + (text.encode() if isinstance(text, str) else text) + END


def read_ack(sock) -> str:
    data = b""
    while not data.endswith(END):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data[1:-2].decode()


@pytest.fixture
def serial():
    """SQLite's in-memory test database (shared cache) locks whole tables: there, the listener's work and
    the test threads' reads take turns; PostgreSQL runs them at once."""
    return threading.Lock() if connection.vendor == "sqlite" else contextlib.nullcontext()


@pytest.fixture
def listener(serial):
    def handle(raw: bytes) -> bytes:
        with serial:
            return ingest_module.handle(raw)

    running = start_listener("127.0.0.1", 0, workers=1 if connection.vendor == "sqlite" else 4, handler=handle)
    yield running
    running.stop()


@pytest.fixture
def setup(db):
    net = f.make_network()
    sender = d.make_sender(net)
    desk = f.make_membership(net.township, Role.REGISTRAR)
    return sender, [f.register_patient(desk) for _ in range(5)]


def test_replay_drops_and_failures_store_each_message_exactly_once(listener, setup, monkeypatch, serial):
    _sender, patients = setup
    rng = random.Random(6)
    messages = {}
    for n in range(36):
        orders = [d.electrolytes() if rng.random() < 0.7 else d.chest_ct() for _ in range(rng.randint(1, 3))]
        messages[f"R{n:04d}"] = d.oru(f"R{n:04d}", d.person(rng.choice(patients)), orders)
    expected_reports = sum(text.count("\rOBR|") for text in messages.values())
    expected_values = sum(text.count("|NM|") for text in messages.values())  # an exam's TX lines: its conclusion

    lock, injected = threading.Lock(), Counter()

    def flaky(*args, **kwargs):
        with lock:
            fail = rng.random() < 0.25
            injected["failures"] += fail
        if fail:
            raise OperationalError("injected")
        return store_report(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "store_report", flaky)
    acks: dict[str, list[str]] = {cid: [] for cid in messages}
    acknowledged_unstored = []

    def deliver(cids: list[str], seed: int) -> None:
        try:
            send(cids, random.Random(seed))
        finally:
            connections.close_all()

    def send(cids: list[str], local: random.Random) -> None:
        for cid in cids:
            planned = local.randint(1, 3)
            for attempt in range(40):
                with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as sock:
                    sock.sendall(frame(messages[cid]))
                    if attempt < planned - 1 and local.random() < 0.6:
                        continue  # dropped before the ACK: closed at once
                    ack = read_ack(sock)
                code = d.msa(ack)[0]
                acks[cid].append(code)
                if code == "AA":
                    with serial:
                        if not Message.objects.filter(control_id=cid).exists():
                            acknowledged_unstored.append(cid)
                if code == "AA" and attempt >= planned - 1:
                    break

    ids = list(messages)
    threads = [threading.Thread(target=deliver, args=(ids[i::3] + ids[:3], i)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    connection.close()  # the test thread reads what the listener committed

    assert not acknowledged_unstored
    assert all(codes and codes[-1] == "AA" and set(codes) <= {"AA", "AE"} for codes in acks.values())
    assert set(Message.objects.values_list("sending_application", "control_id")) == {
        (d.APPLICATION, cid) for cid in messages}
    assert Report.objects.count() == expected_reports and not Report.objects.exclude(version=1).exists()
    assert Observation.objects.count() == expected_values and not Observation.objects.filter(superseded=True).exists()
    assert AuditEvent.objects.filter(object_type="result_report").count() == expected_reports
    assert injected["failures"] > 0
    assert Rejection.objects.filter(code="AE").count() == injected["failures"]  # each failure answered AE
    assert sum(codes.count("AE") for codes in acks.values()) <= injected["failures"]
    for message in Message.objects.all():  # a duplicate's ACK is the stored one
        assert d.msa(message.ack) == ["AA", message.control_id, ""]


def test_malformed_input_gets_ar_and_the_listener_keeps_serving(listener, setup):
    _sender, (patient, *_rest) = setup
    good, good2 = d.oru("G1", d.person(patient)), d.oru("G2", d.person(patient))
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as bad:
        replies = []
        for block in (b"MSH|no start character" + END,  # framing: the stream resynchronises at the end mark
                      frame(good.replace("G1", "B1").encode("gb18030")),  # not UTF-8
                      frame(good.replace("G1", "B2").split("\rOBR")[0].replace("\rPID", "\rNTE")),  # no PID
                      frame(good.replace("G1", "B3").replace("\rOBX|1|", "\rOBX 1|")),  # a bad segment
                      frame("MSH|^~\\&|TW-LIS|T-W01|||20261120||ORU^R01|B4|P|2.5\rPID|1||X^^^^MR\rOBX|1|NM|K||4")):
            bad.sendall(block)
            replies.append(read_ack(bad))
        # meanwhile another connection is served
        assert [d.msa(a)[0] for a in send_messages("127.0.0.1", listener.port, [good])] == ["AA"]
        assert [d.msa(r)[0] for r in replies] == ["AR"] * 5
        assert [d.msa(r)[1] for r in replies[1:]] == ["B1", "B2", "B3", "B4"]
        bad.sendall(frame(good2))  # the same connection still works
        assert d.msa(read_ack(bad))[0] == "AA"
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as huge:
        huge.sendall(VT + b"MSH|" + b"x" * (LIMIT + 10) + END)
        assert d.msa(read_ack(huge))[0] == "AR"
        assert huge.recv(10) == b""  # and the connection is closed
    with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as cut:
        cut.sendall(VT + good.replace("G1", "G3").encode()[:40])  # half a message, then gone
    assert [d.msa(a)[0] for a in send_messages("127.0.0.1", listener.port, [good])] == ["AA"]  # the duplicate
    connection.close()
    assert set(Message.objects.values_list("control_id", flat=True)) == {"G1", "G2"}
    assert Report.objects.count() == 2 and Rejection.objects.filter(code="AR").count() == 6


def test_stopping_closes_idle_connections_and_frees_the_port(setup):
    running = start_listener("127.0.0.1", 0, workers=1)
    idle = socket.create_connection(("127.0.0.1", running.port), timeout=30)
    running.stop()
    assert idle.recv(10) == b""
    idle.close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", running.port), timeout=2)


def test_the_send_command_prints_each_ack(listener, setup, tmp_path):
    _sender, (patient, *_rest) = setup
    path = tmp_path / "results.hl7"
    texts = [d.oru("S1", d.person(patient)), d.oru("S2", d.person(patient)).replace("\rPID", "\rNTE")]
    path.write_text("\n".join(t.replace("\r", "\n") for t in texts), encoding="utf-8")  # LF line ends
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("hl7", "send", str(path), "--port", str(listener.port), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "S1 AA" and lines[1].startswith("S2 AR ") and lines[2] == "sent=2 accepted=1 refused=1"
    connection.close()
    assert Message.objects.get().control_id == "S1"
