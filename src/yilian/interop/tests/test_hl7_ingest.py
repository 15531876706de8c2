"""One message in, its ACK out: AA only for what was stored, the original ACK for a duplicate, AR for what
cannot be read, AE when the store fails — with a Rejection row and nothing else stored."""

import pytest
from django.db import OperationalError

from yilian.access.models import AuditEvent
from yilian.interop import ingest as ingest_module
from yilian.interop.ingest import ingest, ingest_bytes
from yilian.interop.models import Message, Outcome, Rejection, Unmatched
from yilian.interop.tests import hl7_data as d
from yilian.network.roles import Role
from yilian.results.actions import store_report
from yilian.results.models import Observation, Report
from yilian.testing import factories as f


@pytest.fixture
def lis(net):
    return d.make_sender(net)


@pytest.fixture
def resident(net):
    return f.register_patient(f.make_membership(net.township, Role.REGISTRAR))


def stored() -> tuple[int, int, int, int]:
    return Message.objects.count(), Report.objects.count(), Observation.objects.count(), Unmatched.objects.count()


def test_a_result_for_a_known_patient_is_stored_and_acknowledged(lis, resident):
    result = ingest(d.oru("C1", d.person(resident), [d.electrolytes("F1"), d.chest_ct("F2")]))
    code, control_id, _text = d.msa(result.ack)
    assert (code, control_id, result.code) == ("AA", "C1", "AA")
    head = result.ack.split("\r")[0].split("|")
    assert head[2:6] == ["YILIAN", "YILIAN", d.APPLICATION, d.FACILITY] and head[8] == "ACK^R01^ACK"
    assert head[6].endswith("+0800") and head[-1] == "UNICODE UTF-8"
    message = Message.objects.get()
    assert (message.sending_application, message.control_id, message.outcome) == (d.APPLICATION, "C1", Outcome.STORED)
    assert message.ack == result.ack and message.message_type == "ORU^R01" and message.sender == lis
    assert set(Report.objects.values_list("identifier_value", "patient_id", "message_id", "institution_id")) == {
        ("F1", resident.pk, message.pk, lis.institution_id), ("F2", resident.pk, message.pk, lis.institution_id)}
    audits = AuditEvent.objects.filter(object_type="result_report")
    assert audits.count() == 2 and {a.username for a in audits} == {"hl7:TW-LIS"}
    assert {a.patient_id for a in audits} == {resident.pk} and {a.source for a in audits} == {"hl7"}


def test_a_duplicate_gets_the_original_ack_and_stores_nothing(lis, resident):
    text = d.oru("C1", d.person(resident))
    first = ingest(text)
    before = stored()
    again = ingest(text)
    assert again.ack == first.ack and again.duplicate and again.code == "AA"
    assert stored() == before == (1, 1, 3, 0)
    changed = ingest(d.oru("C1", d.person(resident), [d.electrolytes("F9")]))  # same MSH-3 + MSH-10
    assert changed.ack == first.ack and stored() == before
    other = ingest(d.oru("C1", d.person(resident), application="TW-LIS2"))  # another MSH-3: a sender unknown
    assert other.code == "AR"


def test_a_later_message_about_the_same_order_is_a_new_version(lis, resident):
    ingest(d.oru("C1", d.person(resident), [d.electrolytes("F1", status="P", potassium="6.8")]))
    ingest(d.oru("C2", d.person(resident), [d.electrolytes("F1", status="C", potassium="4.0")]))
    report = Report.objects.get()
    assert (report.version, report.status) == (2, "amended")
    assert list(Observation.objects.filter(superseded=False, code="K").values_list("value", flat=True)) == ["4.0"]


def test_an_unknown_patient_waits_in_the_queue(lis):
    result = ingest(d.oru("C1", d.person(mrn="M404", resident_id=False, name="张三")))
    assert result.code == "AA" and d.msa(result.ack)[2]  # MSA-3 says it waits
    queued = Unmatched.objects.get()
    assert queued.status == "pending" and queued.message.outcome == Outcome.UNMATCHED
    assert queued.identifiers == [{"type": "mrn", "system": "T-W01", "value": "M404"}]
    assert Report.objects.count() == 0


@pytest.mark.parametrize(("text", "error"), [
    ("garbage", "100"),
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ORU^R01||P|2.5\r", "101"),  # no control ID
    ("MSH|^~\\&|NOBODY|T-W01|||20261120||ORU^R01|C1|P|2.5\r", "204"),  # unknown sender
    ("MSH|^~\\&|TW-LIS|OTHER|||20261120||ORU^R01|C1|P|2.5\r", "204"),  # known application, other facility
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ORM^O01|C1|P|2.5\rPID|1||M1^^^^MR", "200"),
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ADT^A03|C1|P|2.5\rPID|1||M1^^^^MR", "201"),
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ORU^R01|C1|P|2.5\rOBR|1||F1|ELEC|||20261120||||||||||||||||F", "101"),
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ORU^R01|C1|P|2.5\rPID|1||M1^^^^MR\rPI|x", "100"),
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ORU^R01|C1|P|2.5\rPID|1||M1^^^^MR\rPID|2||M2^^^^MR", "100"),
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ADT^A04|C1|P|2.5\rEVN|A04", "101"),  # ADT without PID
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ORU^R01|C1|P|2.5\rPID|1||^^^^MR|\r"
     "OBR|1||F1|ELEC|||20261120|||||||||||||||||F\rOBX|1|NM|K||4||||||F", "101"),  # no usable identifier
    ("MSH|^~\\&|TW-LIS|T-W01|||20261120||ORU^R01|C1|P|2.5\rPID|1||M1^^^^MR\r\x00", "102"),
])
def test_what_cannot_be_read_gets_ar_and_a_rejection_row(lis, text, error):
    result = ingest(text)
    assert result.code == "AR" and d.msa(result.ack)[0] == "AR"
    err = d.err(result.ack)
    assert err[3].split("^")[0] == error and err[4] == "E" and err[8]
    rejection = Rejection.objects.get()
    assert rejection.code == "AR" and rejection.reason == err[8] and "\x00" not in rejection.raw
    assert stored() == (0, 0, 0, 0)


def test_bytes_that_are_not_utf8_get_ar(lis, resident):
    raw = d.oru("C1", d.person(resident)).encode("gb18030")
    result = ingest_bytes(raw)
    assert result.code == "AR" and d.msa(result.ack)[1] == "C1" and "UTF-8" in d.err(result.ack)[8]
    assert stored() == (0, 0, 0, 0) and Rejection.objects.get().control_id == "C1"
    assert ingest_bytes(d.oru("C2", d.person(resident)).encode()).code == "AA"


def test_a_report_the_store_refuses_gets_ae_and_nothing_partial(lis, resident, net):
    other = f.register_patient(f.make_membership(net.township, Role.REGISTRAR))
    ingest(d.oru("C1", d.person(other), [d.electrolytes("F2")]))
    before = stored()
    # F1 is new, F2 belongs to another patient's report: the whole message is refused, F1 included
    result = ingest(d.oru("C2", d.person(resident), [d.electrolytes("F1"), d.electrolytes("F2")]))
    assert result.code == "AE" and d.err(result.ack)[3].startswith("207^")
    assert stored() == before and not Report.objects.filter(identifier_value="F1").exists()
    assert Rejection.objects.get().code == "AE"
    empty = ingest(d.oru("C3", d.person(resident), [d.electrolytes("F3")]).replace("|140|", "|" + "9" * 201 + "|"))
    assert empty.code == "AE" and stored() == before


def test_a_database_failure_gets_ae_never_aa(lis, resident, monkeypatch):
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second report of the message: the first is already written
            raise OperationalError("injected")
        return store_report(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "store_report", failing)
    text = d.oru("C1", d.person(resident), [d.electrolytes("F1"), d.electrolytes("F2")])
    result = ingest(text)
    assert result.code == "AE" and "207" in d.err(result.ack)[3]
    assert stored() == (0, 0, 0, 0) and Rejection.objects.get().code == "AE"
    assert not AuditEvent.objects.filter(object_type="result_report").exists()
    again = ingest(text)  # the sender sends it again: now it is stored
    assert again.code == "AA" and stored() == (1, 2, 6, 0)


def test_an_inactive_sender_is_unknown(lis, resident):
    lis.active = False
    lis.save(update_fields=["active"])
    assert ingest(d.oru("C1", d.person(resident))).code == "AR"


def test_a_sender_without_facility_takes_any(net, resident):
    d.make_sender(net, code="ANY", application="ANY-LIS", facility="")
    assert ingest(d.oru("C1", d.person(resident), application="ANY-LIS", facility="WHATEVER")).code == "AA"
