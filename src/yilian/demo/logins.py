"""The demo's log-ins: one per role and institution kind, all with the same demo password.

Every other staff account of the demo has an unusable password (hashing 1,500 passwords would take
minutes, and nobody needs them).
"""

from typing import NamedTuple

from yilian.demo.data.county import TOWNSHIPS
from yilian.demo.data.villages import county_villages

DEMO_PASSWORD = "Yilian-demo-2026"  # noqa: S105 - the published demo password, demo accounts only

# Where the demo users work: township.doctor at 柳营镇 and one of its village clinics, village.doctor at
# another village clinic of the same township.
DEMO_TOWNSHIP = TOWNSHIPS[1][0]
_villages = county_villages(TOWNSHIPS)[DEMO_TOWNSHIP]
DEMO_TOWNSHIP_VILLAGE = _villages[1][0]
DEMO_VILLAGE = _villages[2][0]
_tname = TOWNSHIPS[1][1]
_centre = _tname + ("中心卫生院" if TOWNSHIPS[1][3] else "卫生院")


class DemoLogin(NamedTuple):
    username: str
    role: str
    institution_kind: str
    description: str


class Placement(NamedTuple):
    """institution: "county", "tcm", "mch" or a township / village division code."""

    institution: str
    department: str | None
    role: str
    title: str


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("county.doctor", "doctor", "general_2", "县人民医院 心血管内科 医生（主治医师）"),
    DemoLogin("county.nurse", "nurse", "general_2", "县人民医院 心血管内科 护士（主管护师）"),
    DemoLogin("county.technician", "technician", "general_2", "县人民医院 医学检验科 技师（主管技师）"),
    DemoLogin("county.registrar", "registrar", "general_2", "县人民医院 门诊挂号 登记员"),
    DemoLogin("tcm.doctor", "doctor", "tcm", "县中医院 中医内科 医生（副主任医师）"),
    DemoLogin("mch.doctor", "doctor", "mch", "县妇幼保健院 儿科 医生（主治医师）"),
    DemoLogin("township.doctor", "doctor", "township",
              f"{_centre} 全科医生，兼{_villages[1][1]}卫生室坐诊（两个身份，可切换）"),
    DemoLogin("township.registrar", "registrar", "township", f"{_centre} 登记员"),
    DemoLogin("village.doctor", "doctor", "village", f"{_tname}{_villages[2][1]}卫生室 乡村医生"),
    DemoLogin("manager", "manager", "general_2", "医共体管理中心（设在县人民医院）管理人员：只看汇总指标"),
    DemoLogin("sysadmin", "sysadmin", "general_2", "系统管理员：配置机构、科室、人员，不看临床数据"),
    DemoLogin("secadmin", "secadmin", "general_2", "安全管理员：审查破窗访问与授权"),
    DemoLogin("auditor", "auditor", "general_2", "安全审计员：查阅审计日志"),
)

PLACEMENTS: dict[str, tuple[Placement, ...]] = {
    "county.doctor": (Placement("county", "心血管内科", "doctor", "attending"),),
    "county.nurse": (Placement("county", "心血管内科", "nurse", "nurse_in_charge"),),
    "county.technician": (Placement("county", "医学检验科", "technician", "technician_in_charge"),),
    "county.registrar": (Placement("county", None, "registrar", "administrator"),),
    "tcm.doctor": (Placement("tcm", "中医内科", "doctor", "assoc_chief_physician"),),
    "mch.doctor": (Placement("mch", "儿科", "doctor", "attending"),),
    "township.doctor": (Placement(DEMO_TOWNSHIP, "全科医疗科", "doctor", "attending"),
                        Placement(DEMO_TOWNSHIP_VILLAGE, "全科医疗科", "doctor", "attending")),
    "township.registrar": (Placement(DEMO_TOWNSHIP, None, "registrar", "administrator"),),
    "village.doctor": (Placement(DEMO_VILLAGE, "全科医疗科", "doctor", "village_doctor"),),
    "manager": (Placement("county", None, "manager", "administrator"),),
    "sysadmin": (Placement("county", None, "sysadmin", "administrator"),),
    "secadmin": (Placement("county", None, "secadmin", "administrator"),),
    "auditor": (Placement("county", None, "auditor", "administrator"),),
}
