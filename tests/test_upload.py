"""Publishing a release to object storage (flows.publishing.upload): file://, memory:// and a local S3
server (moto's server mode) that the tests start themselves."""

from __future__ import annotations

import hashlib
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.memory import MemoryFileSystem

from flows.publishing.release import write_sums
from flows.publishing.upload import SUMS, UploadRefused, upload_release

VERSION = "2026.12.0"


@pytest.fixture()
def finished(tmp_path) -> Path:
    """An invented finished release: tables, a subfolder, SHA256SUMS."""
    folder = tmp_path / "releases" / VERSION
    (folder / "csv").mkdir(parents=True)
    (folder / "metrics.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 50 + b"PAR1")
    (folder / "csv" / "metrics.csv").write_text("\ufeffmetric_id\r\nm1\r\n", encoding="utf-8")
    (folder / "README.md").write_text("# 数字政府\n", encoding="utf-8")
    write_sums(folder)
    return folder


def tree_digests(fs, root: str) -> dict[str, str]:
    out = {}
    for path in fs.find(root):
        with fs.open(path, "rb") as fh:
            out[path[len(root.rstrip("/")) + 1:]] = hashlib.sha256(fh.read()).hexdigest()
    return out


def local_digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def test_file_url_round_trips_every_file_under_the_version(finished, tmp_path):
    result = upload_release(finished, f"file://{tmp_path}/bucket/digigov")
    assert result.url == f"file://{tmp_path}/bucket/digigov/{VERSION}" and result.files == 4
    assert local_digests(tmp_path / "bucket" / "digigov" / VERSION) == local_digests(finished)


def test_an_existing_version_is_never_overwritten(finished, tmp_path):
    upload_release(finished, f"file://{tmp_path}/bucket")
    target = tmp_path / "bucket" / VERSION
    before = local_digests(target)
    (finished / "README.md").write_text("changed\n", encoding="utf-8")
    write_sums(finished)
    with pytest.raises(UploadRefused, match="a complete upload.*never overwritten"):
        upload_release(finished, f"file://{tmp_path}/bucket")
    assert local_digests(target) == before
    (target / SUMS).unlink()  # as an interrupted upload leaves it
    with pytest.raises(UploadRefused, match="unfinished upload"):
        upload_release(finished, f"file://{tmp_path}/bucket")


def test_a_release_that_does_not_match_its_sums_is_not_uploaded(finished, tmp_path):
    (finished / "metrics.parquet").write_bytes(b"tampered")
    (finished / "extra.txt").write_text("x", encoding="utf-8")
    with pytest.raises(UploadRefused) as refused:
        upload_release(finished, f"file://{tmp_path}/bucket")
    assert "metrics.parquet does not match" in str(refused.value) and "extra.txt is not listed" in str(refused.value)
    assert not (tmp_path / "bucket").exists()
    (finished / SUMS).unlink()
    with pytest.raises(UploadRefused, match="not a finished release"):
        upload_release(finished, f"file://{tmp_path}/bucket")


def test_sums_are_uploaded_last(finished, monkeypatch):
    order = []
    real_put = MemoryFileSystem.put_file

    def recording_put(self, lpath, rpath, *args, **kwargs):
        order.append(rpath.rsplit("/", 1)[-1])
        return real_put(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(MemoryFileSystem, "put_file", recording_put)
    upload_release(finished, "memory://order-test")
    assert order[-1] == SUMS and sorted(order[:-1]) == ["README.md", "metrics.csv", "metrics.parquet"]


def test_a_file_that_reads_back_wrong_stops_the_upload_before_the_marker(finished, monkeypatch):
    real_put = MemoryFileSystem.put_file

    def corrupting_put(self, lpath, rpath, *args, **kwargs):
        real_put(self, lpath, rpath, *args, **kwargs)
        if rpath.endswith("metrics.parquet"):
            self.pipe_file(rpath, b"truncated")

    monkeypatch.setattr(MemoryFileSystem, "put_file", corrupting_put)
    with pytest.raises(UploadRefused, match="metrics.parquet read back with sha256"):
        upload_release(finished, "memory://corrupt-test")
    fs = fsspec.filesystem("memory")
    assert not fs.exists(f"/corrupt-test/{VERSION}/{SUMS}")


# --- a local S3-compatible server -------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3_server():
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"key": "testing", "secret": "testing", "skip_instance_cache": True,
               "client_kwargs": {"endpoint_url": f"http://{host}:{port}", "region_name": "us-east-1"}}
    import boto3

    boto3.client("s3", endpoint_url=f"http://{host}:{port}", region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="releases-bucket")
    yield options
    server.stop()


def test_s3_upload_round_trips_with_verified_checksums_and_refuses_a_second_time(finished, s3_server):
    result = upload_release(finished, "s3://releases-bucket/digigov", storage_options=s3_server)
    assert result.url == f"s3://releases-bucket/digigov/{VERSION}" and result.files == 4
    fs = fsspec.filesystem("s3", **s3_server)
    assert tree_digests(fs, f"releases-bucket/digigov/{VERSION}") == local_digests(finished)
    with pytest.raises(UploadRefused, match="never overwritten"):
        upload_release(finished, "s3://releases-bucket/digigov/", storage_options=s3_server)
