"""The results store: a report is inserted once per identifier, a later one is its new version (the old
values kept as superseded), values are flagged from the catalogue for the patient, and bad reports store
nothing."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from yilian.access.models import AuditEvent
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM
from yilian.network.roles import Role
from yilian.results.actions import Incoming, IncomingObservation, store_report
from yilian.results.models import Flag, Item, Observation, Price, Report, Rule
from yilian.testing.factories import make_membership, make_network, register_patient

SH = ZoneInfo("Asia/Shanghai")


def incoming(network, status="final", **kw):
    data = dict(institution_id=network.township.pk, channel="hl7", identifier_system="T-W01-LIS",
                identifier_value="F0001", code="ELEC", name="电解质", status=status,
                collected_at=datetime(2026, 11, 20, 8, 0, tzinfo=SH), reported_at=datetime(2026, 11, 20, 10, 0, tzinfo=SH),
                observations=[IncomingObservation("K", "钾", "6.8", "mmol/L"),
                              IncomingObservation("NA", "钠", "140", "mmol/L"),
                              IncomingObservation("CL", "氯", "95", "mmol/L", flag="L")])
    data.update(kw)
    return Incoming(**data)


@pytest.fixture
def setup(db):
    network = make_network()
    registrar = make_membership(network.township, Role.REGISTRAR)
    patient = register_patient(registrar, resident_id="", sex="1", birth_date=datetime(1960, 5, 1).date())
    return network, patient


def test_the_catalogue_is_loaded_after_migrate(db):
    assert Item.objects.filter(kind="panel").count() == 9
    assert Item.objects.get(code="K").loinc == "2823-3"
    assert Item.objects.get(code="CT-HEAD").modality == "CT"
    assert Rule.objects.get(item__code="CBC").validity_days == 7
    assert not Rule.objects.get(item__code="CARD").recognisable


def test_prices_follow_the_institutions_grade(setup):
    from yilian.results.load import load

    network, _ = setup
    load([network.county, network.township])
    assert Price.objects.get(institution=network.county, item__code="CT-HEAD").amount == Decimal("200.00")  # 2A
    assert Price.objects.get(institution=network.township, item__code="CT-HEAD").amount == Decimal("180.00")  # 1


def test_a_report_is_stored_and_flagged_for_the_patient(setup):
    network, patient = setup
    stored = store_report(SYSTEM, patient, incoming(network))
    assert stored.created and stored.report.kind == "panel"
    k, na, cl = Observation.objects.filter(report=stored.report).order_by("pk")
    assert (k.flag, k.critical, k.value_num) == (Flag.CRITICAL_HIGH, True, Decimal("6.8"))  # > 6.2 critical limit
    assert k.reference == "3.5-5.3"
    assert (na.flag, na.critical) == (Flag.NORMAL, False)
    assert cl.flag == Flag.LOW  # the sender's flag is kept
    audit = AuditEvent.objects.get(object_type="result_report")
    assert (audit.patient_id, audit.action, audit.institution_id) == (patient.pk, "create", network.township.pk)


def test_a_correction_is_a_new_version_and_keeps_the_old_values(setup):
    network, patient = setup
    store_report(SYSTEM, patient, incoming(network, status="preliminary"))
    again = store_report(SYSTEM, patient, incoming(network, status="amended", observations=[
        IncomingObservation("K", "钾", "4.1", "mmol/L")]))
    assert not again.created and again.report.version == 2 and again.report.status == "amended"
    assert Report.objects.count() == 1
    assert list(Observation.objects.filter(superseded=False).values_list("value", flat=True)) == ["4.1"]
    assert Observation.objects.filter(superseded=True).count() == 3


def test_an_identifier_of_another_patient_is_refused_and_nothing_changes(setup):
    network, patient = setup
    other = register_patient(make_membership(network.township, Role.REGISTRAR))
    store_report(SYSTEM, patient, incoming(network))
    with pytest.raises(ActionError) as exc:
        store_report(SYSTEM, other, incoming(network))
    assert "identifier" in exc.value.errors
    assert Observation.objects.count() == 3 and Report.objects.get().version == 1


def test_an_identifier_of_another_member_is_refused(setup):
    network, patient = setup
    store_report(SYSTEM, patient, incoming(network))
    with translation.override("en"), pytest.raises(ActionError) as exc:
        store_report(SYSTEM, patient, incoming(network, institution_id=network.county.pk))
    assert "another member" in exc.value.errors["identifier"]
    assert Report.objects.get().institution_id == network.township.pk and Report.objects.get().version == 1


def test_a_report_without_results_or_time_zone_stores_nothing(setup):
    network, patient = setup
    with pytest.raises(ActionError) as exc:
        store_report(SYSTEM, patient, incoming(network, observations=[], collected_at=datetime(2026, 11, 20, 8)))
    assert {"observations", "collected_at"} <= set(exc.value.errors)
    assert Report.objects.count() == 0


def test_quality_passes_are_recorded_by_the_management_centre(setup):
    from datetime import date

    from yilian.network.models import Consortium, Institution
    from yilian.results.actions import NewQualityPass, do_record_quality_passes
    from yilian.results.models import QualityPass
    from yilian.testing.factories import actor

    network, _ = setup
    manager = actor(make_membership(network.county, Role.MANAGER))
    rows = [NewQualityPass(network.township.pk, "CBC", date(2026, 1, 1), date(2026, 12, 31), "市临床检验中心"),
            NewQualityPass(network.county.pk, "", date(2026, 1, 1), date(2026, 12, 31), "省临床检验中心")]
    made = do_record_quality_passes(manager, rows)
    assert [p.item_id is None for p in made] == [False, True]
    with pytest.raises(ActionError) as exc:
        do_record_quality_passes(manager, [NewQualityPass(network.township.pk, "K", date(2026, 2, 1),
                                                          date(2026, 1, 1), "")])
    assert {"item", "valid_to", "issuer"} <= set(exc.value.errors)  # a lab item is not orderable
    doctor = actor(make_membership(network.county, Role.DOCTOR))
    with pytest.raises(ActionError):
        do_record_quality_passes(doctor, rows)
    other = Institution.objects.create(consortium=Consortium.objects.create(
        name="另一医共体", short_name="另一", division_code="130499"), code="X-01", name="外县医院", short_name="外县",
        kind="general_2", division_code="130499")
    with pytest.raises(ActionError) as exc:  # a member of another consortium
        do_record_quality_passes(manager, [NewQualityPass(other.pk, "", date(2026, 1, 1), date(2026, 12, 31), "x")])
    assert set(exc.value.errors) == {"institution"}
    assert QualityPass.objects.count() == 2


def test_many_values_are_stored_as_sent_with_their_own_times(setup):
    network, patient = setup
    at = datetime(2026, 11, 20, 9, 30, 15, tzinfo=SH)
    values = [IncomingObservation("GLU", "葡萄糖", f"{5 + i / 1000:.3f}", "mmol/L", loinc="2345-7",
                                  observed_at=at if i % 2 else None) for i in range(61)]  # more than one batch
    values.append(IncomingObservation("X-1", "外送项目", "<0.01", "", reference="<0.05", flag="a"))
    store_report(SYSTEM, patient, incoming(network, observations=values))
    stored = list(Observation.objects.order_by("pk"))
    assert len(stored) == 62 and {o.patient_id for o in stored} == {patient.pk} and not any(o.superseded for o in stored)
    assert [o.value_num for o in stored[:61]] == [Decimal(f"{5 + i / 1000:.3f}") for i in range(61)]
    assert [o.observed_at for o in stored[:3]] == [datetime(2026, 11, 20, 8, 0, tzinfo=SH), at,
                                                   datetime(2026, 11, 20, 8, 0, tzinfo=SH)]
    assert (stored[0].loinc, stored[0].unit, stored[0].flag) == ("2345-7", "mmol/L", Flag.NORMAL)
    last = stored[-1]
    assert (last.value, last.value_num, last.reference, last.flag, last.critical) == ("<0.01", None, "<0.05", "A",
                                                                                     False)


def test_inside_the_callers_transaction_a_failed_write_leaves_nothing(setup):
    from django.db import DatabaseError, connection, transaction

    network, patient = setup

    def broken(execute, sql, params, many, context):  # the values' insert fails (PostgreSQL: the one statement)
        if "results_observation" in sql and sql.lstrip().upper().startswith(("INSERT", "WITH")):
            raise DatabaseError("injected")
        return execute(sql, params, many, context)

    with pytest.raises(DatabaseError), transaction.atomic():
        with pytest.raises(DatabaseError), connection.execute_wrapper(broken):
            store_report(SYSTEM, patient, incoming(network))
        assert connection.needs_rollback  # no savepoint: the caller's transaction can only be rolled back
        raise DatabaseError("the caller gives up")
    assert not Report.objects.exists() and not Observation.objects.exists()
    assert not AuditEvent.objects.filter(object_type="result_report").exists()
