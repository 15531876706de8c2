"""The reads behind the result pages: reference intervals as labs write them, the items with repeated values,
the band from the catalogue when a lab gave none, the filter's items, and the patient's own results
(final and amended of their own records only)."""

from datetime import date
from decimal import Decimal

import pytest

from yilian.patients.models import Patient
from yilian.results import queries
from yilian.results.models import Observation
from yilian.results.tests.timeline_data import at, exam, lab, potassium
from yilian.testing import factories as f


@pytest.mark.parametrize(("text", "expected"), [
    ("3.5-5.3", (Decimal("3.5"), Decimal("5.3"))),
    (" 3.5 ~ 5.3 ", (Decimal("3.5"), Decimal("5.3"))),
    ("137–147", (Decimal("137"), Decimal("147"))),
    ("-2-3", (Decimal("-2"), Decimal("3"))),
    ("<5.2", (None, Decimal("5.2"))),
    ("≤ 0.04", (None, Decimal("0.04"))),
    (">=1.0", (Decimal("1.0"), None)),
    ("阴性", (None, None)),
    ("", (None, None)),
])
def test_reference_intervals_as_labs_write_them(text, expected):
    assert queries.parse_reference(text) == expected


def test_items_with_repeated_numeric_values(net, patient):
    potassium(patient, net.township, at(1), "4.0")
    potassium(patient, net.county, at(2), "4.4", identifier="K-2", status="preliminary")
    potassium(patient, net.county, at(2), "4.6", identifier="K-2", status="final")
    potassium(patient, net.county, at(3), "5.0", status="cancelled")
    lab(patient, net.county, at(4), [("CREA", "肌酐", "88", "umol/L")], code="RFT")
    assert queries.trend_counts(patient.pk) == {"K": 2, "NA": 2}  # not the corrected, cancelled or single ones
    assert queries.trend_counts(patient.pk, ["K", "CREA"]) == {"K": 2}
    assert Observation.objects.filter(patient=patient, code="K").count() == 4


def test_the_band_comes_from_the_catalogue_when_the_lab_gave_none(net, registrar):
    woman = f.register_patient(registrar, resident_id="", sex="2", birth_date=date(1970, 5, 1))
    for day, value in ((1, "120"), (5, "98")):
        lab(woman, net.township, at(day), [("HGB", "血红蛋白", value, "g/L", "", "见报告")], code="CBC")
    (series,) = queries.trends(woman, ["HGB"])
    assert series["band"] == {"low": 115.0, "high": 150.0}  # WS/T 405, women
    lab(woman, net.county, at(9), [("HGB", "血红蛋白", "9.1", "g/dL", "", "见报告")], code="CBC")
    (series,) = queries.trends(woman, ["HGB"])
    assert (series["unit"], series["band"], series["other_units"]) == ("g/dL", None, 2)  # the catalogue is g/L


def test_the_filter_offers_the_reports_and_their_items(net, patient):
    potassium(patient, net.township, at(1), "4.0")
    exam(patient, net.county, at(2), "未见异常。")
    assert queries.item_choices(patient) == [
        ("CT-HEAD", "头颅CT平扫 (CT-HEAD)"), ("ELEC", "电解质 (ELEC)"), ("K", "钾 (K)"), ("NA", "钠 (NA)")]


def test_own_reports_are_final_or_amended_of_the_records_given(net, registrar, patient):
    other = f.register_patient(registrar)
    final = potassium(patient, net.township, at(1), "4.0")
    potassium(patient, net.county, at(2), "4.4", status="preliminary")
    potassium(patient, net.county, at(3), "4.4", status="cancelled")
    amended = [potassium(patient, net.county, at(4), "6.0", identifier="K-4"),
               potassium(patient, net.county, at(4), "5.0", identifier="K-4", status="amended")][-1]
    potassium(other, net.county, at(5), "4.1")
    mine = Patient.objects.filter(pk=patient.pk)
    assert [r.pk for r in queries.own_reports(mine)] == [amended.pk, final.pk]
    assert [o.value for o in queries.own_report(mine, amended.pk).current] == ["5.0", "140"]
    preliminary = queries.patient_reports(patient).filter(status="preliminary").get()
    for report_id in (preliminary.pk, 10**9, "1", -1, 2**63):
        assert queries.own_report(mine, report_id) is None
