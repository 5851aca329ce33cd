"""Publishing survives a crash between any two of its steps (simulated by failing the next one)."""

from __future__ import annotations

import hashlib
import os

import pytest

import flows.storage.publish as write
from flows.contract.schema import schema
from flows.storage.publish import clean_stale, current_build, new_build_dir, publish, write_build


def _tables(n):
    return {"rejects": schema("rejects").table(
        [{"source_file": f"{i}.txt", "reason": "empty", "detail": ""} for i in range(n)])}


def _published(out):
    return hashlib.sha256((out / "rejects.parquet").read_bytes()).hexdigest(), os.readlink(out / ".current")


def _build(out, n):
    b = new_build_dir(out)
    write_build(_tables(n), b, {"n": n})
    return b


class Killed(BaseException):
    pass


@pytest.mark.parametrize("fail_at", ["rename", "symlink", "replace"])
def test_a_crash_inside_publish_leaves_the_old_tables_and_is_cleaned_up(tmp_path, monkeypatch, fail_at):
    publish(_build(tmp_path, 1), tmp_path, ["rejects"])
    publish(_build(tmp_path, 2), tmp_path, ["rejects"])
    before = _published(tmp_path)
    staged = _build(tmp_path, 3)
    real = {"rename": os.rename, "symlink": os.symlink, "replace": os.replace}
    calls = {"n": 0}

    def crash_on_current(*args, **kwargs):
        # let earlier steps run; die on the step that would touch .current (or the build's rename)
        if fail_at == "rename" or ".current" in str(args[-1]) or ".current" in str(args[0]):
            raise Killed()
        calls["n"] += 1
        return real[fail_at](*args, **kwargs)

    monkeypatch.setattr(write.os, fail_at, crash_on_current)
    with pytest.raises(Killed):
        publish(staged, tmp_path, ["rejects"])
    monkeypatch.undo()
    assert _published(tmp_path) == before
    removed = clean_stale(tmp_path)
    assert _published(tmp_path) == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert not leftovers and removed
    assert {p.resolve() for p in (tmp_path / ".builds").iterdir()} == {current_build(tmp_path), (tmp_path / ".previous").resolve()}


def test_previous_build_is_kept_and_older_ones_removed(tmp_path):
    builds = []
    for n in range(1, 4):
        builds.append(publish(_build(tmp_path, n), tmp_path, ["rejects"]))
    clean_stale(tmp_path)
    assert sorted(p.name for p in (tmp_path / ".builds").iterdir()) == sorted(b.name for b in builds[1:])
    assert (tmp_path / ".previous").resolve() == builds[1] and current_build(tmp_path) == builds[2]
