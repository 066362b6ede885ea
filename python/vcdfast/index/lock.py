"""Who holds an index: LevelDB's lock on its folder, and the HOLDER record.

LevelDB (and milvus-lite, when an index uses it) take exclusive locks on their files; those
locks are the truth. After taking them, an open writes `HOLDER` (pid, host, since, argv[0],
read-only or not) into the folder and removes it on close, so that the next process to be
refused can be told who holds the index. A stale record (its process died) is reported as
such and replaced by the next open.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import sys
from pathlib import Path

from vcdfast.errors import IndexLockedError

__all__ = ["HOLDER", "lock_folder", "locked_error", "now", "release_holder", "write_holder"]

HOLDER = "HOLDER"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def write_holder(path: Path, read_only: bool) -> bool:
    """Record this process as the holder (after the locks are taken). A read-only open of a
    folder it cannot write goes on unnamed. Returns whether the file was written."""
    record = {"pid": os.getpid(), "host": socket.gethostname(), "since": now(),
              "argv0": sys.argv[0] if sys.argv else "", "read_only": read_only}
    tmp = path / f"{HOLDER}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps(record) + "\n", encoding="utf-8")
        os.replace(tmp, path / HOLDER)
    except OSError:
        if not read_only:
            raise
        return False
    return True


def release_holder(path: Path) -> None:
    """Remove the record; call before releasing the locks, so a next holder's file survives."""
    try:
        (path / HOLDER).unlink()
    except FileNotFoundError:
        pass


def holder(path: Path) -> str:
    """Who holds the index, from its HOLDER file, in words."""
    try:
        h = json.loads((path / HOLDER).read_text(encoding="utf-8"))
        pid, host, since = int(h["pid"]), str(h["host"]), str(h["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return "an unknown process (no readable holder record)"
    who = f"pid {pid} on host {host!r} since {since} ({h.get('argv0') or '?'}"
    who += ", read-only)" if h.get("read_only") else ")"
    if host == socket.gethostname():
        if pid == os.getpid():
            return who + ", i.e. this process: close the other Index handle first"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return f"an unknown process (the holder record names {who}, which is no longer running)"
        except PermissionError:
            pass
    return who


def lock_folder(path: Path, *, create: bool, read_only: bool):
    """The index folder's MatrixStore (LevelDB), whose lock makes this process the holder."""
    from vcdfast.store import MatrixStore

    exists = (path / "matrices" / "CURRENT").exists()
    if not exists and not create:
        raise FileNotFoundError(f"no vcdfast index at {str(path)!r} (create it with `vcdfast index`)")
    if exists and not read_only and not os.access(path, os.W_OK):
        raise PermissionError(f"index folder {str(path)!r} is not writable; open it with read_only=True")
    path.mkdir(parents=True, exist_ok=True)
    try:
        return MatrixStore(path / "matrices", create=create)
    except IndexLockedError as e:
        raise locked_error(path) from e


def locked_error(path: Path) -> IndexLockedError:
    return IndexLockedError(f"the index at {str(path)!r} is already open, by {holder(path)}. One process "
                            "opens an index at a time, read-only too (share one open Index between threads "
                            "instead); close it there or wait")
