"""The time-node constants: complete, acyclic, named in both languages, and the order rule's walk."""

from django.utils import translation

from yilian.emergency.models import CentreType
from yilian.emergency.nodes import BY_CODE, TIMELINES, next_nodes, node, predecessors, successors


def test_every_centre_has_its_nodes_named_and_ordered_within_itself():
    assert set(TIMELINES) == set(CentreType.values)
    for centre, nodes in TIMELINES.items():
        codes = [n.code for n in nodes]
        assert len(codes) == len(set(codes)), centre
        assert "door" in codes
        for n in nodes:
            assert n.zh and n.en and n.zh != n.en
            assert all(before in BY_CODE[centre] for before in n.after), (centre, n.code)


def test_no_cycles():
    for centre, nodes in TIMELINES.items():
        for n in nodes:
            seen, stack = set(), list(n.after)
            while stack:
                code = stack.pop()
                assert code != n.code, (centre, n.code)
                if code not in seen:
                    seen.add(code)
                    stack.extend(BY_CODE[centre][code].after)


def test_the_brief_nodes_are_there():
    assert {"symptom_onset", "first_medical_contact", "first_ecg", "ecg_transmitted", "stemi_diagnosis",
            "dapt_loading", "cath_lab_activation", "door", "cath_lab_arrival", "puncture", "wire_crossing",
            "thrombolysis_start"} <= set(BY_CODE["chest_pain"])
    assert {"last_known_well", "door", "ct_start", "ct_read", "labs_back", "treatment_decision",
            "thrombolysis_bolus", "groin_puncture", "recanalisation"} <= set(BY_CODE["stroke"])
    for centre in ("trauma", "maternal", "neonatal"):
        assert [n.code for n in TIMELINES[centre]] == ["door", "team_activation", "key_intervention", "disposition"]


def test_predecessors_walk_past_missing_nodes():
    assert predecessors("chest_pain", "wire_crossing", {"puncture"}) == ["puncture"]
    # puncture and cath-lab arrival missing: wire crossing still follows the door
    assert predecessors("chest_pain", "wire_crossing", {"door", "symptom_onset"}) == ["door"]
    assert predecessors("chest_pain", "wire_crossing", set()) == []
    assert sorted(successors("chest_pain", "door", {"wire_crossing", "ct_start", "first_ecg"})) == ["wire_crossing"]


def test_names_follow_the_language():
    with translation.override("en"):
        assert node("stroke", "thrombolysis_bolus").name == "Thrombolysis bolus (needle)"
    with translation.override("zh-hans"):
        assert node("stroke", "thrombolysis_bolus").name == "静脉溶栓给药"
    assert [n.code for n in next_nodes("trauma", {"door"})] == ["team_activation", "key_intervention", "disposition"]
