"""Repair records shared by the normalization modules (one ``Repair`` per kind per document)."""

from __future__ import annotations

from dataclasses import dataclass, field

EXAMPLE_LIMIT = 5
EXAMPLE_WIDTH = 60  # characters of context kept per side of an example


@dataclass
class Repair:
    kind: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, before: str, after: str, limit: int = EXAMPLE_LIMIT, n: int = 1) -> None:
        self.count += n
        if len(self.examples) < limit:
            self.examples.append(f"{before[:EXAMPLE_WIDTH]} → {after[:EXAMPLE_WIDTH]}")


class RepairLog:
    """Repairs of one document, by kind, in the order they were first made."""

    def __init__(self) -> None:
        self.by_kind: dict[str, Repair] = {}

    def add(self, kind: str, before: str, after: str, n: int = 1) -> None:
        self._repair(kind).add(before, after, n=n)

    def count_only(self, kind: str, n: int) -> None:
        self._repair(kind).count += n

    def _repair(self, kind: str) -> Repair:
        """The kind's record, made on its first repair (``setdefault`` would build a Repair on
        every call: a document logs hundreds of repairs of a few kinds)."""
        rep = self.by_kind.get(kind)
        if rep is None:
            rep = self.by_kind[kind] = Repair(kind)
        return rep

    def merge(self, other: "RepairLog") -> None:
        for kind, rep in other.by_kind.items():
            mine = self.by_kind.setdefault(kind, Repair(kind))
            mine.count += rep.count
            for ex in rep.examples:
                if len(mine.examples) < EXAMPLE_LIMIT and ex not in mine.examples:
                    mine.examples.append(ex)

    def count(self, kind: str) -> int:
        rep = self.by_kind.get(kind)
        return rep.count if rep else 0

    def as_list(self) -> list[Repair]:
        return [r for r in self.by_kind.values() if r.count > 0]
