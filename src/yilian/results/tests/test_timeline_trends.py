"""Trends: the chart data a page carries (json_script "data-trends") for an item with repeated numeric values
across institutions — the points in time order with their flags, sources and reports, the reference band,
values in another unit counted but not drawn, superseded and cancelled values left out — and the
timeline's trend section."""

import json
import re
from datetime import UTC, datetime

from django.urls import reverse

from yilian.results.tests.timeline_data import at, lab, potassium


def chart_data(resp) -> dict:
    match = re.search(r'<script id="data-trends" type="application/json">(.*?)</script>', resp.content.decode(), re.S)
    return json.loads(match.group(1))


def wall_clock(day: int, hour: int = 8, month: int = 11) -> int:
    """What the chart's `useUTC` axis reads as that Shanghai time."""
    return int(datetime(2026, month, day, hour, tzinfo=UTC).timestamp() * 1000)


def test_the_trend_of_a_repeated_item_across_institutions(client_as, owner, patient, net):
    first = potassium(patient, net.township, at(1), "4.0")
    critical = potassium(patient, net.county, at(3, 21), "6.8")
    low = potassium(patient, net.township, at(7), "3.1")
    resp = client_as(owner).get(reverse("results:trend", args=[patient.pk, "K"]))
    assert resp.status_code == 200
    data = chart_data(resp)
    (series,) = data["items"]
    assert (series["code"], series["name"], series["unit"], series["other_units"]) == ("K", "钾", "mmol/L", 0)
    assert series["band"] == {"low": 3.5, "high": 5.3}
    points = [{k: p[k] for k in ("t", "at", "value", "flag", "abnormal", "critical", "source", "url")}
              for p in series["points"]]
    assert points == [
        {"t": wall_clock(1), "at": "2026-11-01 08:00", "value": 4.0, "flag": "N", "abnormal": False,
         "critical": False, "source": net.township.short_name, "url": reverse("results:report", args=[first.pk])},
        {"t": wall_clock(3, 21), "at": "2026-11-03 21:00", "value": 6.8, "flag": "HH", "abnormal": True,
         "critical": True, "source": net.county.short_name, "url": reverse("results:report", args=[critical.pk])},
        {"t": wall_clock(7), "at": "2026-11-07 08:00", "value": 3.1, "flag": "L", "abnormal": True,
         "critical": False, "source": net.township.short_name, "url": reverse("results:report", args=[low.pk])},
    ]
    assert {p["reference"] for p in series["points"]} == {"3.5-5.3"}
    assert set(data["labels"]) == {"reference", "source", "critical", "preliminary"}
    assert [row.value for row in resp.context["rows"]] == ["3.1", "6.8", "4.0"]  # the table: newest first
    html = resp.content.decode()
    assert 'src="/static/vendor/echarts.min.js"' in html and 'src="/static/results/trend.js"' in html
    assert "cdn" not in html.lower() and "<script>" not in html  # vendored, no inline script


def test_corrected_and_cancelled_values_are_not_drawn_and_other_units_are_counted(client_as, owner, patient, net):
    potassium(patient, net.township, at(1), "4.0")
    potassium(patient, net.county, at(2), "7.9", status="preliminary", identifier="K-2")
    potassium(patient, net.county, at(2), "4.9", status="final", identifier="K-2")  # corrects 7.9
    potassium(patient, net.county, at(4), "9.9", status="cancelled")
    lab(patient, net.county, at(6), [("K", "钾", "18.0", "mg/dL", "", "13.7-20.7")])
    potassium(patient, net.county, at(8), "4.4")
    resp = client_as(owner).get(reverse("results:trend", args=[patient.pk, "K"]))
    (series,) = chart_data(resp)["items"]
    assert [p["value"] for p in series["points"]] == [4.0, 4.9, 4.4]
    assert (series["unit"], series["other_units"]) == ("mmol/L", 1)
    assert 'data-testid="other-units"' in resp.content.decode()
    assert len(resp.context["rows"]) == 5  # the table lists the other unit and the cancelled value too


def test_the_band_follows_the_latest_values_own_reference(client_as, owner, patient, net):
    lab(patient, net.township, at(1), [("GLU", "葡萄糖", "6.5", "mmol/L", "", "3.9-6.1")], code="GLYC")
    lab(patient, net.county, at(9), [("GLU", "葡萄糖", "7.2", "mmol/L", "", "<6.0")], code="GLYC")
    (series,) = chart_data(client_as(owner).get(reverse("results:trend", args=[patient.pk, "GLU"])))["items"]
    assert series["band"] == {"low": None, "high": 6.0}


def test_the_timeline_draws_the_repeated_items(client_as, owner, patient, net):
    potassium(patient, net.township, at(1), "4.0")
    potassium(patient, net.county, at(3), "5.8")
    lab(patient, net.county, at(4), [("HBA1C", "糖化血红蛋白", "7.2", "%")], code="GLYC", name="血糖")
    lab(patient, net.county, at(5), [("CREA", "肌酐", "阴性", "")], code="RFT", name="肾功能")
    lab(patient, net.county, at(6), [("CREA", "肌酐", "见备注", "")], code="RFT", name="肾功能")
    client = client_as(owner)
    url = reverse("results:timeline", args=[patient.pk])
    resp = client.get(url)
    data = chart_data(resp)
    assert [s["code"] for s in data["items"]] == ["K", "NA"]  # HbA1c once; creatinine not numeric
    assert resp.content.decode().count('data-testid="trend-chart"') == 2
    assert [s["code"] for s in chart_data(client.get(url, {"item": "NA"}))["items"]] == ["NA", "K"]
    link = reverse("results:trend", args=[patient.pk, "K"])
    assert link in resp.content.decode()


def test_an_item_with_no_values_says_so(client_as, owner, patient, net):
    resp = client_as(owner).get(reverse("results:trend", args=[patient.pk, "NEUT%"]))
    assert resp.status_code == 200 and 'data-testid="no-values"' in resp.content.decode()
    assert chart_data(resp)["items"] == [] and "echarts" not in resp.content.decode()
