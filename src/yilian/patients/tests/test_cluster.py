"""The cluster rules of the batch linkage (`matching.cluster`): links are transitive, and a strong pair that
would give one patient both sexes, two resident IDs no typing error explains, or a pair held back, waits
for a person."""

from datetime import date

import pytest

from yilian.patients import residentid
from yilian.patients.matching import cluster
from yilian.patients.matching.model import UPPER
from yilian.patients.matching.record import record_from_values

BORN = date(1980, 5, 12)
RIGHT = residentid.make("130499", BORN, 13)  # a man's number (odd sequence)
OTHER_VALID = residentid.make("130499", BORN, 15)  # one digit off in the sequence code, valid
TWO_OFF = residentid.make("130499", BORN, 57)  # two digits off: another person born the same day
SWAPPED_DATE = RIGHT[:10] + RIGHT[11] + RIGHT[10] + RIGHT[12:17]  # 0512 → 0152: one slip
SWAPPED_DATE += residentid.check_char(SWAPPED_DATE)  # a valid check digit, but it disagrees with the birth date
FAR = residentid.make("130499", date(1981, 6, 13), 13)


def rec(sex="1", resident_id="", born=BORN):
    return record_from_values("王建国", sex, born, resident_id, "13800001111", "杏林县柳营镇张家庄村1号")


def strong(a, b, weight=UPPER + 5, name="exact"):
    return (a, b, weight, {"name": name})


def test_trusted_ids():
    assert cluster.trusted_id(rec(resident_id=RIGHT))
    assert not cluster.trusted_id(rec(resident_id=SWAPPED_DATE))  # right check digit, wrong birth date
    assert not cluster.trusted_id(rec(resident_id=RIGHT[:17] + ("0" if RIGHT[17] != "0" else "1")))  # check digit
    assert not cluster.trusted_id(rec(sex="2", resident_id=RIGHT))  # a man's number on a woman's record
    assert cluster.trusted_id(rec(sex="", resident_id=RIGHT, born=None))  # nothing beside it to disagree with


@pytest.mark.parametrize(("ids", "rule"), [
    ({(RIGHT, True)}, ""),
    ({(RIGHT, True), (SWAPPED_DATE, False)}, ""),  # a typing error of the right number
    ({(RIGHT, True), (OTHER_VALID, True)}, ""),  # one slip in the sequence code: the fields decided
    ({(RIGHT, True), (FAR, True)}, "ids"),  # two national numbers: two people
    ({(SWAPPED_DATE, False), (OTHER_VALID, False)}, ""),  # two untrusted ones, two slips apart
    ({(RIGHT, True), (FAR, False)}, "ids"),  # far apart: no typing error explains it
])
def test_conflict_over_resident_ids(ids, rule):
    assert cluster.conflict(set(), ids) == rule


def test_conflict_over_sexes():
    assert cluster.conflict({"1", "2"}, set()) == "sexes"
    assert cluster.conflict({"1", "2"}, set(), names_agree=True) == ""  # the sex was typed wrong
    assert cluster.conflict({"1"}, set()) == ""


def test_links_are_transitive():
    recs = [rec(), rec(), rec()]
    # 0–1 and 1–2 strong, 0–2 too weak alone: one person all the same
    decided = cluster.resolve([strong(0, 1), strong(1, 2), (0, 2, UPPER - 8, {"name": "similar"})], recs)
    assert decided == {(0, 1): "", (1, 2): ""}


def test_a_join_that_breaks_a_rule_waits_for_a_person():
    recs = [rec(resident_id=RIGHT), rec(), rec(resident_id=TWO_OFF), rec(sex="2"), rec()]
    decided = cluster.resolve([
        strong(0, 1, UPPER + 9),
        strong(1, 2, UPPER + 8),  # would give the person two national numbers
        strong(1, 3, UPPER + 7, name="different"),  # both sexes, different names
        strong(1, 4, UPPER + 1),
        strong(0, 4, UPPER + 2),  # already one cluster by the time it is taken: linked
    ], recs)
    assert decided == {(0, 1): "", (1, 2): "ids", (1, 3): "sexes", (0, 4): "", (1, 4): ""}


def test_a_pair_held_back_keeps_its_clusters_apart():
    """0 and 2 are possible twins (held by the model); 1 looks like both: it joins the stronger one only."""
    recs = [rec(), rec(), rec()]
    twins = (0, 2, UPPER - 1, {"name": "different", "rule": "twins"})
    decided = cluster.resolve([twins, strong(0, 1, UPPER + 3), strong(1, 2, UPPER + 2)], recs)
    assert decided == {(0, 1): "", (1, 2): "apart"}


def test_strongest_first_decides_and_order_of_input_does_not():
    recs = [rec(resident_id=RIGHT), rec(), rec(resident_id=TWO_OFF)]
    pairs = [strong(0, 1, UPPER + 1), strong(1, 2, UPPER + 4)]
    assert cluster.resolve(pairs, recs) == cluster.resolve(pairs[::-1], recs) == {(1, 2): "", (0, 1): "ids"}


def test_every_rule_has_words_on_the_review_page():
    from yilian.patients.templatetags.mpi import RULES, why

    for rule in ("twins", "newborn", "two_ids", "refused", *cluster.CLUSTER_RULES):
        assert rule in RULES
        assert why({"name": "exact", "rule": rule})[-1]["level"] == RULES[rule]
