"""The time nodes of each green channel, as data: a code, the Chinese and English names, and the earlier
nodes it must not precede.

The order rule: a node's time may not be earlier than the time of any node it follows (`after`). When a
node it follows has no value yet, the rule is checked against that node's own predecessors, so wire
crossing is still refused before the hospital door when puncture and cath-lab arrival were not recorded.
The rule is checked both ways: recording hospital door *after* an already recorded wire crossing is
refused just the same. A correction with a reason may break it (docs/emergency.md).

Names follow the national chest-pain-centre data platform (中国胸痛中心数据填报平台) and the stroke-centre
time nodes (中国卒中中心); `door` is the same code in every centre, so that the board's "time since arrival"
and the door-based indicators read one node.
"""

from dataclasses import dataclass

from django.utils.translation import get_language


@dataclass(frozen=True)
class Node:
    code: str
    zh: str
    en: str
    after: tuple[str, ...] = ()
    prehospital: bool = False  # usually recorded before the hospital door (by the crew or a sending member)

    @property
    def name(self) -> str:
        """The name in the active language (Chinese unless English was chosen)."""
        return self.en if (get_language() or "zh-hans").startswith("en") else self.zh

    def __str__(self) -> str:
        return self.name


class Centre:
    CHEST_PAIN = "chest_pain"
    STROKE = "stroke"
    TRAUMA = "trauma"
    MATERNAL = "maternal"
    NEONATAL = "neonatal"


CHEST_PAIN = (
    Node("symptom_onset", "发病时间", "Symptom onset", prehospital=True),
    Node("first_medical_contact", "首次医疗接触", "First medical contact", ("symptom_onset",), prehospital=True),
    Node("first_ecg", "首份心电图完成", "First ECG", ("first_medical_contact",), prehospital=True),
    Node("ecg_transmitted", "心电图远程传输", "ECG transmitted", ("first_ecg",), prehospital=True),
    Node("stemi_diagnosis", "确诊STEMI", "STEMI diagnosis", ("first_ecg",), prehospital=True),
    Node("dapt_loading", "双抗负荷给药", "Dual antiplatelet loading", ("stemi_diagnosis",), prehospital=True),
    Node("cath_lab_activation", "启动导管室", "Cath lab activated", ("stemi_diagnosis",), prehospital=True),
    Node("cath_lab_ready", "导管室激活完成（介入团队到位）", "Cath lab ready (team in place)",
         ("cath_lab_activation",)),
    Node("door", "到达医院大门", "Hospital door", ("symptom_onset",)),
    Node("cath_lab_arrival", "患者到达导管室", "Arrival at the cath lab", ("door",)),
    Node("puncture", "穿刺", "Arterial puncture", ("cath_lab_arrival",)),
    Node("wire_crossing", "导丝通过", "Wire crossing", ("puncture",)),
    # The thrombolysis path (溶栓), an alternative to primary PCI; it may start before the door.
    Node("thrombolysis_start", "溶栓开始", "Thrombolysis started", ("stemi_diagnosis",), prehospital=True),
    Node("thrombolysis_end", "溶栓结束", "Thrombolysis finished", ("thrombolysis_start",), prehospital=True),
)

STROKE = (
    Node("last_known_well", "最后正常时间", "Last known well", prehospital=True),
    Node("door", "到达医院", "Hospital arrival", ("last_known_well",)),
    # A mobile stroke unit (5G 移动卒中单元) scans, decides and gives the bolus in the ambulance: CT,
    # labs, decision and bolus follow the last known well time, not the door. Groin puncture is in hospital.
    Node("ct_start", "CT开始", "CT started", ("last_known_well",), prehospital=True),
    Node("ct_read", "CT判读完成", "CT read", ("ct_start",), prehospital=True),
    Node("labs_back", "检验结果回报", "Lab results back", ("last_known_well",), prehospital=True),
    Node("treatment_decision", "治疗决策", "Treatment decision", ("ct_read",), prehospital=True),
    Node("thrombolysis_bolus", "静脉溶栓给药", "Thrombolysis bolus (needle)", ("treatment_decision",),
         prehospital=True),
    Node("groin_puncture", "股动脉穿刺", "Groin puncture", ("treatment_decision", "door")),
    Node("recanalisation", "血管再通", "Recanalisation", ("groin_puncture",)),
)


def _main(intervention_zh: str, intervention_en: str) -> tuple[Node, ...]:
    """Trauma, critical maternal and critical neonatal: arrival, team activation (often on the pre-arrival
    notice, so before the door), the key intervention, disposition."""
    return (
        Node("door", "到达医院", "Hospital arrival"),
        Node("team_activation", "启动救治团队", "Team activated", prehospital=True),
        Node("key_intervention", intervention_zh, intervention_en, ("door",)),
        Node("disposition", "离开急诊（去向确定）", "Disposition", ("door", "key_intervention")),
    )


TIMELINES: dict[str, tuple[Node, ...]] = {
    Centre.CHEST_PAIN: CHEST_PAIN,
    Centre.STROKE: STROKE,
    Centre.TRAUMA: _main("关键处置（止血 / 手术 / 输血）", "Key intervention (haemorrhage control, surgery, transfusion)"),
    Centre.MATERNAL: _main("关键处置（剖宫产 / 止血 / 输血）", "Key intervention (caesarean section, haemorrhage control)"),
    Centre.NEONATAL: _main("关键处置（复苏 / 气管插管 / 转入NICU）", "Key intervention (resuscitation, intubation, NICU)"),
}

BY_CODE: dict[str, dict[str, Node]] = {centre: {n.code: n for n in nodes} for centre, nodes in TIMELINES.items()}


def nodes_of(centre: str) -> tuple[Node, ...]:
    return TIMELINES[centre]


def node(centre: str, code: str) -> Node | None:
    return BY_CODE.get(centre, {}).get(code)


def predecessors(centre: str, code: str, recorded) -> list[str]:
    """The nearest nodes `code` must not precede that have a value in `recorded` (a set or a mapping of
    codes): a predecessor without a value is replaced by its own predecessors."""
    table = BY_CODE[centre]
    out: list[str] = []
    seen: set[str] = set()
    stack = list(table[code].after)
    while stack:
        before = stack.pop(0)
        if before in seen:
            continue
        seen.add(before)
        if before in recorded:
            out.append(before)
        else:
            stack.extend(table[before].after)
    return out


def successors(centre: str, code: str, recorded) -> list[str]:
    """The other way round: the recorded nodes whose nearest recorded predecessors include `code` (they
    may not be earlier than `code`)."""
    table, known = BY_CODE[centre], set(recorded) | {code}
    return [other for other in recorded if other != code and other in table
            and code in predecessors(centre, other, known)]


def next_nodes(centre: str, recorded) -> list[Node]:
    """The nodes without a value, in timeline order: the tablet's big buttons."""
    return [n for n in TIMELINES[centre] if n.code not in recorded]
