"""Every green-channel indicator computed by hand on a small month of cases (January 2026 at the county
hospital), including cases across midnight and across the month end: times are stored in UTC and the
month is a month of Asia/Shanghai dates (1 February 00:30 in Shanghai is 31 January 16:30 UTC, and
counts in February).

The cases (local times; every node is recorded through the actions, in time order):

| case | arrival | what | D2B | FMC→ECG | ECG→dx | activation |
|---|---|---|---|---|---|---|
| A | self | STEMI, PCI, 10 Jan door 08:00 → wire 09:05 | 65 | 5 | 8 | 24 |
| B | 120 | STEMI, PCI, door 31 Jan 23:50 → wire 1 Feb 00:09; ECG sent, notice, bypass | 19 | 6 | 9 | 22 |
| C | sent up | STEMI, PCI (transferred in: not in D2B), ECG sent 09:20, notice | — | 12 | 18 | — |
| D | self | chest pain, not STEMI | — | 8 | — | — |
| E | in hospital | STEMI, PCI, no door | — | 4 | 6 | 38 |
| F | 120 | STEMI, thrombolysis (no PCI), no ECG sent, no notice | — | 10 | 5 | — |
| H | self | STEMI, PCI, door 20:00 → wire 21:40 | 100 | 15 | 20 | 45 |
| G | 120 | STEMI, PCI, door **1 Feb 00:30** → wire 01:20 (February) | 50 | 5 | 5 | — |

| case | arrival | what | DNT | door→CT | DPT |
|---|---|---|---|---|---|
| S1 | 120 + notice | door 5 Jan 09:00, CT 09:15, bolus 09:42 | 42 | 15 | — |
| S2 | self | door 31 Jan 23:30, CT 23:55, bolus 1 Feb 00:29, groin 00:50 | 59 | 25 | 80 |
| S3 | 120 | door 18 Jan 16:00, CT 16:30, bolus 17:05, groin 17:40 | 65 | 30 | 100 |
| S4 | in hospital | opened 8 Jan, bolus 10:50 | — | — | — |
| S5 | 120 + notice | mobile stroke unit: CT 07:40, bolus 07:55, door 08:20 | — | (negative) | — |
| S6 | 120 | door 29 Jan 12:00, CT 12:20, no reperfusion | — | 20 | — |
"""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from yilian.analytics.registry import REGISTRY, Scope
from yilian.emergency.actions import NewCase, do_direct_bypass, do_open_case, do_record_node
from yilian.emergency.dispatch import Notice, do_send_notice
from yilian.emergency.indicators import MEASURES, report, reports
from yilian.emergency.models import Case, CaseEvent, PrearrivalNotice
from yilian.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")
JANUARY = Scope(date(2026, 1, 1), date(2026, 2, 1))
FEBRUARY = Scope(date(2026, 2, 1), date(2026, 3, 1))


def t(text: str) -> datetime:
    """A local (Asia/Shanghai) time, e.g. "01-31 23:50" in 2026."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=SH)


def record(by, case: Case, nodes: dict[str, str]) -> Case:
    for code, at in sorted(nodes.items(), key=lambda kv: t(kv[1])):
        do_record_node(f.actor(by), case.pk, code, t(at))
    return case


def open_case(by, centre: str, arrival: str = "self", **kw) -> Case:
    return do_open_case(f.actor(by), NewCase(centre=centre, arrival_mode=arrival, **kw))


def notify(by, case: Case, sent: str) -> None:
    notice = do_send_notice(f.actor(by), Notice(to_institution_id=case.institution_id, case_id=case.pk))
    PrearrivalNotice.objects.filter(pk=notice.pk).update(sent_at=t(sent))  # test scaffolding: sent back then


@pytest.fixture
def month(owner, crew, sender, net):
    cp, st = "chest_pain", "stroke"
    record(owner, open_case(owner, cp), {
        "door": "01-10 08:00", "first_medical_contact": "01-10 08:02", "first_ecg": "01-10 08:07",
        "stemi_diagnosis": "01-10 08:15", "cath_lab_activation": "01-10 08:16", "cath_lab_ready": "01-10 08:40",
        "cath_lab_arrival": "01-10 08:50", "puncture": "01-10 08:55", "wire_crossing": "01-10 09:05"})
    b = record(owner, open_case(owner, cp, "ems"), {
        "first_medical_contact": "01-31 23:20", "first_ecg": "01-31 23:26", "ecg_transmitted": "01-31 23:30",
        "stemi_diagnosis": "01-31 23:35", "cath_lab_activation": "01-31 23:36", "door": "01-31 23:50",
        "cath_lab_ready": "01-31 23:58", "cath_lab_arrival": "02-01 00:00", "puncture": "02-01 00:04",
        "wire_crossing": "02-01 00:09"})
    notify(crew, b, "01-31 23:40")
    event = do_direct_bypass(f.actor(owner), b.pk, "cath_lab")
    CaseEvent.objects.filter(pk=event.pk).update(at=t("01-31 23:41"))  # test scaffolding
    c = do_send_notice(f.actor(sender), Notice(to_institution_id=net.county.pk, centre=cp)).case
    PrearrivalNotice.objects.filter(case=c).update(sent_at=t("01-15 09:35"))
    record(owner, c, {
        "first_medical_contact": "01-15 09:00", "first_ecg": "01-15 09:12", "ecg_transmitted": "01-15 09:20",
        "stemi_diagnosis": "01-15 09:30", "door": "01-15 10:00", "cath_lab_arrival": "01-15 11:00",
        "puncture": "01-15 11:20", "wire_crossing": "01-15 11:40"})
    record(owner, open_case(owner, cp), {
        "door": "01-20 14:00", "first_medical_contact": "01-20 14:01", "first_ecg": "01-20 14:09"})
    record(owner, open_case(owner, cp, in_hospital_onset=True), {
        "first_medical_contact": "01-22 03:00", "first_ecg": "01-22 03:04", "stemi_diagnosis": "01-22 03:10",
        "cath_lab_activation": "01-22 03:12", "cath_lab_ready": "01-22 03:50", "wire_crossing": "01-22 04:00"})
    record(owner, open_case(owner, cp, "ems"), {
        "first_medical_contact": "01-25 11:30", "first_ecg": "01-25 11:40", "stemi_diagnosis": "01-25 11:45",
        "door": "01-25 12:00", "thrombolysis_start": "01-25 12:10"})
    record(owner, open_case(owner, cp), {
        "door": "01-12 20:00", "first_medical_contact": "01-12 20:05", "first_ecg": "01-12 20:20",
        "stemi_diagnosis": "01-12 20:40", "cath_lab_activation": "01-12 20:45", "cath_lab_ready": "01-12 21:30",
        "cath_lab_arrival": "01-12 21:35", "puncture": "01-12 21:40", "wire_crossing": "01-12 21:40"})
    record(owner, open_case(owner, cp, "ems"), {
        "first_medical_contact": "02-01 00:10", "first_ecg": "02-01 00:15", "stemi_diagnosis": "02-01 00:20",
        "door": "02-01 00:30", "cath_lab_arrival": "02-01 00:50", "puncture": "02-01 01:00",
        "wire_crossing": "02-01 01:20"})

    s1 = record(owner, open_case(owner, st, "ems"), {
        "last_known_well": "01-05 08:00", "door": "01-05 09:00", "ct_start": "01-05 09:15", "ct_read": "01-05 09:25",
        "treatment_decision": "01-05 09:30", "thrombolysis_bolus": "01-05 09:42"})
    notify(crew, s1, "01-05 08:45")
    record(owner, open_case(owner, st), {
        "door": "01-31 23:30", "ct_start": "01-31 23:55", "ct_read": "02-01 00:05",
        "treatment_decision": "02-01 00:10", "thrombolysis_bolus": "02-01 00:29", "groin_puncture": "02-01 00:50"})
    record(owner, open_case(owner, st, "ems"), {
        "door": "01-18 16:00", "ct_start": "01-18 16:30", "ct_read": "01-18 16:40", "treatment_decision": "01-18 16:50",
        "thrombolysis_bolus": "01-18 17:05", "groin_puncture": "01-18 17:40"})
    s4 = record(owner, open_case(owner, st, in_hospital_onset=True), {
        "last_known_well": "01-08 10:00", "ct_start": "01-08 10:20", "ct_read": "01-08 10:30",
        "treatment_decision": "01-08 10:35", "thrombolysis_bolus": "01-08 10:50"})
    Case.objects.filter(pk=s4.pk).update(opened_at=t("01-08 10:05"))  # test scaffolding: opened back then
    s5 = record(owner, open_case(owner, st, "ems"), {
        "last_known_well": "01-28 07:00", "ct_start": "01-28 07:40", "ct_read": "01-28 07:45",
        "treatment_decision": "01-28 07:50", "thrombolysis_bolus": "01-28 07:55", "door": "01-28 08:20"})
    notify(crew, s5, "01-28 07:50")
    record(owner, open_case(owner, st, "ems"), {"door": "01-29 12:00", "ct_start": "01-29 12:20"})


def value(code: str, scope: Scope = JANUARY):
    return REGISTRY[code].compute(scope)


def test_door_to_wire(month):
    assert value("chest_pain.d2b") == Decimal("61.33")  # (65 + 19 + 100) / 3
    assert value("chest_pain.d2b_median") == Decimal("65.00")
    assert value("chest_pain.d2b_min") == Decimal("19.00")  # B, across midnight and the month end
    assert value("chest_pain.d2b_90_rate") == Decimal("0.6667")  # H took 100 minutes
    assert report("chest_pain.d2b", JANUARY).excluded == {
        "in_hospital_onset": 1, "no_primary_pci": 1, "not_stemi": 1, "transferred_in": 1}


def test_first_medical_contact_to_ecg(month):
    assert value("chest_pain.fmc_to_ecg") == Decimal("8.57")  # (5 + 6 + 12 + 8 + 4 + 10 + 15) / 7
    assert value("chest_pain.fmc_to_ecg_10_rate") == Decimal("0.7143")  # 5 of 7 within 10 (F: exactly 10)
    assert report("chest_pain.fmc_to_ecg", JANUARY).excluded == {}


def test_ecg_to_diagnosis(month):
    assert value("chest_pain.ecg_to_diagnosis") == Decimal("11.00")  # (8 + 9 + 18 + 6 + 5 + 20) / 6
    assert report("chest_pain.ecg_to_diagnosis", JANUARY).excluded == {"not_stemi": 1}


def test_cath_lab_activation(month):
    assert value("chest_pain.cath_lab_activation") == Decimal("32.25")  # (24 + 22 + 38 + 45) / 4
    assert report("chest_pain.cath_lab_activation", JANUARY).excluded == {"no_cath_lab_activation": 3}


def test_prehospital_ecg_transmitted(month):
    assert value("ems.prehospital_ecg_transmitted") == Decimal("0.6667")  # B and C of B, C, F
    assert report("ems.prehospital_ecg_transmitted", JANUARY).excluded == {"in_hospital_onset": 1,
                                                                           "not_by_ambulance": 3}


def test_bypass_ed(month):
    assert value("chest_pain.bypass_ed_rate") == Decimal("0.5000")  # B of B, C
    assert report("chest_pain.bypass_ed_rate", JANUARY).excluded == {
        "in_hospital_onset": 1, "no_primary_pci": 1, "not_by_ambulance": 3}


def test_door_to_needle(month):
    assert value("stroke.dnt") == Decimal("55.33")  # (42 + 59 + 65) / 3
    assert value("stroke.dnt_median") == Decimal("59.00")
    assert value("stroke.dnt_60_rate") == Decimal("0.6667")
    assert value("stroke.dnt_45_rate") == Decimal("0.3333")
    assert report("stroke.dnt", JANUARY).excluded == {
        "in_hospital_onset": 1, "no_thrombolysis": 1, "thrombolysis_before_door": 1}


def test_door_to_ct_and_to_puncture(month):
    assert value("stroke.door_to_ct") == Decimal("22.50")  # (15 + 25 + 30 + 20) / 4
    assert report("stroke.door_to_ct", JANUARY).excluded == {"in_hospital_onset": 1, "negative_interval": 1}
    assert value("stroke.dpt") == Decimal("90.00")  # (80 + 100) / 2
    assert report("stroke.dpt", JANUARY).excluded == {"in_hospital_onset": 1, "no_thrombectomy": 3}


def test_prearrival_notice_rate(month):
    assert value("ems.prearrival_notice_rate") == Decimal("0.5714")  # B, C, S1, S5 of B, C, F, S1, S3, S5, S6
    assert report("ems.prearrival_notice_rate", JANUARY).excluded == {"in_hospital_onset": 2, "not_by_ambulance": 4}


def test_the_month_is_a_month_of_local_dates(month):
    """G arrived 1 February 00:30 in Shanghai (31 January 16:30 UTC): February's only chest-pain case."""
    assert value("chest_pain.d2b", FEBRUARY) == Decimal("50.00")
    assert report("chest_pain.d2b", FEBRUARY).included == 1
    assert value("ems.prearrival_notice_rate", FEBRUARY) == Decimal("0.0000")
    assert report("stroke.dnt", FEBRUARY).included == 0 and value("stroke.dnt", FEBRUARY) is None


def test_only_the_receiving_institutions_in_scope_count(month, net):
    township = Scope(JANUARY.start, JANUARY.end, frozenset({net.township.pk}))
    assert all(value(code, township) is None for code in MEASURES)
    county = Scope(JANUARY.start, JANUARY.end, frozenset({net.county.pk}))
    assert value("chest_pain.d2b", county) == Decimal("61.33")


def test_a_correction_changes_the_figure_and_reports_load_once(month, owner, django_assert_max_num_queries):
    case = Case.objects.filter(centre="stroke").order_by("pk").first()  # S1, DNT 42
    from yilian.emergency.actions import do_correct_node
    from yilian.emergency.queries import current_nodes

    do_correct_node(f.actor(owner), case.pk, "thrombolysis_bolus", t("01-05 09:48"), "给药时间补录有误",
                    supersedes_id=current_nodes(case.pk)["thrombolysis_bolus"].pk)
    assert value("stroke.dnt") == Decimal("57.33")  # (48 + 59 + 65) / 3
    with django_assert_max_num_queries(12):
        out = reports(JANUARY)
    assert set(out) == set(MEASURES) and out["stroke.dnt"].value == Decimal("57.33")


def test_every_measure_is_registered_with_a_source():
    for code in MEASURES:
        indicator = REGISTRY[code]
        assert indicator.source and indicator.formula and indicator.name_zh and indicator.name_en
        assert "emergency" in indicator.tags
