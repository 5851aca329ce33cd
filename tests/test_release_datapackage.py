"""datapackage.json and the data dictionary, on invented schemas and tables (no seeds, no Prefect)."""

from __future__ import annotations

import hashlib
import json

import pyarrow.parquet as pq
import pytest

from flows.contract.datapackage import (
    MISSING_VALUES, field_descriptor, json_field_type, package_descriptor, pattern_body, resource_descriptor,
    table_schema_descriptor, validate_datapackage, write_datapackage,
)
from flows.contract.dictionary import column_constraints, data_dictionary, md_cell, md_table, table_section
from flows.contract.schema import Column, parse_schema

PARENT = parse_schema({
    "name": "plans", "description": "Invented plans.", "primary_key": ["plan_id"],
    "columns": [
        {"name": "plan_id", "type": "string", "nullable": False, "unique": True, "description": "Plan id."},
        {"name": "code", "type": "string", "nullable": True, "pattern": "^[A-Z]{2}-\\d+$", "description": "Code | with pipe."},
        {"name": "tags", "type": "list<string>", "nullable": True, "description": "Tags."},
        {"name": "extra", "type": "json", "nullable": False, "description": "JSON list."},
        {"name": "issued", "type": "date", "nullable": True, "description": "Issue date."},
    ],
})
CHILD = parse_schema({
    "name": "targets", "description": "Invented targets.", "primary_key": ["target_id"],
    "foreign_keys": [{"fields": ["plan_id"], "reference": {"resource": "plans", "fields": ["plan_id"]}}],
    "columns": [
        {"name": "target_id", "type": "string", "nullable": False, "unique": True, "description": "Target id."},
        {"name": "plan_id", "type": "string", "nullable": False, "description": "Plan."},
        {"name": "level", "type": "int32", "nullable": True, "allowed": [1, 2, 3], "description": "Level."},
        {"name": "value", "type": "float64", "nullable": False, "description": "Value."},
        {"name": "is_target", "type": "bool", "nullable": False, "description": "Target or baseline."},
        {"name": "note", "type": "string", "nullable": False, "description": "May be empty."},
    ],
})


def write_package(tmp_path, plans, targets):
    resources = []
    for table, rows in ((PARENT, plans), (CHILD, targets)):
        arrow = table.table(rows)
        path = tmp_path / f"{table.name}.parquet"
        pq.write_table(arrow, path)
        data = path.read_bytes()
        json_types = {c.name: json_field_type(arrow.column(c.name).to_pylist()) for c in table.columns if c.type == "json"}
        resources.append(resource_descriptor(table, path.name, len(data), hashlib.sha256(data).hexdigest(),
                                             arrow.num_rows, json_types))
    descriptor = package_descriptor(version="1.0.0", created="2026-11-22T00:00:00Z", title="t", description="d",
                                    licence={"name": "CC-BY-4.0", "path": "https://creativecommons.org/licenses/by/4.0/"},
                                    resources=resources, sources=[{"title": "a.txt"}])
    write_datapackage(tmp_path / "datapackage.json", descriptor)
    return tmp_path / "datapackage.json"


def _plan(pid, **kw):
    import datetime as dt

    return {"plan_id": pid, "code": "AB-1", "tags": ["x", "y"], "extra": '[{"k": 1}]', "issued": dt.date(2023, 1, 2), **kw}


def _target(tid, pid, **kw):
    return {"target_id": tid, "plan_id": pid, "level": None, "value": 1.5, "is_target": True, "note": "", **kw}


def test_valid_tables_with_nulls_lists_json_and_empty_strings_pass(tmp_path):
    path = write_package(tmp_path, [_plan("p1"), _plan("p2", code=None, tags=[], issued=None)],
                         [_target("t1", "p1", level=2), _target("t2", "p2", is_target=False)])
    assert validate_datapackage(path) == (True, [])


@pytest.mark.parametrize("plans,targets,expected", [
    ([_plan("p1")], [_target("t1", "nope")], "foreign key"),
    ([_plan("p1"), _plan("p1")], [], "unique"),
    ([_plan("p1", code="bad code")], [], "pattern"),
    ([_plan("p1")], [_target("t1", "p1", level=7)], "enum"),
])
def test_frictionless_catches_broken_tables(tmp_path, plans, targets, expected):
    valid, problems = validate_datapackage(write_package(tmp_path, plans, targets))
    assert not valid and any(expected in p for p in problems), problems


def test_a_descriptor_that_misstates_a_type_fails(tmp_path):
    path = write_package(tmp_path, [_plan("p1")], [])
    dp = json.loads(path.read_text())
    next(f for f in dp["resources"][0]["schema"]["fields"] if f["name"] == "extra")["type"] = "object"
    path.write_text(json.dumps(dp))
    valid, problems = validate_datapackage(path)
    assert not valid and any("type" in p for p in problems), problems


def test_field_descriptors_follow_the_schema():
    fields = {f["name"]: f for f in table_schema_descriptor(PARENT, {"extra": "array"})["fields"]}
    assert fields["plan_id"] == {"name": "plan_id", "type": "string", "description": "Plan id.",
                                 "constraints": {"required": True, "unique": True}}
    assert fields["code"]["constraints"] == {"pattern": "[A-Z]{2}-\\d+"}
    assert fields["tags"]["type"] == "any" and fields["tags"]["digigovType"] == "list<string>"
    assert fields["extra"]["type"] == "array" and fields["issued"]["type"] == "date"
    child = table_schema_descriptor(CHILD)
    assert child["primaryKey"] == ["target_id"] and child["missingValues"] == MISSING_VALUES and "" not in MISSING_VALUES
    assert child["foreignKeys"] == [{"fields": ["plan_id"], "reference": {"resource": "plans", "fields": ["plan_id"]}}]
    level = field_descriptor(Column("level", "int32", True, "Level.", allowed=(1, 2)))
    assert level["type"] == "integer" and level["constraints"] == {"enum": [1, 2]}


@pytest.mark.parametrize("values,expected", [
    (['[1]', '[]', None], "array"), (['{"a": 1}'], "object"), (['[1]', '{"a": 1}'], "any"), ([], "any"), (['3'], "any"),
])
def test_json_field_type(values, expected):
    assert json_field_type(values) == expected


@pytest.mark.parametrize("pattern,body", [("^a$", "a"), ("a", "a"), ("^a\\$", "a\\$"), ("^\\S+号$", "\\S+号")])
def test_pattern_body_drops_only_anchors(pattern, body):
    assert pattern_body(pattern) == body


# --- data dictionary --------------------------------------------------------------------------------

def test_markdown_cells_escape_pipes_and_newlines():
    assert md_cell("a|b\nc") == "a\\|b c"
    table = md_table(["x", "y"], [("1|2", None)])
    assert table.splitlines() == ["| x | y |", "|---|---|", "| 1\\|2 | None |"]


def test_table_section_lists_keys_rows_and_every_column():
    text = table_section(CHILD, rows=4)
    assert text.startswith("### `targets`\n\nInvented targets.")
    assert "Rows: 4. Primary key: target_id. Foreign keys: (plan_id) → plans(plan_id)." in text
    assert "| `level` | int32 | nullable; one of `1`, `2`, `3` | Level. |" in text
    assert "| `note` | string | required | May be empty. |" in text
    assert column_constraints(PARENT.column("code")) == "nullable; pattern `^[A-Z]{2}-\\d+$`"
    both = data_dictionary({"plans": PARENT, "targets": CHILD}, {"plans": 2})
    assert "Rows: 2." in both and "Code \\| with pipe." in both and both.index("`plans`") < both.index("`targets`")


def test_descriptor_is_plain_json(tmp_path):
    path = write_package(tmp_path, [_plan("p1")], [])
    dp = json.loads(path.read_text())
    assert dp["$schema"].endswith("/2.0/datapackage.json") and dp["resources"][0]["hash"].startswith("sha256:")
