"""The starter lab catalogue: every panel the issue names is there, every item has a valid LOINC code (check
digit), a unit and a consistent interval, and the interval for a patient follows sex and age."""

from decimal import Decimal

from yilian.results.catalogue import interval_for, items, loinc_check_digit_ok, panels


def test_the_issues_panels_are_all_there():
    assert set(panels()) == {"CBC", "LFT", "RFT", "LIPID", "GLYC", "ELEC", "COAG", "CARD", "UR"}
    for code, panel in panels().items():
        assert panel.name and panel.name_en and panel.specimen
        assert any(i.panel == code for i in items().values()), code


def test_every_item_is_well_formed():
    assert len(items()) >= 45  # 45 items in 9 panels
    seen_loinc = {}
    for item in items().values():
        assert item.panel in panels() and item.name
        assert loinc_check_digit_ok(item.loinc), (item.code, item.loinc)
        assert seen_loinc.setdefault(item.loinc, item.code) == item.code  # one code per LOINC
        for i in item.intervals:
            assert i.sex in ("", "1", "2") and i.source
            if i.low is not None and i.high is not None:
                assert i.low < i.high, item.code
            if i.critical_low is not None and i.low is not None:
                assert i.critical_low < i.low, item.code
            if i.critical_high is not None and i.high is not None:
                assert i.critical_high > i.high, item.code


def test_loinc_check_digit_by_hand():
    # The users' guide example: 12345 → odd positions from the right 5,3,1 → 531 × 2 = 1062; even 4,2 →
    # "42" + "1062" → 4+2+1+0+6+2 = 15 → 20 − 15 = 5.
    assert loinc_check_digit_ok("12345-5") and not loinc_check_digit_ok("12345-4")
    assert not loinc_check_digit_ok("ABC-1") and not loinc_check_digit_ok("718")


def test_interval_for_a_patient_by_sex_and_age():
    hgb, crea, wbc = items()["HGB"], items()["CREA"], items()["WBC"]
    assert (interval_for(hgb, "1", 40).low, interval_for(hgb, "2", 40).low) == (Decimal("130"), Decimal("115"))
    assert interval_for(wbc, "2", 30).high == Decimal("9.5")  # one interval for both sexes
    assert interval_for(crea, "1", 59).high == Decimal("111") and interval_for(crea, "1", 60) is None
    assert interval_for(hgb, "1", 10) is None  # no paediatric interval shipped
    assert items()["K"].intervals[0].critical_high == Decimal("6.2")
