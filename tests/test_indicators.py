"""The indicator catalog (schemas/reference/indicators.yaml) and its matching rule."""

from __future__ import annotations

import pytest

from flows.compare.indicators import ID_PATTERN, ambiguous_wordings, load_catalog, match_indicator, matched_text

CATALOG = load_catalog()

# Invented wordings, one sentence's indicator/subject each, in the shapes plans use; every catalog
# entry has at least one, none is a catalog wording itself.
INVENTED = {
    "full_online_processing": [("依申请事项全程网办比例", None, "%"), ("全程网上办理率", "行政许可事项", "%"),
                               ("“一网通办”", "高频事项", "%")],
    "online_availability": [("网上可办率", "依申请政务服务事项", "%"), ("可网上办理比例", None, "%")],
    "online_completion": [("网上办结比例", "审批事项", "%"), ("实际网办率", None, "%")],
    "mobile_processing": [("“掌上办”", "高频事项", "%"), ("移动端办理比例", None, "%"), ("“指尖办”事项比例", "个人事项", "%")],
    "one_window_acceptance": [("“一窗受理”比例", None, "%"), ("综合窗口受理率", "政务服务事项", "%")],
    "service_kiosk_coverage": [("自助终端乡镇覆盖率", None, "%"), ("政务服务一体机覆盖率", "街道", "%")],
    "cross_province_services": [("“跨省通办”", "高频政务服务事项", "%"), ("异地可办率", None, "%")],
    "province_wide_services": [("“全省通办”比例", None, "%"), ("全市通办", "高频事项", "%")],
    "service_rating_rectification": [("差评整改率", None, "%"), ("“好差评”差评按期整改率", None, "%")],
    "service_satisfaction": [("群众满意率", None, "%"), ("政务服务好评率", None, "%")],
    "certificate_free_services": [("“免证明”事项比例", None, "%"), ("免提交", "证明材料", "%")],
    "zero_visit_services": [("“零跑腿”事项比例", None, "%"), ("不见面审批", "审批事项", "%")],
    "at_most_one_visit": [("“最多跑一次”比例", "政务服务事项", "%"), ("只跑一次", "群众办事", "%"),
                          ("一次办结率", "依申请事项", "%")],
    "internal_affairs_one_visit": [("最多跑一次", "机关内部事项", "%"), ("机关内部办事最多跑一次比例", None, "%")],
    "one_thing_services": [("“一件事一次办”覆盖率", None, "%"), ("一件事", "主题服务", "%")],
    "single_sign_on": [("统一身份认证覆盖率", None, "%"), ("单点登录比例", "政务应用", "%")],
    "unified_portal_onboarding": [("统一入口接入率", "移动应用", "%"), ("应用入驻比例", None, "%")],
    "time_limit_reduction": [("办理时限压缩比例", None, "%"), ("承诺时限平均压缩", "审批事项", "%")],
    "instant_processing": [("即办件比例", None, "%"), ("“秒批”事项占比", None, "%")],
    "application_material_reduction": [("申请材料精简率", None, "%"), ("减材料比例", None, "%")],
    "business_startup_time": [("企业开办时间", None, "工作日"), ("开办企业全流程", None, "天")],
    "investment_project_approval_time": [("工程建设项目审批时间", None, "工作日"), ("企业投资项目落地", None, "天")],
    "hotline_answer_rate": [("12345热线接通率", None, "%"), ("热线电话接通率", None, "%")],
    "e_licence_use": [("电子证照用证率", "高频事项", "%"), ("电子证照调用比例", None, "%")],
    "e_licence_issuance": [("电子证照同步制发率", None, "%"), ("新办证照电子化率", None, "%")],
    "e_seal_coverage": [("电子印章应用率", "部门", "%"), ("电子印章覆盖率", None, "%")],
    "e_signature_use": [("电子签名应用率", None, "%"), ("电子签章使用比例", None, "%")],
    "e_archive_filing": [("电子档案单套制归档率", None, "%"), ("电子归档比例", None, "%")],
    "supervision_list_standardization": [("监管事项目录清单标准化率", None, "%"), ("监管事项清单", "标准化", "%")],
    "unified_urban_management_coverage": [("“一网统管”覆盖率", None, "%"), ("城市运行管理平台覆盖率", None, "%")],
    "mobile_law_enforcement": [("移动执法覆盖率", None, "%"), ("掌上执法应用率", "执法人员", "%")],
    "social_governance_one_category": [("“一类事”统办率", None, "%")],
    "government_operation_joint_handling": [("“一体事”联办率", None, "%")],
    "mobile_office_coverage": [("移动办公应用覆盖率", None, "%"), ("掌上办公覆盖率", "县乡两级", "%")],
    "office_system_interconnection": [("办公系统互联互通比例", None, "%"), ("公文电子交换率", None, "%")],
    "paperless_office": [("无纸化办公比例", None, "%"), ("会议无纸化率", None, "%")],
    "data_sharing_on_demand": [("数据共享需求满足率", None, "%"), ("公共数据按需共享比例", None, "%")],
    "unified_data_service_share": [("通过平台统一提供数据服务比例", None, "%")],
    "open_data_rate": [("公共数据开放比例", None, "%"), ("数据开放率", "政务数据", "%")],
    "data_catalogue_coverage": [("数据资源目录编制率", None, "%"), ("目录挂接率", None, "%")],
    "data_quality": [("数据质量合格率", "政务数据", "%"), ("政务数据准确率", None, "%")],
    "gov_network_access": [("电子政务外网接入率", "乡镇", "%"), ("政务外网覆盖率", None, "%")],
    "private_network_consolidation": [("部门专网整合率", None, "%"), ("专网迁移比例", "非涉密", "%")],
    "cloud_migration": [("政务信息系统上云率", None, "%"), ("迁移上云比例", None, "%")],
    "ipv6_support": [("政务网站IPv6支持比例", None, "%"), ("IPv6改造完成率", None, "%")],
    "gigabit_access": [("千兆光网覆盖率", "城镇家庭", "%"), ("千兆宽带接入能力", "行政村", "%")],
    "school_broadband_access": [("中小学校千兆宽带接入率", None, "%"), ("学校互联网宽带接入率", None, "%")],
    "coverage_5g": [("5G网络覆盖率", "行政村", "%"), ("5G信号覆盖率", None, "%")],
    "autonomous_control": [("自主可控比例", "政务信息系统", "%"), ("软硬件国产化率", "政务系统", "%")],
    "classified_protection_compliance": [("等级保护测评达标率", None, "%"), ("等保备案率", None, "%")],
    "commercial_cryptography_use": [("商用密码应用比例", None, "%"), ("密码应用安全性评估通过率", None, "%")],
    "digital_economy_gdp_share": [("数字经济核心产业增加值占地区生产总值比重", None, "%"),
                                  ("数字经济增加值比重", None, "%")],
    "smart_community_coverage": [("智慧社区覆盖率", "城市社区", "%")],
    "social_security_card_coverage": [("电子社保卡领用率", None, "%"), ("电子社保卡签发比例", None, "%")],
    "daily_active_users": [("日活用户数", "政务服务App", "人"), ("“某某通”日均活跃用户数", None, "名")],
    "registered_users": [("实名注册用户数", None, "人"), ("注册用户", "政务服务平台", "名")],
    "open_datasets": [("开放数据集", "公共数据平台", "个")],
    "data_application_scenarios": [("行业大数据应用场景", None, "个"), ("数据开发利用场景", None, "个")],
    "aggregated_data_records": [("汇聚有效数据量", "各部门", "条"), ("公共数据汇聚量", "全市", "条")],
}

# Similar words with another meaning (or another unit): they must map to none, or not to the
# indicator they resemble.
NEAR_MISSES = [
    ("全程网办事项", None, "项", None),               # a count of items, not the share
    ("移动办公", None, "%", "mobile_office_coverage"),  # not mobile_processing
    ("全省无差别受理", None, "%", "province_wide_services"),  # not one_window_acceptance
    ("网上办事大厅访问量", None, "人次", None),
    ("智慧社会", None, "%", None),
    ("电子证照库", None, "个", None),
    ("数据共享交换平台", None, "个", None),
    ("一体化平台", None, "%", None),
    ("5G基站", None, "个", None),
    ("政务服务事项", None, "%", None),                # the subject alone says nothing measured
    ("覆盖率", None, "%", None),
    ("接入", "各级各部门", "%", None),
    ("12345热线一次办结率", None, "%", None),          # a call resolved at first contact, no visit
    ("一次办结率", "政务服务便民热线", "%", None),
]


def test_catalog_is_complete_and_well_formed():
    ids = [ind.id for ind in CATALOG.indicators]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)
    for ind in CATALOG.indicators:
        assert ID_PATTERN.fullmatch(ind.id), ind.id
        assert ind.unit in CATALOG.units, ind.id
        assert ind.theme in CATALOG.themes, ind.id
        for value in (ind.name_zh, ind.name_en, ind.definition_zh, ind.definition_en):
            assert value.strip(), ind.id
        # a metric's indicator is found by its wordings, a bandwidth indicator by its level
        assert bool(ind.wordings) != bool(ind.admin_level), ind.id
        assert (ind.unit == "Mbit/s") == bool(ind.admin_level), ind.id
    levels = [ind.admin_level for ind in CATALOG.indicators if ind.admin_level]
    assert sorted(levels) == sorted(["province", "prefecture", "county", "township", "village"])


def test_every_wording_maps_to_exactly_its_own_indicator():
    assert ambiguous_wordings(CATALOG) == []


def test_every_indicator_has_invented_wordings():
    assert set(INVENTED) == {ind.id for ind in CATALOG.indicators if ind.wordings}


@pytest.mark.parametrize("expected, indicator, subject, unit",
                         [(k, *v) for k, vs in INVENTED.items() for v in vs])
def test_invented_wordings_map(expected, indicator, subject, unit):
    all_wordings = {w for ind in CATALOG.indicators for w in ind.wordings}
    assert matched_text(indicator, subject) not in all_wordings
    assert match_indicator(indicator, subject, unit) == expected


@pytest.mark.parametrize("indicator, subject, unit, expected", NEAR_MISSES)
def test_near_misses(indicator, subject, unit, expected):
    assert match_indicator(indicator, subject, unit) == expected


def test_unit_must_suit_the_indicator():
    assert match_indicator("全程网办", "政务服务事项", "%") == "full_online_processing"
    assert match_indicator("全程网办", "政务服务事项", "个百分点") == "full_online_processing"
    assert match_indicator("全程网办", "政务服务事项", "个") is None
    assert match_indicator("企业开办时间", None, "%") is None
    assert match_indicator("企业开办时间", None, "工作日") == "business_startup_time"


def test_longest_wording_wins_and_ties_map_to_none():
    # 移动办公 (4 characters) beats 移动办 (3); the gap wording beats its shorter parts
    assert match_indicator("县乡移动办公覆盖率", None, "%") == "mobile_office_coverage"
    assert match_indicator("数字经济核心产业增加值占GDP比重力争", None, "%") == "digital_economy_gdp_share"
    # two different indicators, equally long: the wording is ambiguous
    assert match_indicator("跨省通办和全省通办", None, "%") is None


def test_a_gap_stays_inside_its_clause():
    assert match_indicator("数字经济发展，其中占GDP比重", None, "%") is None


def test_quotes_and_spaces_do_not_matter():
    assert matched_text("“全程 网办”", "《一般》事项") == "一般事项全程网办"
    assert match_indicator("“跨省 通办”", None, "%") == "cross_province_services"


def test_every_seed_percentage_target_is_mapped(seed_rows):
    targets = [m for m in seed_rows["metrics"] if m["unit"] == "%" and m["is_target"]]
    assert targets
    unmapped = [(m["indicator"], m["subject"]) for m in targets
                if match_indicator(m["indicator"], m["subject"], m["unit"]) is None]
    assert unmapped == []


def test_extraction_maps_metrics_to_the_catalog():
    from flows.extract import extract_all
    from flows.structure.sections import parse_sections

    text = "数字政府建设方案\n一、主要目标\n到2025年，一般政务服务事项100%全程网办，个人事项90%“掌上办”，新建示范应用20个。\n"
    rows = extract_all("d", text, parse_sections("d", text))["metrics"]
    got = {(m["value"], m["indicator_id"]) for m in rows}
    assert got == {(100, "full_online_processing"), (90, "mobile_processing"), (20, None)}


def test_every_seed_row_worded_full_online_shares_one_id(seed_rows):
    worded = [m for m in seed_rows["metrics"] if "全程网办" in m["indicator"] and m["unit"] == "%"]
    assert worded and {m["indicator_id"] for m in worded} == {"full_online_processing"}


def test_unmapped_wordings_most_frequent_first_with_an_example():
    from flows.compare.indicators import unmapped_wordings

    metrics = [dict(indicator="甲", indicator_id=None, source_text="句一"), dict(indicator="乙", indicator_id=None, source_text="句二"),
               dict(indicator="乙", indicator_id=None, source_text="句三"),
               dict(indicator="全程网办", indicator_id="full_online_processing", source_text="句四")]
    assert unmapped_wordings(metrics) == [("乙", 2, "句二"), ("甲", 1, "句一")]
    assert unmapped_wordings(metrics, top=1) == [("乙", 2, "句二")]


def test_digigov_indicators_lists_the_unmapped_wordings(tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from flows.cli import main

    assert main(["indicators", "--out", str(tmp_path)]) == 1  # no build yet
    pq.write_table(pa.table({"indicator": ["甲", "全程网办"], "indicator_id": [None, "full_online_processing"],
                             "source_text": ["到2025年，甲达到3个。", "全程网办100%。"]}), tmp_path / "metrics.parquet")
    capsys.readouterr()
    assert main(["indicators", "--out", str(tmp_path), "--unmapped"]) == 0
    out = capsys.readouterr().out
    assert "1 of 2 metrics mapped" in out and "    1  甲\t到2025年，甲达到3个。" in out


def bandwidth_row(level, network, sentence, upper=None):
    return {"admin_level": level, "admin_level_upper": upper, "network": network, "source_text": sentence}


# Invented bandwidth rows (as flows/extract/bandwidth.py gives them) and the indicator each maps to.
BANDWIDTH_ROWS = [
    (bandwidth_row("prefecture", "电子政务外网", "电子政务外网万兆到地市、千兆到县区。"), "egov_network_bandwidth_prefecture"),
    (bandwidth_row("county", "纵向骨干网", "纵向骨干网千兆到县。"), "egov_network_bandwidth_county"),
    (bandwidth_row("county", "骨干网", "市、县骨干线路带宽达到千兆。", upper="prefecture"), "egov_network_bandwidth_county"),
    (bandwidth_row("township", None, "推动政务网络百兆到乡镇。"), "egov_network_bandwidth_township"),  # no network named: 政务
    (bandwidth_row("village", "横向接入网", "横向接入网百兆到村。"), "egov_network_bandwidth_village"),
    (bandwidth_row("province", "政务外网", "政务外网万兆到省直部门。"), "egov_network_bandwidth_province"),
    # no level, or a backbone's core links: nothing comparable across provinces
    (bandwidth_row(None, "骨干网", "建设万兆骨干网。"), None),
    (bandwidth_row(None, None, "核心链路达到100G承载能力。"), None),
    # public broadband, not the government's network
    (bandwidth_row("village", None, "推动千兆光网向有需求的农村地区延伸。"), None),
    (bandwidth_row("county", "城域网", "城域网千兆到县城。"), None),
    (bandwidth_row("village", "互联网出口", "政务互联网出口百兆到村。"), None),
]


@pytest.mark.parametrize("row, expected", BANDWIDTH_ROWS)
def test_bandwidth_rows_map_by_level_when_about_the_egov_network(row, expected):
    from flows.compare.indicators import bandwidth_indicator_id

    assert bandwidth_indicator_id(row) == expected


def test_bandwidth_indicators_take_no_metric():
    # a metric with the unit of none of the bandwidth indicators, worded like a bandwidth target
    assert match_indicator("万兆到市", None, "%") is None
    assert match_indicator("千兆到县", None, None) is None


def test_extraction_maps_bandwidth_targets_to_the_catalog():
    from flows.extract import extract_all
    from flows.structure.sections import parse_sections

    text = ("数字政府建设方案\n一、主要目标\n到2025年，电子政务外网实现万兆到市、千兆到县，建设万兆骨干网。"
            "推动千兆光网向农村地区延伸。\n")
    rows = extract_all("d", text, parse_sections("d", text))["bandwidth_targets"]
    got = {(b["bandwidth_mbps"], b["admin_level"], b["indicator_id"]) for b in rows}
    assert got == {(10000, "prefecture", "egov_network_bandwidth_prefecture"),
                   (1000, "county", "egov_network_bandwidth_county"),
                   (10000, None, None), (1000, "village", None)}
