"""The exam types the centres read, shipped with Yilian: per centre kind, the DICOM modalities an imaging
exam accepts, the report template (findings and impression to start from) and the critical values the
centre's list (危急值清单, 医疗质量安全核心制度要点 (2018) 危急值报告制度 (二)) names for that exam.

A small, common set for a county consortium; a site extends it here. Codes are Yilian's own.
"""

from dataclasses import dataclass, field

from yilian.diagnostics.models import CentreKind


@dataclass(frozen=True)
class ExamType:
    code: str
    name: str
    kind: str
    findings: str
    impression: str
    modalities: tuple[str, ...] = ()  # imaging: the DICOM Modality (0008,0060) values it accepts
    critical: tuple[str, ...] = field(default=())


_TYPES = [
    # --- imaging (影像) ---
    ExamType("DR-CHEST", "胸部正位片", CentreKind.IMAGING, modalities=("DX", "CR"),
             findings="胸廓对称，气管居中。双肺纹理清晰，未见明显实变影。双肺门不大。心影大小、形态未见异常。"
                      "双侧膈面光整，肋膈角锐利。",
             impression="心肺膈未见明显异常。",
             critical=("张力性气胸", "大量气胸（肺压缩 > 50%）", "急性肺水肿", "纵隔气肿")),
    ExamType("DR-LSPINE", "腰椎正侧位片", CentreKind.IMAGING, modalities=("DX", "CR"),
             findings="腰椎生理曲度存在，序列整齐。各椎体形态、骨质未见明显异常，椎间隙未见狭窄。附件未见异常。",
             impression="腰椎未见明显异常。", critical=("椎体压缩性骨折伴脊髓受压",)),
    ExamType("CT-HEAD", "头颅CT平扫", CentreKind.IMAGING, modalities=("CT",),
             findings="颅骨骨质完整。脑实质内未见异常密度影。脑室系统大小、形态正常，中线结构居中。脑沟、脑裂未见增宽。",
             impression="颅脑CT平扫未见明显异常。",
             critical=("急性颅内出血", "大面积脑梗死", "脑疝", "颅骨骨折伴颅内积气")),
    ExamType("CT-CHEST", "胸部CT平扫", CentreKind.IMAGING, modalities=("CT",),
             findings="胸廓对称。双肺纹理清晰，肺实质内未见明显结节及实变。气管及主支气管通畅。纵隔内未见肿大淋巴结。"
                      "心脏大小正常。双侧胸腔未见积液。",
             impression="胸部CT平扫未见明显异常。",
             critical=("张力性气胸", "主动脉夹层", "肺栓塞", "大量胸腔积液伴纵隔移位")),
    ExamType("CT-ABD", "上腹部CT平扫", CentreKind.IMAGING, modalities=("CT",),
             findings="肝脏大小、形态正常，实质密度均匀。胆囊不大。胰腺、脾脏未见异常。双肾未见异常密度影。"
                      "腹腔内未见积液及游离气体。",
             impression="上腹部CT平扫未见明显异常。",
             critical=("消化道穿孔（膈下游离气体）", "肝脾破裂", "急性出血坏死性胰腺炎", "肠梗阻伴绞窄")),
    ExamType("MR-HEAD", "头颅MRI平扫", CentreKind.IMAGING, modalities=("MR",),
             findings="脑实质内未见异常信号。DWI未见弥散受限。脑室系统未见扩大，中线结构居中。",
             impression="颅脑MRI平扫未见明显异常。", critical=("急性脑梗死（大面积）", "急性颅内出血", "脑疝")),
    ExamType("US-ABD", "腹部超声", CentreKind.IMAGING, modalities=("US",),
             findings="肝脏大小正常，包膜光整，实质回声均匀。胆囊大小正常，壁光滑，腔内未见异常回声。胰、脾、双肾未见明显异常。",
             impression="肝胆胰脾双肾未见明显异常。", critical=("腹腔大量积液（疑内出血）", "异位妊娠破裂")),
    # --- ECG (心电) ---
    ExamType("ECG-12", "常规十二导联心电图", CentreKind.ECG,
             findings="窦性心律，心率 次/分。PR间期 ms，QRS时限 ms，QT/QTc ms。电轴 °。ST-T未见明显异常。",
             impression="窦性心律，正常心电图。",
             critical=("急性ST段抬高型心肌梗死", "心室颤动/心室扑动", "室性心动过速", "三度房室传导阻滞",
                       "心室停搏", "窦性停搏 > 3 秒", "心率 < 35 次/分")),
    ExamType("ECG-HOLTER", "24小时动态心电图", CentreKind.ECG,
             findings="监测时长 h。总心搏 次，平均心率 次/分，最慢 次/分，最快 次/分。室性早搏 次，室上性早搏 次。"
                      "ST段未见明显动态改变。",
             impression="窦性心律，偶发早搏。", critical=("长 R-R 间期 > 3 秒", "持续性室性心动过速")),
    # --- pathology (病理) ---
    ExamType("PATH-BIOPSY", "活检组织病理诊断", CentreKind.PATHOLOGY,
             findings="大体所见：灰白组织 块，大小 cm。\n镜下所见：",
             impression="病理诊断：", critical=("恶性肿瘤（与临床诊断不符）",)),
    ExamType("PATH-TCT", "宫颈液基细胞学（TCT）", CentreKind.PATHOLOGY,
             findings="标本满意度：满意。\n细胞量：充足。\n炎症细胞：",
             impression="未见上皮内病变或恶性细胞（NILM）。", critical=("高级别鳞状上皮内病变及以上（HSIL+）",)),
    ExamType("PATH-FROZEN", "术中冰冻病理", CentreKind.PATHOLOGY,
             findings="送检组织：\n冰冻切片所见：", impression="冰冻病理诊断：",
             critical=("切缘阳性", "恶性肿瘤（与术前诊断不符）")),
    # --- laboratory (检验) ---
    ExamType("LAB-CBC", "血常规", CentreKind.LAB,
             findings="WBC ×10^9/L (3.5–9.5)\nRBC ×10^12/L (4.3–5.8)\nHGB g/L (130–175)\nPLT ×10^9/L (125–350)",
             impression="血常规未见明显异常。",
             critical=("血红蛋白 < 50 g/L", "血小板 < 31×10^9/L", "白细胞 < 1.5×10^9/L", "白细胞 > 30×10^9/L")),
    ExamType("LAB-BIOCHEM", "生化全项（肝肾功能、电解质、血糖）", CentreKind.LAB,
             findings="ALT U/L (9–50)\nAST U/L (15–40)\nCr μmol/L (57–111)\nK mmol/L (3.5–5.3)\nNa mmol/L (137–147)\n"
                      "Glu mmol/L (3.9–6.1)",
             impression="生化检验未见明显异常。",
             critical=("血钾 < 2.8 或 > 6.2 mmol/L", "血钠 < 120 或 > 160 mmol/L", "血糖 < 2.2 或 > 22.2 mmol/L",
                       "肌酐 > 707 μmol/L")),
    ExamType("LAB-COAG", "凝血四项", CentreKind.LAB,
             findings="PT s (10–14)\nINR (0.8–1.2)\nAPTT s (25–37)\nFIB g/L (2–4)",
             impression="凝血功能未见明显异常。", critical=("INR > 4.5", "APTT > 80 s", "纤维蛋白原 < 1.0 g/L")),
    ExamType("LAB-TNI", "心肌肌钙蛋白I", CentreKind.LAB, findings="cTnI ng/mL (< 0.04)",
             impression="心肌肌钙蛋白I未见升高。", critical=("cTnI 显著升高（疑急性心肌梗死）",)),
]

CATALOGUE: dict[str, ExamType] = {t.code: t for t in _TYPES}


def exam_type(code: str | None) -> ExamType | None:
    return CATALOGUE.get((code or "").strip().upper())


def for_kind(kind: str) -> list[ExamType]:
    return [t for t in _TYPES if t.kind == kind]
