"""Matching: normalisation, pinyin, agreement levels, the Fellegi–Sunter score, its rules, blocking keys and
the online candidate search."""

from datetime import date

import pytest

from yilian.patients import residentid
from yilian.patients.matching import (
    LOWER,
    UPPER,
    Probe,
    do_index_patients,
    match_keys,
    names,
    score_pair,
    search_candidates,
)
from yilian.patients.matching.keys import MAX_KEY
from yilian.patients.matching.model import WEIGHTS
from yilian.patients.models import MatchKey, Patient
from yilian.testing import factories as f

ADDRESS = "河北省邯郸市杏林县柳营镇张家庄村12号"


def person(name="张伟", **fields) -> Probe:
    data = {"sex": "1", "birth_date": date(1980, 5, 12), "phone": "13812345678", "address": ADDRESS} | fields
    return Probe(name=name, **data)


def level(a: str, b: str) -> str:
    return score_pair(person(a), person(b))[2]["name"]


# --- names ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "normal"), [
    ("  张 伟 ", "张伟"),
    ("张\u3000伟", "张伟"),  # ideographic space
    ("阿依古丽•买买提", "阿依古丽·买买提"),
    ("阿依古丽．买买提", "阿依古丽·买买提"),  # full-width full stop
    ("阿依古丽 . 买买提", "阿依古丽·买买提"),
    ("ＺＨＡＮＧ Ｗｅｉ", "ZHANGWei"),  # full-width letters
])
def test_normalise(raw, normal):
    assert names.normalise(raw) == normal


@pytest.mark.parametrize(("name", "parts"), [
    ("张伟", ("张", "伟")),
    ("欧阳小明", ("欧阳", "小明")),
    ("诸葛亮", ("诸葛", "亮")),
    ("司马相如", ("司马", "相如")),
    ("上官婉儿", ("上官", "婉儿")),
    ("欧阳", ("欧", "阳")),  # two characters: a surname and a given name
    ("阿依古丽·买买提", ("买买提", "阿依古丽")),
])
def test_split_surname(name, parts):
    assert names.split(name) == parts


def test_pinyin_reads_surnames_as_surnames():
    assert names.syllables("单雄信")[0] == "shan"
    assert names.syllables("曾国藩")[0] == "zeng"
    assert names.syllables("简单")[1] == "dan"  # not a surname there


@pytest.mark.parametrize(("syllable", "folded"), [
    ("zhang", "zan"), ("chen", "cen"), ("cheng", "cen"), ("shi", "si"), ("niu", "liu"), ("lan", "lan"),
    ("nan", "lan"), ("jing", "jin"), ("feng", "fen"), ("hong", "hong"), ("ng", "ng"),
])
def test_fuzzy_pinyin(syllable, folded):
    assert names.fuzzy(syllable) == folded


@pytest.mark.parametrize("name", ["张某之子", "张某某之女", "李红之子", "王芳之女", "男婴", "张丽女婴", "无名氏", "张某"])
def test_placeholder_names(name):
    assert names.is_placeholder(name)


@pytest.mark.parametrize("name", ["张伟", "欧阳子轩", "阿依古丽·买买提", "李婷"])
def test_real_names_are_not_placeholders(name):
    assert not names.is_placeholder(name)


# --- levels and weights ------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "expected"), [
    ("张伟", "张伟", "exact"),
    ("欧阳 修", "欧阳修", "exact"),
    ("阿依古丽·买买提", "阿依古丽•买买提", "exact"),
    ("阿依古丽·买买提", "阿依古丽买买提", "exact"),  # the dot left out
    ("张伟", "章伟", "pinyin"),  # homophone surnames
    ("王小明", "汪小明", "pinyin"),
    ("张伟", "张玮", "pinyin"),
    ("陈小明", "程小明", "fuzzy"),  # chen/cheng
    ("刘强", "牛强", "fuzzy"),  # l/n
    ("张三", "赞三", "fuzzy"),  # zh/z
    ("王小明", "玉小明", "fuzzy"),  # look-alike
    ("李未", "李末", "fuzzy"),
    ("张己", "张已", "fuzzy"),
    ("李戊", "李戌", "fuzzy"),
    ("张子涵", "张子轩", "similar"),
    ("张伟", "李强", "different"),
])
def test_name_levels(a, b, expected):
    assert level(a, b) == expected


@pytest.mark.parametrize(("a", "b"), [("张伟", "章伟"), ("王小明", "汪小明"), ("陈小明", "程小明"),
                                      ("王小明", "玉小明"), ("李未", "李末"), ("欧阳修", "欧阳 修")])
def test_homophones_and_lookalikes_score_close_to_the_same_name(a, b):
    exact, _p, _agreement = score_pair(person(a), person(a))
    weight, probability, _agreement = score_pair(person(a), person(b))
    assert weight >= UPPER and probability > 0.99
    assert exact - weight <= WEIGHTS["name"]["exact"] - WEIGHTS["name"]["fuzzy"] + 1e-9
    assert score_pair(person(a), person("赵钱孙"))[0] < weight - 15


def test_score_is_symmetric():
    a, b = person("陈小明"), person("程晓明", birth_date=date(1980, 12, 5), phone="")
    assert score_pair(a, b) == score_pair(b, a)


@pytest.mark.parametrize(("other", "expected"), [
    (date(1980, 5, 12), "exact"),
    (date(1980, 12, 5), "swapped"),
    (date(1981, 5, 12), "one_off"),
    (date(1980, 6, 12), "one_off"),
    (date(1980, 5, 13), "one_off"),
    (date(1975, 1, 1), "different"),
    (None, "missing"),
])
def test_birth_date_levels(other, expected):
    assert score_pair(person(), person(birth_date=other))[2]["birth_date"] == expected


def test_day_month_swap_still_links():
    weight, _p, agreement = score_pair(person(), person(birth_date=date(1980, 12, 5)))
    assert agreement["birth_date"] == "swapped" and weight >= UPPER
    assert match_keys(person()) & match_keys(person(birth_date=date(1980, 12, 5)))


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("phone", "13812345678", "exact"),
    ("phone", "15912345678", "last8"),
    ("phone", "13987654321", "different"),
    ("phone", "", "missing"),
    ("address", "杏林县柳营镇张家庄村", "village"),
    ("address", "柳营镇张家庄村3号", "village"),
    ("address", "河北省邯郸市杏林县柳营镇东马庄村5号", "township"),
    ("address", "河北省邯郸市杏林县固献镇张家庄村12号", "different"),
    ("address", "", "missing"),
    ("sex", "2", "different"),
    ("sex", "0", "missing"),
])
def test_field_levels(field, value, expected):
    assert score_pair(person(), person(**{field: value}))[2][field] == expected


def test_resident_id_levels():
    rid = "130499198005120011"
    transposed = "130499198005210011"  # two adjacent digits exchanged, check digit left as it was
    off = rid[:8] + "9" + rid[9:]  # 1980 → 1990
    check = rid[:17] + "5"
    neighbour = rid[:16] + "3" + rid[17:]  # another man born that day in the county: the sequence code differs
    assert score_pair(person(resident_id=rid), person(resident_id=rid))[2]["resident_id"] == "exact"
    assert score_pair(person(resident_id=rid), person(resident_id=transposed))[2]["resident_id"] == "close"
    assert score_pair(person(resident_id=rid), person(resident_id=off))[2]["resident_id"] == "close"
    assert score_pair(person(resident_id=rid), person(resident_id=check))[2]["resident_id"] == "close"
    assert score_pair(person(resident_id=rid), person(resident_id=neighbour))[2]["resident_id"] == "different"
    assert score_pair(person(resident_id=rid), person(resident_id="130499196512300027"))[2]["resident_id"] == "different"
    assert score_pair(person(resident_id=rid), person())[2]["resident_id"] == "missing"


def test_missing_fields_are_neutral():
    rid = "130499198005120011"
    for field in ("phone", "address", "sex", "birth_date", "resident_id"):
        given = {"resident_id": rid} if field == "resident_id" else {}  # (an ID card also gives date and sex)
        full = person("阚伟", **given)
        both, _p, levels = score_pair(full, full)
        weight, _p, agreement = score_pair(full, person("阚伟", **{field: None if field == "birth_date" else ""}))
        assert agreement[field] == "missing" and WEIGHTS[field]["missing"] == 0
        assert weight == pytest.approx(both - WEIGHTS[field][levels[field]])  # as if the field did not exist
    # a field missing on both sides weighs the same as on one side
    assert score_pair(person(phone=""), person(phone=""))[0] == score_pair(person(), person(phone=""))[0]


def test_twins_are_not_linked_automatically():
    """Same birth date, address, phone and surname, different given names: review at most."""
    weight, _p, agreement = score_pair(person("张子涵"), person("张子轩", sex="2"))
    assert agreement["rule"] == "twins" and weight < UPPER
    weight, _p, agreement = score_pair(person("王大伟"), person("王建国"))
    assert agreement["rule"] == "twins" and weight < UPPER
    # the same person with a homophone in the name is no twin
    weight, _p, agreement = score_pair(person("王大伟"), person("王大玮"))
    assert "rule" not in agreement and weight >= UPPER


def test_two_valid_resident_ids_are_two_people():
    """A father and a son of the same name at one address and phone: two valid, different IDs."""
    father, son = residentid.make("130499", date(1968, 5, 12), 13), residentid.make("130499", date(1994, 3, 2), 31)
    weight, _p, agreement = score_pair(person("王建国", birth_date=None, resident_id=father),
                                       person("王建国", birth_date=None, resident_id=son))
    assert agreement["rule"] == "two_ids" and weight < UPPER
    broken = son[:17] + ("0" if son[17] != "0" else "1")  # a mistyped number: no rule, the fields decide
    assert "rule" not in score_pair(person("王建国", resident_id=father), person("王建国", resident_id=broken))[2]


def test_an_id_that_disagrees_with_its_own_record_is_no_second_number():
    """A number whose birth date part disagrees with the record's birth date was mistyped: not two people."""
    right = residentid.make("130499", date(1980, 5, 12), 13)
    typo = right[:6] + "19810612" + right[14:17]  # two slips away
    typo += residentid.check_char(typo)  # a valid check digit, but not this record's birth date
    weight, _p, agreement = score_pair(person("王建国", resident_id=right), person("王建国", resident_id=typo))
    assert agreement["resident_id"] == "different" and "rule" not in agreement and weight >= UPPER


def test_a_slip_in_the_surname_is_no_twin():
    """Siblings share a surname, never a given name: 刁琪 and 张琪 born the same day at one address are one
    person with a mistyped surname, not twins."""
    weight, _p, agreement = score_pair(person("刁雨琪"), person("张雨琪"))
    assert agreement["name"] == "different" and "rule" not in agreement
    assert weight >= UPPER
    # one given-name character apart: twins are often named so (雨琪, 雨晴); a person decides
    assert score_pair(person("张雨琪"), person("张雨晴"))[2]["rule"] == "twins"
    assert score_pair(person("张雨琪"), person("张子轩"))[2]["rule"] == "twins"


@pytest.mark.parametrize("placeholder", ["张某之子", "张某某之子", "张伟之子", "张伟之女", "男婴", "张丽女婴"])
def test_newborn_placeholder_is_never_linked_automatically(placeholder):
    for other in (placeholder, "张小宝"):  # even against the very same placeholder, same everything
        weight, _p, agreement = score_pair(person(placeholder, resident_id=""), person(other))
        assert agreement["rule"] == "newborn"
        assert weight < UPPER


def test_newborn_placeholder_can_go_to_review():
    weight, _p, _agreement = score_pair(person("张伟之子"), person("张小宝"))
    assert LOWER <= weight < UPPER


# --- keys -------------------------------------------------------------------------------------------

def test_keys_are_short_and_typed():
    keys = match_keys(person("阿依古丽·买买提阿不都热合曼库尔班吐尔逊", resident_id="130499198005120011"))
    assert {k.split(":")[0] for k in keys} == {"id", "ph", "sb", "gb", "ny", "nm"}
    assert all(len(k) <= MAX_KEY for k in keys)


@pytest.mark.parametrize("typo", [
    {"name": "章伟"}, {"name": "张玮"}, {"name": "张韦"}, {"name": "玉伟"}, {"name": "张 伟"},
    {"birth_date": date(1980, 12, 5)}, {"birth_date": date(1981, 5, 12)}, {"birth_date": date(1980, 5, 13)},
    {"phone": "15912345678"}, {"address": ""},
])
def test_a_record_with_one_typo_shares_a_key(typo):
    """With no phone to fall back on (unless the typo is in the phone), a name key or a date key remains."""
    base = {} if "phone" in typo else {"phone": ""}
    assert match_keys(person(**base)) & match_keys(person(**(base | typo)))


# --- index and search -------------------------------------------------------------------------------

@pytest.fixture
def registered(registrar):
    """Registered through the action (which indexes them): the person, their neighbour, and a stranger."""
    people = {
        "target": f.register_patient(registrar, name="陈建国", resident_id="", sex="1", birth_date=date(1958, 3, 9),
                                     phone="13933334444", address=ADDRESS),
        "neighbour": f.register_patient(registrar, name="陈建华", resident_id="", sex="1",
                                        birth_date=date(1961, 7, 2), phone="13933334444", address=ADDRESS),
        "stranger": f.register_patient(registrar, name="刘秀英", resident_id="", sex="2",
                                       birth_date=date(1958, 3, 9), phone="", address=""),
    }
    return people


def test_registration_indexes_the_patient(registered):
    target = registered["target"]
    assert set(MatchKey.objects.filter(patient=target).values_list("key", flat=True)) == match_keys(target)


@pytest.mark.parametrize("probe", [
    Probe("程建国", sex="1", birth_date=date(1958, 3, 9)),  # chen/cheng, nothing else
    Probe("陈健国", sex="1", birth_date=date(1958, 9, 3), address="柳营镇张家庄村"),  # homophone, swapped date
    Probe("陈建国", birth_date=date(1959, 3, 9), phone="13933334444"),  # year off
    Probe("陈建玉", sex="1", birth_date=date(1958, 3, 9), address=ADDRESS),  # look-alike in the given name
])
def test_search_finds_the_person_despite_a_typo(registered, probe):
    found = search_candidates(probe)
    assert found and found[0].patient_id == registered["target"].pk
    assert found[0].band in ("link", "review")
    assert set(found[0].agreement) >= {"name", "birth_date", "sex", "phone", "address", "resident_id"}


def test_search_ranks_and_excludes(registered):
    probe = Probe("陈建国", sex="1", birth_date=date(1958, 3, 9), phone="13933334444", address=ADDRESS)
    found = search_candidates(probe)
    assert [c.patient_id for c in found][:2] == [registered["target"].pk, registered["neighbour"].pk]
    assert found[0].band == "link" and found[1].band != "link"  # a brother: same phone and village
    assert found[0].match_weight > found[1].match_weight
    assert search_candidates(probe, limit=1) == found[:1]
    rest = search_candidates(probe, exclude_ids=[registered["target"].pk])
    assert registered["target"].pk not in [c.patient_id for c in rest]


def test_search_skips_merged_records(registered):
    target, neighbour = registered["target"], registered["neighbour"]
    Patient.objects.filter(pk=target.pk).update(merged_into=neighbour)  # what the merge action records
    probe = Probe("陈建国", sex="1", birth_date=date(1958, 3, 9), phone="13933334444")
    assert target.pk not in [c.patient_id for c in search_candidates(probe)]
    do_index_patients([target.pk])  # a merged record keeps no keys
    assert not MatchKey.objects.filter(patient=target).exists()


def test_reindex_follows_a_corrected_record(registered):
    target = registered["target"]
    Patient.objects.filter(pk=target.pk).update(name="孙建国")
    do_index_patients([target.pk])
    target.refresh_from_db()
    assert set(MatchKey.objects.filter(patient=target).values_list("key", flat=True)) == match_keys(target)
    assert not search_candidates(Probe("陈建国", birth_date=date(1960, 1, 1)))


def test_search_with_only_an_id_card(registrar):
    patient = f.register_patient(registrar, name="周芳", address=ADDRESS)
    found = search_candidates(Probe("周 芳", resident_id=patient.resident_id))
    assert found[0].patient_id == patient.pk and found[0].agreement["resident_id"] == "exact"
    assert found[0].band == "link"
