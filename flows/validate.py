"""Validate: check staged tables against the contract before they are published.

The Great Expectations suites (issue 6) build on this; ``check_contract`` is the minimal gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from flows.schema import schema


@dataclass
class ValidationResult:
    success: bool
    failures: list[str] = field(default_factory=list)
    expectations: int = 0


def check_contract(tables: dict[str, pa.Table]) -> ValidationResult:
    failures = []
    n = 0
    for name, table in tables.items():
        expected = schema(name).arrow_schema()
        n += 1
        if not table.schema.equals(expected, check_metadata=False):
            failures.append(f"{name}: schema differs from schemas/{name}.yaml")
    return ValidationResult(success=not failures, failures=failures, expectations=n)
