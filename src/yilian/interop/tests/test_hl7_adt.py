"""ADT^A04/A08 through the patient index, and the results that waited for their patient."""

from datetime import date

import pytest

from yilian.access.models import AuditEvent, CareRelation
from yilian.interop import compose
from yilian.interop.ingest import ingest
from yilian.interop.models import Message, Rejection, Unmatched
from yilian.interop.tests import hl7_data as d
from yilian.network.roles import Role
from yilian.patients import residentid
from yilian.patients.models import Identifier, MatchKey, Patient, QrToken
from yilian.results.models import Report
from yilian.testing import factories as f


@pytest.fixture
def lis(net):
    return d.make_sender(net)


@pytest.fixture
def resident(net):
    """Registered at the county hospital (not at the township centre whose LIS sends)."""
    return f.register_patient(f.make_membership(net.county, Role.REGISTRAR))


def mrn_owner(value: str) -> int | None:
    return Identifier.objects.filter(type="mrn", system="T-W01", value=value).values_list("patient_id", flat=True).first()


def test_a04_with_a_known_resident_id_links_the_record_number(lis, resident, net):
    result = ingest(d.adt("A1", d.person(resident, mrn="TW-0001")))
    assert result.code == "AA" and Message.objects.get().message_type == "ADT^A04"
    assert mrn_owner("TW-0001") == resident.pk and Patient.objects.count() == 1
    assert CareRelation.objects.filter(patient=resident, institution=net.township).exists()
    audit = AuditEvent.objects.get(patient_id=resident.pk, username="hl7:TW-LIS")
    assert audit.action == "update" and audit.institution_id == net.township.pk and "mrn" in audit.reason
    assert ingest(d.adt("A2", d.person(resident, mrn="TW-0001"))).code == "AA"  # nothing new to link
    assert Identifier.objects.filter(patient=resident, type="mrn").count() == 1


def test_a04_for_an_unknown_person_registers_a_record_at_the_sender(lis, net):
    rid = residentid.make("330782", date(1958, 3, 9), 21)
    who = compose.Person([("NNCHN", rid, ""), ("MR", "TW-0002", ""), ("SS", "A7654321", "")], name="欧阳珂",
                         sex="M", birth_date=date(1958, 3, 9), phone="13900007777", address="城关镇东山村3组")
    assert ingest(d.adt("A1", who)).code == "AA"
    patient = Patient.objects.get()
    assert (patient.name, patient.sex, patient.birth_date, patient.resident_id) == ("欧阳珂", "1", date(1958, 3, 9), rid)
    assert (patient.phone, patient.address, patient.registered_at_id) == ("13900007777", "城关镇东山村3组", net.township.pk)
    assert set(Identifier.objects.filter(patient=patient).values_list("type", "system")) == {
        ("consortium", "YL-330782"), ("resident_id", "GB11643"), ("mrn", "T-W01"), ("insurance", "330782")}
    assert QrToken.objects.filter(patient=patient).exists() and MatchKey.objects.filter(patient=patient).exists()
    assert CareRelation.objects.filter(patient=patient, institution=net.township).exists()
    assert AuditEvent.objects.get(patient_id=patient.pk).action == "create"


def test_a04_that_the_desk_would_refuse_gets_ae_and_stores_nothing(lis):
    wrong = compose.Person([("MR", "TW-0003", "")], name="欧阳珂", sex="M")  # no birth date, no resident ID
    result = ingest(d.adt("A1", wrong))
    assert result.code == "AE" and "birth_date" in d.err(result.ack)[8]
    assert (Patient.objects.count(), Message.objects.count(), Rejection.objects.get().code) == (0, 0, "AE")
    no_ids = compose.Person([("XX", "1", "")], name="欧阳珂", sex="M", birth_date=date(1958, 3, 9))
    assert ingest(d.adt("A2", no_ids)).code == "AR"


def test_identifiers_of_two_records_are_refused(lis, resident, net):
    other = f.register_patient(f.make_membership(net.township, Role.REGISTRAR))
    ingest(d.adt("A1", d.person(other, mrn="TW-0009")))
    result = ingest(d.adt("A2", compose.Person([("NNCHN", resident.resident_id, ""), ("MR", "TW-0009", "")])))
    assert result.code == "AE" and mrn_owner("TW-0009") == other.pk


def test_a08_updates_name_phone_and_address(lis, resident):
    ingest(d.adt("A1", d.person(resident, mrn="TW-0001")))
    who = compose.Person([("MR", "TW-0001", "")], name="欧阳瑾", phone="13900008888", address="城关镇西山村1组")
    assert ingest(d.adt("A2", who, event="A08")).code == "AA"
    resident.refresh_from_db()
    assert (resident.name, resident.phone, resident.address) == ("欧阳瑾", "13900008888", "城关镇西山村1组")
    audit = AuditEvent.objects.filter(patient_id=resident.pk, reason__startswith="update by interface").get()
    assert audit.reason.endswith("address, name, phone")
    text = d.adt("A3", compose.Person([("MR", "TW-0001", "")], phone='""'), event="A08")
    assert ingest(text).code == "AA"
    resident.refresh_from_db()
    assert (resident.name, resident.phone, resident.address) == ("欧阳瑾", "", "城关镇西山村1组")
    bad = ingest(d.adt("A4", compose.Person([("MR", "TW-0001", "")], phone="12345"), event="A08"))
    assert bad.code == "AE" and "phone" in d.err(bad.ack)[8]


def test_an_a08_for_an_unknown_patient_registers_them(lis):
    rid = residentid.make("330782", date(1970, 1, 2), 32)
    assert ingest(d.adt("A1", compose.Person([("NNCHN", rid, ""), ("MR", "TW-7", "")], name="欧阳琰"),
                        event="A08")).code == "AA"
    assert Patient.objects.get().resident_id == rid and mrn_owner("TW-7") is not None


def test_waiting_results_are_stored_once_an_adt_links_the_record_number(lis, resident):
    first = ingest(d.oru("C1", d.person(resident, mrn="TW-0001", resident_id=False),
                         [d.electrolytes("F1", status="P")]))
    second = ingest(d.oru("C2", d.person(resident, mrn="TW-0001", resident_id=False), [d.chest_ct("F2")]))
    assert first.code == second.code == "AA" and Unmatched.objects.filter(status="pending").count() == 2
    other = ingest(d.oru("C3", d.person(mrn="TW-0404", resident_id=False)))  # still nobody's
    assert other.code == "AA"
    ingest(d.adt("A1", d.person(resident, mrn="TW-0001")))
    assert set(Report.objects.values_list("identifier_value", "patient_id")) == {("F1", resident.pk), ("F2", resident.pk)}
    assert sorted(Unmatched.objects.values_list("status", flat=True)) == ["matched", "matched", "pending"]
    assert set(Unmatched.objects.filter(status="matched").values_list("patient_id", flat=True)) == {resident.pk}
    assert AuditEvent.objects.filter(object_type="hl7-unmatched", patient_id=resident.pk).count() == 2
    assert AuditEvent.objects.filter(object_type="result_report", patient_id=resident.pk).count() == 2
    assert ingest(d.oru("C1", d.person(resident, mrn="TW-0001"))).ack == first.ack  # still the original ACK


def test_a_waiting_preliminary_does_not_replace_a_newer_final(lis, resident):
    ingest(d.oru("C1", d.person(resident, mrn="TW-0001", resident_id=False), [
        d.electrolytes("F1", status="P", potassium="6.8")]))
    final = d.electrolytes("F1", potassium="4.0")
    final.reported_at = final.reported_at.replace(hour=12)
    ingest(d.oru("C2", d.person(resident), [final]))  # by resident ID: stored at once
    ingest(d.adt("A1", d.person(resident, mrn="TW-0001")))
    report = Report.objects.get()
    assert (report.status, report.version) == ("final", 1)
    assert Unmatched.objects.get().status == "matched"


def test_the_institutions_his_releases_what_its_lis_queued(lis, resident, net):
    """The township's HIS registers the patient (ADT) its LIS sent results for: both speak in the
    township's record numbers, so the HIS's ADT releases the LIS's queue; another member's ADT does not."""
    d.make_sender(net, code="TW-HIS", application="HIS", facility="T-W01")
    county_his = d.make_sender(net, code="XL-HIS", application="HIS", facility="T-H01")
    county_his.institution = net.county
    county_his.save()
    assert ingest(d.oru("C1", d.person(resident, mrn="TW-0002", resident_id=False))).code == "AA"
    county_adt = compose.adt("HIS", "T-H01", "A0", d.person(resident, mrn="TW-0002"), d.REPORTED)
    assert ingest(county_adt).code == "AA"  # the county's record number TW-0002, not the township's
    assert Unmatched.objects.get().status == "pending"
    assert ingest(compose.adt("HIS", "T-W01", "A1", d.person(resident, mrn="TW-0002"), d.REPORTED)).code == "AA"
    assert Unmatched.objects.get().status == "matched" and Report.objects.get().patient_id == resident.pk
