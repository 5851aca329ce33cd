"""The validation gate: suites generated from schemas/, each semantic rule, messages, Data Docs.

A small invented dataset (one plan, every table filled, offsets computed from its text) is the
good baseline; each test breaks one row of it and expects the failure to name the rule.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from flows.contract.ids import document_id, file_document_id
from flows.contract.schema import SCHEMA_DIR, TABLES, load_schemas, schema
from flows.gate.rules import (
    PLAN_LENGTH,
    build_suites,
    traditional_only_chars,
    unnormalized_text_regex,
)
import flows.gate.run as run_mod
from flows.gate.run import DOCS_DIR, validate_tables

TODAY = dt.date(2026, 11, 22)

PLAN = (
    "某省人民政府关于印发某省数字政府建设方案的通知\n"
    "某府发〔2023〕21号\n\n"
    "一、总体要求\n\n"
    "到2025年，政务服务事项全程网办率达到90%。2023—2024年，建成一体化平台。\n\n"
    "二、主要任务\n\n"
    "（一）建设网络。实现万兆到市、千兆到县。（牵头单位：省大数据局；责任单位：各市人民政府）\n\n"
    "附件：重点任务分工表\n\n"
    "某省人民政府\n2023年6月1日\n"
)


def span(text: str, fragment: str) -> tuple[int, int]:
    start = text.index(fragment)
    return start, start + len(fragment)


def good_rows(text: str = PLAN, name: str = "plan.txt", key: str | None = None) -> dict[str, list[dict]]:
    """Every table's rows for one invented plan, consistent with each other and with the text
    (its own document_key unless ``key`` is given: a plan named other than plan.txt is another plan)."""
    key = key or ("number:某省人民政府|某府发(2023)21号" if name == "plan.txt" else f"title:{name}|2023-06-01")
    sha = hashlib.sha256(text.encode()).hexdigest()
    d = document_id(key)
    h1, h2, h3 = (text.index(h) for h in ("一、总体要求", "二、主要任务", "（一）建设网络"))
    sec = lambda i: f"{d}-{i:04d}"  # noqa: E731
    body = lambda a, b: text[a:b].split("\n", 1)[-1].strip()  # noqa: E731
    goal = "到2025年，政务服务事项全程网办率达到90%。"
    phase = "2023—2024年，建成一体化平台。"
    net = "实现万兆到市、千兆到县。"
    task = "（牵头单位：省大数据局；责任单位：各市人民政府）"
    return {
        "documents": [dict(
            doc_id=d, source_file=name, source_sha256=sha, source_bytes=len(text.encode()),
            raw_encoding="utf-8", script="simplified", title="某省数字政府建设方案",
            notice_title="某省人民政府关于印发某省数字政府建设方案的通知", province="某省",
            issuer="某省人民政府", admin_level="province", doc_number="某府发〔2023〕21号",
            issue_date=dt.date(2023, 6, 1), issue_date_source="signature", plan_start_year=2023,
            plan_end_year=2025, source_url=None, metadata_flags=[], repairs="[]",
            unrecoverable_spans=0, duplicate_of=None, text=text, document_key=key)],
        "sections": [
            dict(section_id=sec(0), doc_id=d, parent_id=None, level=0, label=None, ordinal=None,
                 heading=None, kind="preamble", text=text[:h1].strip(), char_start=0, char_end=h1),
            dict(section_id=sec(1), doc_id=d, parent_id=None, level=1, label="一、", ordinal=1,
                 heading="总体要求", kind="body", text=body(h1, h2), char_start=h1, char_end=h2),
            dict(section_id=sec(2), doc_id=d, parent_id=None, level=1, label="二、", ordinal=2,
                 heading="主要任务", kind="body", text="", char_start=h2, char_end=len(text)),
            dict(section_id=sec(3), doc_id=d, parent_id=sec(2), level=2, label="（一）", ordinal=1,
                 heading="建设网络。", kind="body", text=body(h3, len(text)), char_start=h3, char_end=len(text)),
        ],
        "goals": [
            dict(goal_id=f"{d}-g0000", doc_id=d, section_id=sec(1), goal_type="overall", start_year=None,
                 target_year=2025, deadline_text="到2025年", statement=goal, extractor="to_year", **_offsets(text, goal)),
            dict(goal_id=f"{d}-g0001", doc_id=d, section_id=sec(1), goal_type="phase", start_year=2023,
                 target_year=2024, deadline_text="2023—2024年", statement=phase, extractor="phase_years",
                 **_offsets(text, phase)),
        ],
        "metrics": [dict(
            metric_id=f"{d}-m0000", doc_id=d, section_id=sec(1), indicator="全程网办率",
            subject="政务服务事项", value=90.0, value_max=None, unit="%", comparator=">=", measure="level",
            target_year=2025, is_target=True, value_text="90%", source_text=goal, extractor="sentence",
            **_offsets(text, goal))],
        "bandwidth_targets": [
            dict(bandwidth_id=f"{d}-b0000", doc_id=d, section_id=sec(3), network=None, bandwidth_mbps=10000,
                 bandwidth_label="万兆", admin_level="prefecture", admin_level_text="市", target_year=None,
                 source_text=net, extractor="levels_after", **_offsets(text, net)),
            dict(bandwidth_id=f"{d}-b0001", doc_id=d, section_id=sec(3), network=None, bandwidth_mbps=1000,
                 bandwidth_label="千兆", admin_level="county", admin_level_text="县", target_year=None,
                 source_text=net, extractor="levels_after", **_offsets(text, net)),
        ],
        "tasks": [dict(
            task_id=f"{d}-t0000", doc_id=d, section_id=sec(3), heading="建设网络。",
            lead_units=["省大数据局"], responsible_units=["各市人民政府"], supporting_units=[], source_text=task,
            extractor="bracket_roles", **_offsets(text, task))],
        "keywords": [dict(doc_id=d, term=t, weight=w, rank=i, extractor="tfidf") for i, (t, w) in
                     enumerate([("数字政府", 0.9), ("全程网办", 0.5), ("一体化平台", 0.3)], 1)],
        "attachments": [dict(attachment_id=f"{d}-a000", doc_id=d, kind="attachment", name="重点任务分工表", uri=None)],
        "repairs": [dict(doc_id=d, kind="script_conversion", count=1, examples=["體 → 体"])],
        "rejects": [dict(source_file="empty.txt", source_sha256=None, reason="empty", detail="0 bytes")],
        "parse_issues": [dict(issue_id=f"{d}-i0000", doc_id=d, stage="structure", kind="heading_numbering_gap",
                              message="the heading's number skips one at its level (二、)", text="二、主要任务",
                              **_offsets(text, "二、主要任务"))],
    }


def _offsets(text: str, fragment: str) -> dict[str, int]:
    start, end = span(text, fragment)
    return {"char_start": start, "char_end": end}


def tables_of(rows: dict[str, list[dict]]) -> dict[str, pa.Table]:
    return {name: schema(name).table(rows[name]) for name in TABLES}


def validate(rows: dict[str, list[dict]], *, of: tuple[str, ...] | None = None, **kw):
    """Every suite on the rows' tables; with ``of``, only the suites of those tables (their
    column rules, keys, row counts and links to the tables they refer to, all tables present).
    A test that breaks rows of one table changes what no other table's suite reads, so it runs
    the suites of that table (and ``test_the_invented_plan_passes_every_suite`` all of them)."""
    with suites_of(of):
        result = validate_tables(tables_of(rows), today=TODAY, **kw)
    assert of is None or set(result.suites) and {name.split(".")[0] for name in result.suites} <= set(of)
    return result


@contextlib.contextmanager
def suites_of(tables: tuple[str, ...] | None):
    """Within it, validations run only the suites of ``tables`` (every suite where None)."""
    if tables is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_mod, "build_suites", lambda schemas, today: {
            name: suite for name, suite in build_suites(schemas, today).items() if suite.table in tables})
        yield


def failed_rules(result) -> set[str]:
    return {f.split(": ", 1)[1].split(" failed", 1)[0] for f in result.failures if " failed (" in f}


@pytest.fixture(scope="module")
def good():
    return good_rows()


def broken(good, table: str, i: int = 0, **changes):
    rows = copy.deepcopy(good)
    rows[table][i].update(changes)
    return rows


# --- the good baseline and the seeds ----------------------------------------------------------


def test_the_invented_plan_passes_every_suite(good):
    result = validate(good)
    assert result.failures == []
    assert result.success
    assert set(result.suites) >= set(TABLES) | {"metrics.integrity", "documents.row_counts"}
    assert result.expectations == sum(result.suites.values()) > 250


def test_the_seeds_pass_every_suite(seed_rows):
    result = validate_tables(tables_of(seed_rows))
    assert result.failures == []


# --- each semantic rule, broken on one row --------------------------------------------------


def test_a_percent_of_150_fails_naming_rule_table_column_and_value(good):
    result = validate(broken(good, "metrics", value=150.0), of=("metrics",))
    assert not result.success
    (msg,) = [f for f in result.failures if "percent_within_0_100" in f]
    assert "metrics.value = 150.0 for unit %" in msg
    assert f"metric_id={good['metrics'][0]['metric_id']}" in msg
    assert "1 of 1 rows" in msg


def test_a_growth_of_150_percent_is_a_valid_change(good):
    result = validate(broken(good, "metrics", value=150.0, measure="change", value_text="150%"), of=("metrics",))
    assert result.success, result.failures


def test_150_of_another_unit_is_not_a_percent_failure(good):
    result = validate(broken(good, "metrics", value=150.0, unit="项", value_text="150项"), of=("metrics",))
    assert result.success, result.failures


def test_a_percent_range_end_above_100_fails(good):
    result = validate(broken(good, "metrics", value_max=120.0), of=("metrics",))
    assert "percent_within_0_100" in failed_rules(result)


def test_a_range_whose_upper_end_is_below_its_value_fails(good):
    result = validate(broken(good, "metrics", value_max=50.0), of=("metrics",))
    assert failed_rules(result) == {"value_max_not_below_value"}


def test_a_dangling_doc_id_fails_referential_integrity(good):
    result = validate(broken(good, "metrics", doc_id="0123456789abcdef"), of=("metrics",))
    msgs = [f for f in result.failures if "doc_id_exists_in_documents" in f]
    assert msgs and "metrics.doc_id = 0123456789abcdef" in msgs[0]


def test_every_table_referring_to_documents_is_checked(good):
    tables = ["sections", "goals", "bandwidth_targets", "tasks", "keywords", "attachments", "repairs"]
    rows = copy.deepcopy(good)
    for table in tables:  # one dangling row per table, each reported under its own table
        rows[table][-1]["doc_id"] = "feedfacefeedface"
    failures = validate(rows, of=tuple(tables)).failures
    for table in tables:
        assert any(f.startswith(f"{table}.integrity: doc_id_exists_in_documents") and
                   f"{table}.doc_id = feedfacefeedface" in f for f in failures), table


def test_a_dangling_section_id_fails(good):
    result = validate(broken(good, "goals", section_id="nope-0009"), of=("goals",))
    assert "section_id_exists_in_sections" in failed_rules(result)


def test_a_section_of_another_document_fails(good):
    rows = copy.deepcopy(good)
    other = good_rows(PLAN + "\n补充。", "other.txt")
    for table in rows:
        rows[table] += other[table] if table != "rejects" else []
    rows["goals"][0]["section_id"] = other["sections"][1]["section_id"]
    result = validate(rows, of=("goals",))
    assert "section_in_same_document" in failed_rules(result)


def test_an_orphan_parent_section_fails(good):
    result = validate(broken(good, "sections", 3, parent_id="nope-0002"), of=("sections",))
    assert "parent_id_exists_in_sections" in failed_rules(result)


def test_a_parent_section_not_one_level_up_fails(good):
    (msg,) = validate(broken(good, "sections", 3, level=3), of=("sections",)).failures
    assert "parent_one_level_up" in msg and "sections.level = 3, parent_level = 1" in msg


def test_a_start_year_after_the_target_year_fails(good):
    result = validate(broken(good, "goals", 1, start_year=2026), of=("goals",))
    (msg,) = [f for f in result.failures if "start_year_not_after_target_year" in f]
    assert "goals.target_year = 2024, start_year = 2026" in msg


def test_a_plan_period_ending_before_it_starts_fails(good):
    result = validate(broken(good, "documents", plan_start_year=2026), of=("documents",))
    assert "start_year_not_after_target_year" in failed_rules(result)


def test_an_implausible_year_fails(good):
    rows = broken(good, "metrics", target_year=2250)
    rows["goals"][0]["target_year"] = 1900
    msgs = [f for f in validate(rows, of=("metrics", "goals")).failures if "year_plausible" in f]
    assert len(msgs) == 2
    assert any("metrics.target_year = 2250" in m for m in msgs)
    assert any("goals.target_year = 1900" in m for m in msgs)


def test_an_offset_outside_the_text_fails(good):
    n = len(PLAN)
    result = validate(broken(good, "metrics", char_start=n - 2, char_end=n + 40), of=("metrics",))
    rules = failed_rules(result)
    assert "offsets_inside_text" in rules and "source_text_matches_offsets" in rules
    (msg,) = [f for f in result.failures if "offsets_inside_text" in f]
    assert f"char_end = {n + 40}" in msg and f"text_length = {n}" in msg


def test_source_text_not_at_its_offsets_fails(good):
    result = validate(broken(good, "tasks", char_start=good["tasks"][0]["char_start"] + 1,
                             char_end=good["tasks"][0]["char_end"] + 1), of=("tasks",))
    assert failed_rules(result) == {"source_text_matches_offsets"}


def test_a_goal_statement_not_at_its_offsets_fails(good):
    result = validate(broken(good, "goals", statement="到2025年，别的目标。"), of=("goals",))
    assert failed_rules(result) == {"statement_matches_offsets"}


def test_section_text_outside_its_span_fails(good):
    result = validate(broken(good, "sections", 1, text="不在这一节里的文字"), of=("sections",))
    assert failed_rules(result) == {"text_inside_span"}


def test_a_traditional_character_left_in_the_text_fails(good):
    text = PLAN.replace("数字政府建设方案的通知", "數字政府建設方案的通知")
    rows = good_rows(text)
    result = validate(rows, of=("documents",))
    (msg,) = [f for f in result.failures if "text_normalized" in f and "documents.text" in f]
    assert "'數'" in msg and "數字政府建設" in msg  # the offending character, with context


def test_a_traditional_character_in_a_title_fails(good):
    result = validate(broken(good, "documents", title="某省數字政府建設方案"), of=("documents",))
    assert "text_normalized" in failed_rules(result)


def test_mojibake_left_in_the_text_fails():
    rows = good_rows(PLAN.replace("附件：重点任务分工表", "附件：重点?。ㄒ唬┌任务分工表"))
    (msg,) = validate(rows).failures
    assert msg.startswith("documents: text_normalized failed") and "'?。'" in msg


def test_a_bandwidth_out_of_network_range_or_not_positive_fails(good):
    rows = broken(good, "bandwidth_targets", 0, bandwidth_mbps=10_000_000)  # 万兆 read as 万 × 千兆
    rows["bandwidth_targets"][1]["bandwidth_mbps"] = 0
    result = validate(rows, of=("bandwidth_targets",))
    assert failed_rules(result) == {"bandwidth_within_network_range", "bandwidth_positive"}
    (msg,) = [f for f in result.failures if "bandwidth_within_network_range" in f]
    assert "on 1 of 2 rows" in msg and "bandwidth_targets.bandwidth_mbps = 10000000, bandwidth_label = 万兆" in msg


def test_any_speed_a_text_states_in_a_network_unit_passes(good):
    rows = broken(good, "bandwidth_targets", 0, bandwidth_mbps=20_000, bandwidth_label="20G")
    rows["bandwidth_targets"][1].update(bandwidth_mbps=5000, bandwidth_label="5000M")
    assert validate(rows, of=("bandwidth_targets",)).success


def _rule(table: str, rule: str):
    (e,) = [e for e in build_suites(load_schemas(), TODAY)[table].expectations if e.meta["rule"] == rule]
    return e


def test_a_doc_number_not_shaped_like_a_fawen_zihao_fails(good):
    result = validate(broken(good, "documents", doc_number="某府发〔1800〕21号"), of=("documents",))
    (msg,) = result.failures
    assert "doc_number_shape" in msg and "documents.doc_number = 某府发〔1800〕21号" in msg


@pytest.mark.parametrize("number, ok", [
    ("国办发〔2022〕14号", True), ("桂政办发〔2021〕101号", True), ("黔府发〔2023〕21号", True),
    ("某府发〔2023〕第21号", False), ("某府发[2023]21号", False), ("某府发〔23〕21号", False),
    ("某府发〔1800〕21号", False), ("abc〔2023〕21号", False), ("〔2023〕21号", False),
])
def test_the_doc_number_shape(number, ok):
    import re

    assert bool(re.search(_rule("documents", "doc_number_shape").regex, number)) is ok


def test_an_issue_date_in_the_future_fails(good):
    result = validate(broken(good, "documents", issue_date=TODAY + dt.timedelta(days=30)), of=("documents",))
    (msg,) = [f for f in result.failures if "issue_date_not_in_future" in f]
    assert "documents.issue_date" in msg


def test_an_issue_date_of_today_passes(good):
    assert validate(broken(good, "documents", issue_date=TODAY), of=("documents",)).success


def test_a_document_without_sections_fails_the_row_count_rule(good):
    rows = copy.deepcopy(good)
    doc = good_rows(PLAN + "\n另一份。", "second.txt")["documents"][0]
    rows["documents"].append(doc)  # a second document whose sections are missing
    result = validate(rows, of=("documents",))
    (msg,) = [f for f in result.failures if "sections_per_document" in f]
    assert f"documents.doc_id = {doc['doc_id']} for sections 0" in msg


def _plans(n: int, with_goals: int) -> dict[str, list[dict]]:
    """n plan-length documents, the first ``with_goals`` of them with their goals."""
    rows: dict[str, list[dict]] = {t: [] for t in TABLES}
    for i in range(n):
        part = good_rows(PLAN + f"第{i}份。" + "（略）" * (PLAN_LENGTH // 3), f"plan{i}.txt")
        if i >= with_goals:
            part["goals"] = []
        for t in TABLES:
            rows[t] += part[t] if t != "rejects" else []
    return rows


def test_most_plans_without_goals_fail_but_one_may_lack_them():
    assert failed_rules(validate(_plans(4, with_goals=1), of=("documents", "goals"))) == {"goals_per_document"}
    assert validate(_plans(4, with_goals=3), of=("documents", "goals")).success


def test_a_duplicate_keeping_derived_rows_fails(good):
    rows = copy.deepcopy(good)
    dup = good_rows(PLAN + "\n", "copy.txt", good["documents"][0]["document_key"])
    original = good["documents"][0]["doc_id"]
    dup_id = file_document_id(original, dup["documents"][0]["source_sha256"])
    dup["documents"][0].update(doc_id=dup_id, duplicate_of=original)
    rows["documents"] += dup["documents"]
    rows["keywords"] += [dict(k, doc_id=dup_id) for k in dup["keywords"]]
    result = validate(rows, of=("documents", "keywords"))
    assert failed_rules(result) == {"duplicates_have_no_rows"}


def test_doc_id_must_derive_from_the_document_key(good):
    assert validate(broken(good, "documents", source_sha256="f" * 64), of=("documents",)).success  # the bytes are no part of it
    result = validate(broken(good, "documents", document_key="number:某省人民政府|某府发(2023)22号"), of=("documents",))
    assert "doc_id_from_document_key" in failed_rules(result)


def test_keyword_weights_and_ranks(good):
    assert "weight_positive" in failed_rules(validate(broken(good, "keywords", weight=0.0), of=("keywords",)))
    assert "rank_from_one" in failed_rules(validate(broken(good, "keywords", rank=0), of=("keywords",)))


# --- the contract from schemas/ -------------------------------------------------------------


def test_an_id_twice_fails_uniqueness(good):
    rows = copy.deepcopy(good)
    rows["tasks"].append(dict(rows["tasks"][0]))
    (msg,) = [f for f in validate(rows, of=("tasks",)).failures if "unique" in f]
    assert "tasks.task_id" in msg


def test_a_compound_primary_key_twice_fails(good):
    rows = copy.deepcopy(good)
    rows["keywords"].append(dict(rows["keywords"][0], rank=4))
    (msg,) = [f for f in validate(rows, of=("keywords",)).failures if "primary_key" in f]
    assert "数字政府" in msg


def test_a_null_in_a_non_nullable_column_fails(good):
    (msg,) = validate(broken(good, "metrics", indicator=None), of=("metrics",)).failures
    assert msg.startswith("metrics: not_null failed") and "metrics.indicator" in msg


def test_a_null_key_fails_not_null_although_uniqueness_ignores_nulls(good):
    result = validate(broken(good, "sections", 3, section_id=None), of=("sections",))
    assert "not_null" in failed_rules(result)


def test_a_value_outside_the_allowed_set_fails(good):
    (msg,) = validate(broken(good, "metrics", comparator="≥"), of=("metrics",)).failures
    assert "allowed_values" in msg and "metrics.comparator = ≥" in msg


def test_a_schema_pattern_is_enforced(good):
    result = validate(broken(good, "documents", source_sha256="XYZ"), of=("documents",))
    assert "pattern" in failed_rules(result)


def test_a_column_of_the_wrong_type_fails(good):
    tables = tables_of(good)
    goals = tables["goals"]
    i = goals.schema.get_field_index("target_year")
    tables["goals"] = goals.set_column(i, "target_year", goals.column(i).cast(pa.int64()))
    result = validate_tables(tables, today=TODAY)
    (msg,) = result.failures
    assert "type failed" in msg and "goals.target_year" in msg and "int64" in msg


def test_a_missing_column_and_a_missing_table_fail(good):
    tables = tables_of(good)
    tables["tasks"] = tables["tasks"].drop_columns(["heading", "char_start"])
    del tables["rejects"]
    result = validate_tables(tables, today=TODAY)
    assert "rejects: table missing (schemas/rejects.yaml defines it)" in result.failures
    assert any(f.startswith("tasks: columns failed") for f in result.failures)
    assert any(f.startswith("tasks.integrity: cannot derive the checked frame") for f in result.failures)


def test_suites_are_generated_from_the_schema_files(tmp_path):
    schema_dir = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schema_dir)
    spec = yaml.safe_load((schema_dir / "metrics.yaml").read_text(encoding="utf-8"))
    spec["columns"].append({"name": "source_page", "type": "int32", "nullable": False,
                            "allowed": [1, 2, 3], "description": "Page the value is printed on."})
    (schema_dir / "metrics.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    schemas = load_schemas(schema_dir)
    before = build_suites(load_schemas(), TODAY)["metrics"].expectations
    after = build_suites(schemas, TODAY)["metrics"].expectations
    new = [(e.expectation_type, e.meta["rule"]) for e in after if e.meta["column"] == "source_page"]
    assert sorted(new) == [("expect_column_values_to_be_in_set", "allowed_values"),
                           ("expect_column_values_to_be_of_type", "type"),
                           ("expect_column_values_to_not_be_null", "not_null")]
    assert len(after) == len(before) + 3
    (columns,) = [e for e in after if e.meta["rule"] == "columns"]
    assert columns.column_list[-1] == "source_page"


def test_tables_without_the_new_column_then_fail(tmp_path, good):
    schema_dir = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, schema_dir)
    spec = yaml.safe_load((schema_dir / "tasks.yaml").read_text(encoding="utf-8"))
    spec["columns"].append({"name": "due_date", "type": "date", "nullable": True, "description": "Due date."})
    (schema_dir / "tasks.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    result = validate_tables(tables_of(good), schemas=load_schemas(schema_dir), today=TODAY)
    assert "columns" in failed_rules(result)
    assert all(f.startswith("tasks: ") for f in result.failures)
    assert any("tasks.due_date" in f for f in result.failures)


def test_every_table_has_a_suite_with_every_column_typed():
    suites = build_suites(load_schemas(), TODAY)
    for name in TABLES:
        typed = {e.meta["column"] for e in suites[name].expectations if e.meta["rule"] == "type"}
        assert typed == set(schema(name).column_names), name


# --- character sets ---------------------------------------------------------------------------


def test_traditional_only_characters_come_from_opencc():
    trad = set(traditional_only_chars())
    assert len(trad) > 2000
    assert set("體數據實現設網絡關") <= trad
    # simplified characters, and characters t2s keeps inside a phrase (显著, 乾隆), are not flagged
    assert not set("体数据实现建设网络于著着干乾") & trad


def test_the_unnormalized_text_regex():
    import re

    rx = re.compile(unnormalized_text_regex())
    for bad in ["數字政府", "全程網辦", "\ufffd", "\ue000", "ㄅ", "┌──┐", "达到?。", "唬"]:
        assert rx.search(bad), bad
    for good in ["数字政府建设方案", "取得显著成效", "到2025年，达到90%。", "是否？。", "A?B"]:
        assert not rx.search(good), good


# --- messages, summary, Data Docs -------------------------------------------------------------


def test_the_summary_lists_suites_expectations_and_failures(good):
    result = validate(broken(good, "metrics", value=150.0), of=("metrics",))
    md = result.markdown()
    assert "FAILED" in md and "| metrics | " in md and "percent_within_0_100" in md
    assert f"{result.expectations} expectations" in md
    assert "passed" in validate(good).markdown()


def test_data_docs_are_written_and_reference_every_suite(tmp_path, good):
    docs = tmp_path / DOCS_DIR
    (docs / "stale").mkdir(parents=True)
    result = validate(broken(good, "metrics", value=150.0), docs_dir=docs)
    assert result.docs_index == docs / "index.html"
    index = result.docs_index.read_text(encoding="utf-8")
    for name in result.suites:
        assert name in index, name
        # GX files a dotted suite name (metrics.integrity) as a path (metrics/integrity.html)
        assert (docs / "expectations" / f"{name.replace('.', '/')}.html").exists(), name
    assert list((docs / "validations").rglob("*.html"))
    assert not (docs / "stale").exists()  # pages of an earlier validation do not linger
    summary = (docs / "summary.md").read_text(encoding="utf-8")
    assert "FAILED" in summary and "percent_within_0_100" in summary


# --- the validate command ------------------------------------------------------------------


def write_tables(out: Path, rows: dict[str, list[dict]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables_of(rows).items():
        pq.write_table(table, out / f"{name}.parquet")


def test_cli_validate_passes_on_good_tables(tmp_path, good, capsys):
    from flows.cli import main

    write_tables(tmp_path / "out", good)
    assert main(["validate", "--out", str(tmp_path / "out")]) == 0
    assert "expectations passed" in capsys.readouterr().out
    assert (tmp_path / "out" / DOCS_DIR / "index.html").exists()


def test_cli_validate_fails_with_the_same_messages(tmp_path, good, capsys):
    from flows.cli import main

    write_tables(tmp_path / "out", broken(good, "metrics", value=150.0))
    assert main(["validate", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "digigov validate failed: validation failed:" in err
    assert "metrics.value = 150.0 for unit %" in err
    assert f"Data Docs: {tmp_path / 'out' / DOCS_DIR / 'index.html'}" in err
    assert (tmp_path / "out" / DOCS_DIR / "index.html").exists()


def test_cli_validate_fails_on_a_missing_folder(tmp_path, capsys):
    from flows.cli import main

    assert main(["validate", "--out", str(tmp_path / "nope")]) == 1
    assert "does not exist" in capsys.readouterr().err


# --- scale ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_thousand_documents_validate_in_linear_time():
    rows: dict[str, list[dict]] = {t: [] for t in TABLES}
    body = "".join(f"（{i}）推进第{i}项工作，到2025年完成。\n" for i in range(1, 1500))  # ~30,000-character texts
    for n in range(1000):
        part = good_rows(PLAN.replace("二、主要任务", f"二、主要任务\n{body}第{n}号"), f"plan{n}.txt")
        for t in TABLES:
            rows[t] += part[t] if t != "rejects" else []
    result = validate_tables(tables_of(rows), today=TODAY)
    assert result.success, result.failures[:3]
    print(f"1000 documents: {result.expectations} expectations in {result.seconds:.1f} s")


# --- incremental runs: row-level suites on the checked documents only ---------------------------


def _two_documents(good):
    """The good plan plus a second, different plan (its own doc_id and ids)."""
    other = good_rows(PLAN.replace("某省人民政府\n2023年", "某省人民政府办公厅\n2023年"), "other.txt")
    rows = copy.deepcopy(good)
    for name in TABLES:
        rows[name] += [r for r in other[name] if name != "rejects"]
    return rows, good["documents"][0]["doc_id"], other["documents"][0]["doc_id"]


def test_rows_of_unchecked_documents_skip_row_rules_but_not_table_rules(good):
    rows, first, second = _two_documents(good)
    rows["metrics"][0]["value"] = 150.0  # a row-level failure in the first document
    assert "percent_within_0_100" in failed_rules(validate(rows, of=("metrics",)))
    result = validate(rows, checked_docs=[second])
    assert result.success, result.failures
    assert result.checked_documents == 1 and result.documents == 2
    assert "1 new or changed documents" in result.markdown()
    # uniqueness spans every row: a key of an unchecked document repeated by a checked one fails
    rows["tasks"][1]["task_id"] = rows["tasks"][0]["task_id"]
    (msg,) = validate(rows, checked_docs=[second]).failures
    assert msg.startswith("tasks.keys: unique failed") and "tasks.task_id" in msg


def test_checked_documents_get_every_row_rule_and_span_check(good):
    rows, first, second = _two_documents(good)
    rows["metrics"][1]["source_text"] = "到2025年，政务服务事项全程网办率达到91%。"  # its text says 90%
    failures = validate(rows, checked_docs=[second], of=("metrics",)).failures
    assert any(f.startswith("metrics.integrity: source_text_matches_offsets failed") for f in failures)
    assert validate(rows, checked_docs=[first], of=("metrics",)).success


def test_span_checks_of_checked_documents_measure_only_the_texts_they_read(good):
    """Checking some documents, the span checks take text lengths from those documents' texts:
    every document's text is decoded only for the rows-per-document suite, which may run in the
    other validation process."""
    from flows.gate.frames import DocumentTexts, integrity_frame

    rows, first, second = _two_documents(good)
    text = next(d["text"] for d in rows["documents"] if d["doc_id"] == second)
    mine = [i for i, m in enumerate(rows["metrics"]) if m["doc_id"] == second]
    rows["metrics"][mine[0]]["char_end"] = len(text) + 1  # past the end of its own text
    tables = tables_of(rows)
    texts = DocumentTexts(tables, pa.array([second]))
    frame = integrity_frame(load_schemas()["metrics"], tables, pa.array([second]), texts)
    assert list(frame["doc_id"].unique()) == [second]
    assert frame["offsets_inside_text"].tolist() == [i != mine[0] for i in mine]
    assert "length_rows" not in vars(texts)  # no document's text was decoded just to be measured
    assert texts.lengths.to_dict() == {second: len(text)}


def test_duplicate_links_and_rows_per_document_are_always_checked_in_full(good):
    rows, first, second = _two_documents(good)
    rows["documents"][0]["duplicate_of"] = "0" * 16  # points at no document (and keeps its rows)
    failures = validate(rows, checked_docs=[second]).failures
    # (and a duplicate's doc_id would be its file's: ids.file_document_id)
    assert {f.split(" failed")[0] for f in failures} == {
        "documents.integrity: duplicate_of_exists_in_documents", "documents.row_counts: duplicates_have_no_rows",
        "documents.integrity: doc_id_from_document_key"}
    rows, first, second = _two_documents(good)
    rows["sections"] = [s for s in rows["sections"] if s["doc_id"] != first]
    rows["goals"] = [g for g in rows["goals"] if g["doc_id"] != first]
    for name in ("metrics", "bandwidth_targets", "tasks"):
        rows[name] = [r for r in rows[name] if r["doc_id"] != first]
    failures = validate(rows, checked_docs=[second]).failures
    assert any(f.startswith("documents.row_counts: sections_per_document failed") for f in failures), failures


def test_link_lookups_agree_for_few_and_many_keys():
    import pyarrow as pa

    from flows.gate.frames import _exists, _looked_up

    ref = pa.table({"section_id": [f"s{i}" for i in range(100)] + ["s1"],
                    "doc_id": [f"d{i // 10}" for i in range(100)] + ["other"]})
    few = pa.chunked_array([["s1", None, "missing", "s99"]])  # 4 keys: the reference is filtered first
    many = pa.chunked_array([[f"s{i}" for i in range(0, 120, 3)] + [None]])  # 41 keys: hashed whole
    for keys in (few, many):
        expected_exists = [k is None or k in set(ref.column("section_id").to_pylist()) for k in keys.to_pylist()]
        assert _exists(keys, ref, "section_id").tolist() == expected_exists
        owners = {}
        for s, d in zip(ref.column("section_id").to_pylist(), ref.column("doc_id").to_pylist()):
            owners.setdefault(s, d)  # the first row wins where a key repeats
        assert _looked_up(keys, ref, "section_id", "doc_id").to_pylist() == [owners.get(k) for k in keys.to_pylist()]
    assert _looked_up(few, None, "section_id", "doc_id").to_pylist() == [None] * 4
    assert _exists(few, None, "section_id").tolist() == [False, True, False, False]  # only the null link holds


def test_configurations_built_once_changes_no_result(good, monkeypatch):
    from great_expectations.expectations.expectation import Expectation

    import flows.gate.quick_runs as quick_runs_mod

    rows = broken(good, "metrics", value=150.0)
    rows = broken(rows, "goals", target_year=2500)
    rows["sections"][1]["doc_id"] = "no-such-document"
    broken_tables = ("metrics", "goals", "sections")  # and only their suites run
    memoized = validate(rows, of=broken_tables)
    assert isinstance(Expectation.__dict__["configuration"], property)  # restored after each run
    monkeypatch.setattr(quick_runs_mod, "configurations_built_once", contextlib.nullcontext)
    plain = validate(rows, of=broken_tables)
    assert len(memoized.failures) >= 3 and memoized.failures == plain.failures
    assert (memoized.expectations, memoized.failed) == (plain.expectations, plain.failed)


@dataclass
class _PlainDefinition:
    """A suite run through GX's own ``ValidationDefinition.run``, as the gate ran it before
    ``flows/gate/lean_runs.py``: the definition checked against the stores and every result
    stored; a quick run's result removed when a detailed one replaces it; the standing ones
    HTML-escaped in the store (read back, escaped, stored again)."""

    context: Any
    definition: Any
    replaced: list = field(default_factory=list)

    @classmethod
    def of(cls, context, source, suite):
        import great_expectations as gx

        gx_suite = context.suites.add(gx.ExpectationSuite(name=suite.name, expectations=suite.expectations))
        batch = source.add_dataframe_asset(suite.name).add_batch_definition_whole_dataframe("staged")
        return cls(context, context.validation_definitions.add(gx.ValidationDefinition(name=suite.name, data=batch,
                                                                                       suite=gx_suite)))

    def run(self, frame, result_format):
        result = self.definition.run(batch_parameters={"dataframe": frame}, result_format=result_format)
        self.replaced.append(result.meta["run_id"])
        return result

    def keep(self, result):
        from flows.gate.data_docs import escaped

        store = self.context.validation_results_store
        for key in store.list_keys():
            if key.expectation_suite_identifier.name != result.suite_name or key.run_id not in self.replaced:
                continue
            if key.run_id != result.meta["run_id"]:
                store.remove_key(key)
                continue
            stored = store.get(key)
            for expectation_result in stored.results:
                expectation_result.result = escaped(expectation_result.result)
                expectation_result.exception_info = escaped(expectation_result.exception_info)
            store.set(key, stored)
        self.replaced.clear()


_RUN_TIME = re.compile(r"\d{8}T\d{6}\.\d{6}Z|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:\+00:00|Z)?"
                       r"|'_run_time_sort': [\d.]+|[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}")


def _page_texts(docs: Path) -> list[tuple[str, str]]:
    """Every Data Docs page (path, text), run times and GX's random element ids masked in both
    (so a suite's pages of several frames differ by their text only)."""
    return sorted((_RUN_TIME.sub("<t>", str(page.relative_to(docs))), _RUN_TIME.sub("<t>", page.read_text(encoding="utf-8")))
                  for page in docs.rglob("*.html") if "static" not in page.relative_to(docs).parts)


def test_lean_runs_give_the_results_and_data_docs_of_gx_validation_definitions(good, monkeypatch, tmp_path):
    """A suite run without GX's store bookkeeping (``LeanDefinition``), and GX's templates
    compiled once, change no failure, count or Data Docs page: the same invented failures (a
    hostile value among them, escaped) through ``ValidationDefinition.run``, in frames of a few
    rows (a suite's results over several frames, quick runs replaced by detailed ones)."""
    import flows.gate.data_docs_views as views_mod

    rows = broken(good, "metrics", value=150.0)
    rows = broken(rows, "goals", target_year=2500)
    rows["sections"][1]["doc_id"] = "<b>no-such-document</b>"
    broken_tables = ("metrics", "goals", "sections")  # and only their suites run
    monkeypatch.setattr("flows.gate.frames.FRAME_BYTES", 200)
    lean = validate(rows, of=broken_tables, docs_dir=tmp_path / "lean")
    lean_alone = validate(rows, of=broken_tables)
    monkeypatch.setattr(run_mod, "suite_definition", _PlainDefinition.of)
    monkeypatch.setattr(views_mod, "compiled_templates", lambda view: None)
    plain = validate(rows, of=broken_tables, docs_dir=tmp_path / "plain")
    plain_alone = validate(rows, of=broken_tables)
    assert len(plain.failures) >= 4
    for a, b in ((lean, plain), (lean_alone, plain_alone), (lean, lean_alone)):
        assert (a.failures, a.expectations, a.failed, a.systemic, a.document_failures) == \
            (b.failures, b.expectations, b.failed, b.systemic, b.document_failures)
    lean_pages, plain_pages = _page_texts(tmp_path / "lean"), _page_texts(tmp_path / "plain")
    assert [path for path, _ in lean_pages] == [path for path, _ in plain_pages]
    assert len(lean_pages) > 2 * len(lean.suites)  # index, suites' pages, and pages of several frames
    assert lean_pages == plain_pages
    assert any("&lt;b&gt;no-such-document" in text for _, text in lean_pages)  # quoted, escaped


def test_a_validation_without_data_docs_stores_nothing_in_gx_stores(good, monkeypatch):
    """Without Data Docs nothing reads GX's stores: no result, suite or validation definition
    is stored (with them, ``test_lean_runs_give_...`` shows what is)."""
    import flows.gate.gx_context as gx_context_mod

    contexts = []

    def kept(docs_dir):
        contexts.append(gx_context_mod.new_context(docs_dir))
        return contexts[-1]

    monkeypatch.setattr(run_mod, "new_context", kept)
    result = validate(broken(good, "metrics", value=150.0), of=("metrics",))
    assert not result.success
    (context,) = contexts
    assert context.validation_results_store.list_keys() == []
    assert context.expectations_store.list_keys() == []
    assert context.validation_definition_store.list_keys() == []


def test_data_docs_templates_are_compiled_once_per_process(good, monkeypatch, tmp_path):
    """GX makes a Jinja environment per view; a second validation with Data Docs compiles no
    template again (``flows/gate/compiled_templates.py``)."""
    from jinja2 import Environment

    validate(good, of=("metrics",), docs_dir=tmp_path / "first")
    compiled = []
    real = Environment.compile
    monkeypatch.setattr(Environment, "compile", lambda self, *a, **kw: compiled.append(a) or real(self, *a, **kw))
    validate(good, of=("metrics",), docs_dir=tmp_path / "second")
    assert (tmp_path / "second" / "index.html").exists() and compiled == []


def test_a_tables_rows_validated_in_slices_give_the_same_failures(good, monkeypatch, tmp_path):
    import pyarrow.parquet as pq

    import flows.gate.frames as frames_mod
    from flows.storage.staging import StagedTables

    rows = copy.deepcopy(good)
    for i in range(12):  # more rows, so that slices of a few rows hold failures in several of them
        rows["keywords"].append({**rows["keywords"][0], "term": f"词{i}", "rank": 100 + i,
                                 "weight": -1.0 if i % 5 == 0 else 0.5})
    whole = validate(rows)
    monkeypatch.setattr("flows.gate.frames.FRAME_BYTES", 200)  # a few rows per slice
    sliced = validate(rows)
    assert sliced.failures == whole.failures and (sliced.expectations, sliced.failed) == (whole.expectations, whole.failed)
    assert any(" on 3 of " in f for f in whole.failures), whole.failures  # counts added up over slices
    staged = tmp_path / "staged"
    staged.mkdir()
    for name, table in tables_of(rows).items():  # several row groups, read a slice at a time
        pq.write_table(table, staged / f"{name}.parquet", row_group_size=4)
    from_files = validate_tables(StagedTables(staged, list(tables_of(rows))), today=TODAY)
    assert from_files.failures == whole.failures
    parts = list(frames_mod.row_slices(StagedTables(staged, ["keywords"]), "keywords"))
    assert len(parts) > 3 and sum(p.num_rows for p in parts) == len(rows["keywords"])


def test_staged_tables_answer_membership_without_reading_a_table(good, monkeypatch, tmp_path):
    import pyarrow.parquet as pq

    from flows.storage.staging import StagedTables

    for name, table in tables_of(good).items():
        pq.write_table(table, tmp_path / f"{name}.parquet")
    staged = StagedTables(tmp_path, [*tables_of(good), "not_written"])
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: pytest.fail("membership read a table"))
    assert "documents" in staged and "not_written" not in staged and "nope" not in staged
    assert ("documents" in staged) == ("documents" in dict.fromkeys(staged))


# --- staged tables of an incremental run: only the row groups holding checked documents ----------


def _six_documents(good):
    """Six invented plans (their own doc_ids and ids), for tables of several row groups."""
    rows = copy.deepcopy(good)
    for i in range(1, 6):
        other = good_rows(PLAN.replace("某省人民政府\n2023年", f"某省人民政府第{i}办公室\n2023年"), f"plan{i}.txt")
        for name in TABLES:
            rows[name] += [r for r in other[name] if name != "rejects"]
    return rows, [d["doc_id"] for d in rows["documents"]]


@pytest.fixture
def staged_six(good, tmp_path, monkeypatch):
    """The six documents' tables as Parquet files of one document per row group (documents)
    or a few rows per group, and a record of the row groups decoded beyond doc_id."""
    from flows.storage.staging import StagedTables

    rows, ids = _six_documents(good)
    folder = tmp_path / "staged"
    folder.mkdir()
    for name, table in tables_of(rows).items():
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=1 if name == "documents" else 4)
    decoded: list[int] = []  # row groups read for more than their doc_id column
    read_row_group = pq.ParquetFile.read_row_group

    def recording(self, i, columns=None, **kw):
        if columns != ["doc_id"]:
            decoded.append(i)
        return read_row_group(self, i, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", recording)
    return rows, ids, StagedTables(folder, list(TABLES)), decoded


def test_staged_select_decodes_only_row_groups_with_checked_documents(staged_six):
    rows, ids, staged, decoded = staged_six
    for checked, groups in (([ids[2]], [2]), ([ids[5]], [5]), ([ids[1], ids[4]], [1, 4]), ([], [])):
        decoded.clear()
        docs = staged.select("documents", ["doc_id", "text"], pa.array(checked, pa.string()))
        assert docs.column("doc_id").to_pylist() == checked and docs.column_names == ["doc_id", "text"]
        assert decoded == groups
    # a column list without doc_id still filters by it; rows of every group come in file order
    tasks = staged.select("tasks", ["task_id"], pa.array([ids[5], ids[0]], pa.string()))
    assert tasks.column_names == ["task_id"]
    assert tasks.column("task_id").to_pylist() == [t["task_id"] for t in rows["tasks"] if t["doc_id"] in (ids[0], ids[5])]
    # no checked documents given: every row; a table without doc_id: every row whatever is checked
    assert staged.select("sections", ["section_id"]).num_rows == len(rows["sections"])
    assert staged.select("rejects", ["source_file"], pa.array([ids[0]], pa.string())).num_rows == 1


def test_staged_row_slices_give_checked_rows_and_always_one_slice(staged_six):
    from flows.gate.frames import row_slices

    rows, ids, staged, decoded = staged_six
    parts = list(row_slices(staged, "sections", 10**9, pa.array([ids[3]], pa.string())))
    assert len(parts) == 1 and parts[0].column("section_id").to_pylist() == [
        s["section_id"] for s in rows["sections"] if s["doc_id"] == ids[3]]
    # none checked: one empty slice with the table's schema (the suite still sees its columns)
    (empty,) = row_slices(staged, "sections", 10**9, pa.array([], pa.string()))
    assert empty.num_rows == 0 and empty.schema.names == schema("sections").column_names
    # small slices: the checked rows are split but all there, in order
    parts = list(row_slices(staged, "sections", 1, pa.array([ids[0], ids[5]], pa.string())))
    assert len(parts) > 1 and [s for p in parts for s in p.column("section_id").to_pylist()] == [
        s["section_id"] for s in rows["sections"] if s["doc_id"] in (ids[0], ids[5])]
    # tables in memory give the same rows
    in_memory = row_slices(tables_of(rows), "sections", 10**9, pa.array([ids[0], ids[5]], pa.string()))
    assert pa.concat_tables(in_memory).column("section_id").to_pylist() == [
        s for p in parts for s in p.column("section_id").to_pylist()]


def test_staged_text_lengths_are_read_a_row_group_at_a_time(staged_six):
    rows, ids, staged, decoded = staged_six
    decoded.clear()
    lengths = staged.text_lengths("documents", ["doc_id", "duplicate_of"], "text")
    assert lengths.column_names == ["doc_id", "duplicate_of", "text_length"]
    assert lengths.column("text_length").to_pylist() == [len(d["text"]) for d in rows["documents"]]
    assert decoded == list(range(6))  # one group at a time, each once


def test_staged_validation_of_checked_documents_matches_validation_in_memory(staged_six, tmp_path):
    from flows.storage.staging import StagedTables

    rows, ids, _, _ = staged_six
    rows["metrics"][0]["value"] = 150.0  # a row-level failure in the first document
    rows["metrics"][5]["source_text"] = "到2025年，政务服务事项全程网办率达到91%。"  # the sixth's text says 90%
    folder = tmp_path / "broken"
    folder.mkdir()
    for name, table in tables_of(rows).items():
        pq.write_table(table, folder / f"{name}.parquet", row_group_size=1 if name == "documents" else 4)
    # a document in the middle (its rows pass), the first and last groups' (theirs fail), none;
    # the suites of the documents (a row group each), of the broken table and of the sections
    # (their spans are checked against the texts of the checked documents)
    tables = ("documents", "metrics", "sections")
    for checked, success in (([ids[2]], True), ([ids[0], ids[5]], False), ([], True)):
        in_memory = validate(rows, checked_docs=checked, of=tables)
        with suites_of(tables):
            staged = validate_tables(StagedTables(folder, list(TABLES)), today=TODAY, checked_docs=checked)
        assert staged.success is in_memory.success is success, checked
        assert staged.failures == in_memory.failures, checked
        assert (staged.expectations, staged.failed, staged.checked_documents) == (
            in_memory.expectations, in_memory.failed, in_memory.checked_documents)
        if not success:
            assert failed_rules(staged) == {"percent_within_0_100", "source_text_matches_offsets"}, staged.failures


@pytest.fixture(scope="module")
def staged_with_failures(good, tmp_path_factory):
    """Staged files with failures in a cross-table frame, a span check and a table's own suite,
    and their validation in one process."""
    from flows.storage.staging import StagedTables

    rows = copy.deepcopy(good)
    rows["goals"][0]["section_id"] = "nope-0009"  # goals.integrity
    rows["tasks"][0]["char_start"] += 1  # tasks.integrity: a span check, on the documents' texts
    rows["keywords"][0]["weight"] = -1.0  # the table's own suite, validated here
    staged = tmp_path_factory.mktemp("staged")
    for name, table in tables_of(rows).items():
        pq.write_table(table, staged / f"{name}.parquet")
    here = validate_tables(StagedTables(staged, list(TABLES)), today=TODAY)
    assert {"section_id_exists_in_sections", "source_text_matches_offsets", "weight_positive"} <= failed_rules(here)
    return staged, here


@pytest.fixture
def helper_at_any_size(monkeypatch):
    """The helper process for these small invented tables too (it starts from HELPER_MIN_BYTES)."""
    monkeypatch.setattr(run_mod, "HELPER_MIN_BYTES", 0)


def test_small_staged_tables_derive_their_frames_here_and_larger_ones_in_the_helper(good, tmp_path, monkeypatch):
    from flows.storage.staging import StagedTables

    started = []

    def not_started(self, *args):  # what validate_tables does where no process can start: derive here
        started.append(args)
        raise OSError("no helper process in this test")

    monkeypatch.setattr(run_mod.HelperFrames, "__init__", not_started)
    staged = tmp_path / "staged"
    staged.mkdir()
    for name, table in tables_of(good).items():
        pq.write_table(table, staged / f"{name}.parquet")
    tables = StagedTables(staged, list(TABLES))
    assert 0 < tables.nbytes() < run_mod.HELPER_MIN_BYTES
    assert validate_tables(tables, today=TODAY, helper=True).success and started == []
    monkeypatch.setattr(run_mod, "HELPER_MIN_BYTES", tables.nbytes())  # as large as the threshold
    assert validate_tables(tables, today=TODAY, helper=True).success and len(started) == 1


def test_frames_derived_in_a_helper_process_give_the_same_results(staged_with_failures, helper_at_any_size):
    """A full validation of staged files derives the cross-table frames in a helper process:
    every suite, expectation count and failure message is the same as in one process."""
    from flows.storage.staging import StagedTables

    staged, here = staged_with_failures
    helped = validate_tables(StagedTables(staged, list(TABLES)), today=TODAY, helper=True)
    assert sorted(helped.failures) == sorted(here.failures)
    assert (helped.suites, helped.failed, helped.expectations) == (here.suites, here.failed, here.expectations)


def test_a_frame_the_helper_cannot_derive_fails_its_suite(good, tmp_path, helper_at_any_size):
    import pyarrow.parquet as pq

    from flows.storage.staging import StagedTables

    staged = tmp_path / "staged"
    staged.mkdir()
    for name, table in tables_of(good).items():
        if name == "sections":  # without its offsets, no span check can be derived
            table = table.drop_columns(["char_start"])
        pq.write_table(table, staged / f"{name}.parquet")
    result = validate_tables(StagedTables(staged, list(TABLES)), today=TODAY, helper=True)
    assert any(f.startswith("sections.integrity: cannot derive the checked frame") for f in result.failures), result.failures
    assert not result.success


def test_a_lost_helper_process_only_moves_the_frames_here(staged_with_failures, monkeypatch, helper_at_any_size):
    """The helper killed (out of memory, say) before it sends its frames: they are derived in
    this process, and the result is the same."""
    from flows.gate import run as validate_mod
    from flows.storage.staging import StagedTables

    staged, here = staged_with_failures
    started = validate_mod.HelperFrames.__init__
    killed = []

    def start_then_kill(self, *args):
        started(self, *args)
        for process in list(self._pool._processes.values()):
            process.kill()
            killed.append(process.pid)

    monkeypatch.setattr(validate_mod.HelperFrames, "__init__", start_then_kill)
    helped = validate_tables(StagedTables(staged, list(TABLES)), today=TODAY, helper=True)
    assert killed
    assert sorted(helped.failures) == sorted(here.failures) and helped.failed == here.failed


def test_a_suite_reads_no_table_but_those_it_waits_for(good, tmp_path):
    """While a build is being staged, a suite is run once the tables of ``suite_reads`` are
    written: its frames must never read another (it would wait for it, or fail)."""
    import pyarrow.parquet as pq

    from flows.compare.views import derived_rows
    from flows.contract.schema import PUBLISHED_TABLES, schema
    from flows.gate.frames import DocumentTexts, build_frames, suite_reads
    from flows.storage.staging import StagedTables

    for name, table in tables_of(good).items():
        pq.write_table(table, tmp_path / f"{name}.parquet")
    tables = tables_of(good)
    for name, rows in derived_rows(tables["documents"].to_pylist(), tables["metrics"].to_pylist(),
                                   tables["bandwidth_targets"].to_pylist()).items():
        pq.write_table(schema(name).table(rows), tmp_path / f"{name}.parquet")
    schemas = load_schemas()
    checked = pa.array([good["documents"][0]["doc_id"]])
    for checked_docs in (None, checked):
        for name, suite in build_suites(schemas, TODAY).items():
            read: set[str] = set()
            staged = StagedTables(tmp_path, PUBLISHED_TABLES, ready=read.add)
            list(build_frames(suite, schemas, staged, checked_docs, DocumentTexts(staged, checked_docs)))
            assert read and read <= suite_reads(suite, schemas), (name, read - suite_reads(suite, schemas))


def test_a_failing_frame_is_run_again_in_detail_and_only_that_run_is_documented(good, tmp_path):
    result = validate(broken(good, "metrics", value=150.0), docs_dir=tmp_path / "docs", of=("metrics", "goals"))
    (message,) = [f for f in result.failures if f.startswith("metrics:")]
    assert "metrics.value = 150.0 for unit %" in message  # the detailed run's offending row
    pages = list((tmp_path / "docs" / "validations" / "metrics").glob("__none__/*/*.html"))  # not metrics.keys' pages
    assert len(pages) == 1, pages  # the quick run's result left the store
    assert "150" in pages[0].read_text(encoding="utf-8")
    passing = list((tmp_path / "docs" / "validations" / "goals").glob("__none__/*/*.html"))
    assert len(passing) == 1


def _pages(docs: Path) -> list[str]:
    """The Data Docs pages; a validation page by its suite (its path holds the run's time)."""
    pages = []
    for page in docs.rglob("*.html"):
        parts = page.relative_to(docs).parts
        if parts[0] == "validations":
            parts = parts[:parts.index("__none__")]
        pages.append("/".join(parts))
    return sorted(pages)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_suites_shared_with_a_fork_give_the_same_results_and_data_docs(staged_with_failures, tmp_path, monkeypatch):
    """The validation process shares the suites, then the Data Docs pages, with a fork of
    itself: the same failures in the same order, the same counts, and Data Docs with every
    suite's pages (the fork's results reach this process's stores), one validation page per
    suite, all on the index."""
    from flows.gate import run as validate_mod
    from flows.storage.staging import StagedTables

    staged, here = staged_with_failures
    monkeypatch.setattr(validate_mod, "_can_fork", lambda: False)
    alone = validate_tables(StagedTables(staged, list(TABLES)), tmp_path / "alone", today=TODAY, fork_worker=True)
    monkeypatch.setattr(validate_mod, "_can_fork", lambda: True)  # this process runs pytest's threads too
    pids = tmp_path / "pids"
    import flows.gate.two_cores as two_cores_mod
    for module, name in ((two_cores_mod, "_fork_worker"), (validate_mod, "_render_pages")):
        real = getattr(module, name)

        def recorded(*args, _real=real, _name=name):
            with pids.open("a") as f:
                f.write(f"{_name} {os.getpid()}\n")
            return _real(*args)

        monkeypatch.setattr(module, name, recorded)
    shared = validate_tables(StagedTables(staged, list(TABLES)), tmp_path / "shared", today=TODAY, fork_worker=True)
    calls = [line.split() for line in pids.read_text().splitlines()]
    assert {pid for name, pid in calls if name == "_fork_worker"} - {str(os.getpid())}  # validated in a fork
    assert len({pid for name, pid in calls if name == "_render_pages"}) == 2  # pages rendered here and in a fork
    assert shared.failures == alone.failures == here.failures
    assert (shared.suites, shared.failed, shared.expectations) == (here.suites, here.failed, here.expectations)
    assert _pages(tmp_path / "shared") == _pages(tmp_path / "alone")
    validation_pages = list((tmp_path / "shared" / "validations").rglob("*.html"))
    assert len(validation_pages) == len(shared.suites)
    index = (tmp_path / "shared" / "index.html").read_text(encoding="utf-8")
    assert all(name in index for name in shared.suites)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_suites_the_fork_took_but_never_reported_are_validated_here(staged_with_failures, monkeypatch, caplog):
    """The fork dies after taking suites (killed, out of memory): this process validates what
    it did not report, and the result is the same."""
    from flows.gate import run as validate_mod
    from flows.storage.staging import StagedTables

    staged, here = staged_with_failures

    def dies_after_taking_two(run, claim, n, context, writer):
        claim(), claim()
        os._exit(3)

    monkeypatch.setattr(validate_mod, "_can_fork", lambda: True)
    monkeypatch.setattr("flows.gate.two_cores._fork_worker", dies_after_taking_two)
    with caplog.at_level("WARNING", logger="flows.gate.run"):
        shared = validate_tables(StagedTables(staged, list(TABLES)), today=TODAY, fork_worker=True)
    assert shared.failures == here.failures and shared.failed == here.failed
    assert "validation fork lost (exit code 3): 2 suites validated here" in caplog.text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_data_docs_pages_a_lost_fork_did_not_render_are_rendered_here(good, tmp_path, monkeypatch, caplog):
    from flows.gate import run as validate_mod
    monkeypatch.setattr(validate_mod, "_can_fork", lambda: True)
    parent, real = os.getpid(), validate_mod._render_pages

    def dies_in_the_fork(context, keys):
        if os.getpid() != parent:
            os._exit(5)
        real(context, keys)

    monkeypatch.setattr(validate_mod, "_render_pages", dies_in_the_fork)
    with caplog.at_level("WARNING", logger="flows.gate.run"):
        result = validate(good, docs_dir=tmp_path / "docs")
    assert "Data Docs fork lost (exit code 5)" in caplog.text
    assert len(list((tmp_path / "docs" / "validations").rglob("*.html"))) == len(result.suites)
    assert len(list((tmp_path / "docs" / "expectations").rglob("*.html"))) == len(result.suites)
    index = (tmp_path / "docs" / "index.html").read_text(encoding="utf-8")
    assert all(name in index for name in result.suites)


def test_a_validation_leaves_no_thread_that_would_keep_its_process_from_forking(good):
    """GX's (disabled) progress bars would start tqdm's monitor thread: the validation process,
    which must run no other thread to fork (``_can_fork``), would then render its Data Docs alone."""
    import threading

    validate(good)
    assert not [t.name for t in threading.enumerate() if "tqdm" in t.name or "monitor" in t.name.lower()]
