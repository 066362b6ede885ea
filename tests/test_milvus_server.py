"""The same end-to-end assertions as with milvus-lite, against a real Milvus server: the PyPI
`milvus` package's embedded server (Milvus 2.3, standalone, its own etcd/storage in a temp
folder), started on loopback for this module and stopped at the end. Only the URI differs."""

from __future__ import annotations

import socket

import pytest
from test_index_e2e import corpus, run_end_to_end  # noqa: F401  (corpus is a fixture)

from vcdfast.index import Index

milvus = pytest.importorskip("milvus", reason="the Milvus server test needs `pip install milvus` (vcdfast[server])")

# milvus 2.3.5's port probing (MilvusServerConfig.try_bind_port) leaves a socket unclosed when a
# port is taken; its garbage collection surfaces as an unraisable ResourceWarning.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_uri(tmp_path_factory):
    server = milvus.MilvusServer()
    server.set_base_dir(str(tmp_path_factory.mktemp("milvus-server")))
    server.listen_port = free_port()
    try:
        server.start()  # seen here: it did not start (180 s timeout) while another embedded server ran
        yield f"http://127.0.0.1:{server.listen_port}"
    finally:
        # server.stop() allows 1 s for a clean exit and 3 s after SIGKILL: too short on a busy
        # host, and a clean exit can take minutes; the data folder is thrown away anyway
        if server.server_proc is not None:
            server.server_proc.kill()
            server.server_proc.wait(timeout=60)
        server.stop()


@pytest.mark.slow
def test_end_to_end_on_milvus_server(tmp_path, corpus, server_uri):  # noqa: F811
    run_end_to_end(tmp_path / "ix", corpus, "sscd-mobile", uri=server_uri)
    # the folder records the server: reopening needs no URI
    with Index.open(tmp_path / "ix") as ix:
        assert ix.first_stage.uri == server_uri and len(ix) == 3
        # the server indexes flushed segments in the background; wait_indexed returns once it has
        ix.first_stage.wait_indexed(timeout=600)
        built = ix.first_stage.client.describe_index(ix.first_stage.frames, "vec")
        assert built["state"] == "Finished" and built["indexed_rows"] == built["total_rows"] > 0, built
        v = ix.verify()
        assert v.ok and v.videos == 3, v.problems
        ix.remove("ref2")
        v = ix.verify()
        assert v.ok and v.videos == 2, v.problems
        ix.first_stage.drop()
