"""What a visit is charged, by department profile: for each category the chance a visit carries it and a
(low, mode, high) amount in yuan drawn from a triangular distribution, with typical item names.

Amounts follow 河北省 county price lists in broad strokes (synthetic): village clinics charge a 一般诊疗费 of
5 yuan and cheap drugs, township centres 10 yuan, county hospitals a 诊查费 by the doctor's title. Drug
shares are tuned so that 药占比 (western + patent drugs, excluding herbal pieces, over all charges) lands
near 30–35 % over the consortium: higher at village clinics, lower at the county hospital.
"""

# category → (probability, low, mode, high)
PROFILES: dict[str, dict[str, tuple[float, float, float, float]]] = {
    "medicine": {"western_drug": (0.65, 15, 60, 320), "patent_drug": (0.40, 15, 45, 180),
                 "lab": (0.50, 20, 70, 260), "examination": (0.40, 30, 140, 480),
                 "treatment": (0.15, 10, 30, 120), "consumable": (0.20, 3, 10, 40)},
    "surgery": {"western_drug": (0.45, 10, 45, 220), "patent_drug": (0.20, 15, 40, 150),
                "lab": (0.35, 20, 60, 200), "examination": (0.55, 60, 160, 520),
                "treatment": (0.45, 20, 80, 300), "consumable": (0.50, 5, 30, 150)},
    "obgyn": {"western_drug": (0.40, 10, 40, 200), "patent_drug": (0.30, 15, 40, 150),
              "lab": (0.60, 30, 80, 300), "examination": (0.60, 60, 100, 220),
              "treatment": (0.20, 15, 40, 150), "consumable": (0.25, 3, 10, 40)},
    "obstetric": {"western_drug": (0.20, 10, 20, 60), "lab": (0.70, 30, 90, 320),
                  "examination": (0.80, 60, 110, 260), "consumable": (0.20, 3, 8, 30)},
    "paeds": {"western_drug": (0.70, 10, 35, 140), "patent_drug": (0.50, 10, 28, 80),
              "lab": (0.55, 20, 35, 90), "examination": (0.10, 30, 60, 150),
              "treatment": (0.30, 10, 25, 60), "consumable": (0.20, 2, 6, 20)},
    "eye_ent": {"western_drug": (0.50, 10, 35, 120), "examination": (0.55, 20, 50, 160),
                "treatment": (0.30, 15, 40, 150), "consumable": (0.20, 3, 10, 40)},
    "dental": {"treatment": (0.85, 30, 120, 600), "consumable": (0.60, 10, 40, 200),
               "western_drug": (0.25, 10, 25, 80), "examination": (0.30, 40, 60, 100)},
    "emergency": {"western_drug": (0.80, 20, 80, 400), "lab": (0.70, 40, 110, 300),
                  "examination": (0.60, 60, 200, 520), "treatment": (0.60, 30, 70, 220),
                  "consumable": (0.60, 5, 25, 120)},
    "rehab": {"treatment": (0.95, 40, 110, 300), "patent_drug": (0.20, 15, 35, 100)},
    "tcm": {"herbal": (0.65, 60, 150, 400), "patent_drug": (0.40, 20, 55, 200),
            "western_drug": (0.15, 10, 30, 120), "lab": (0.15, 20, 50, 150),
            "examination": (0.10, 30, 80, 200), "treatment": (0.20, 20, 50, 150)},
    "tcm_treat": {"treatment": (0.95, 30, 80, 200), "herbal": (0.30, 50, 120, 300),
                  "patent_drug": (0.30, 15, 40, 120), "consumable": (0.20, 3, 10, 30)},
    "preventive": {"examination": (0.50, 20, 40, 100), "lab": (0.40, 20, 40, 100),
                   "western_drug": (0.10, 5, 15, 40)},
    "general": {"western_drug": (0.70, 10, 30, 130), "patent_drug": (0.40, 10, 26, 90),
                "lab": (0.35, 10, 28, 90), "examination": (0.20, 20, 45, 110),
                "treatment": (0.35, 10, 25, 60), "consumable": (0.30, 2, 6, 20)},
    "tcm_grass": {"herbal": (0.40, 30, 70, 150), "treatment": (0.60, 15, 30, 60),
                  "patent_drug": (0.40, 10, 25, 80)},
    "village": {"western_drug": (0.78, 5, 14, 50), "patent_drug": (0.35, 5, 12, 40),
                "treatment": (0.35, 5, 12, 35), "lab": (0.06, 5, 8, 15), "consumable": (0.20, 1, 3, 10)},
}

DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "western_drug": ("西药", "抗感染药", "降压药", "降糖药", "解热镇痛药", "消化系统用药"),
    "patent_drug": ("中成药",),
    "herbal": ("中药饮片",),
    "lab": ("血常规", "尿常规", "肝功能", "肾功能", "血糖", "血脂", "C反应蛋白"),
    "examination": ("B超", "心电图", "DR摄片", "CT", "彩色多普勒"),
    "treatment": ("静脉输液", "换药", "雾化吸入", "针灸", "推拿", "理疗"),
    "consumable": ("卫生材料",),
}

# 挂号/诊查费 by institution kind; the hospitals' fee depends on the doctor's title.
VILLAGE_FEE = 5
TOWNSHIP_FEE = 10
EMERGENCY_FEE = 15
HOSPITAL_FEE_BY_TITLE = {
    "chief_physician": 25, "assoc_chief_physician": 18, "attending": 12, "resident": 8, "assistant_physician": 8,
}
