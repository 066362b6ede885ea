"""An index folder's stores, opened and closed in order.

Open: LevelDB, whose lock makes this process the holder (vcdfast.index.lock); the settings it
records, or a new index's (vcdfast.index.settings); the first stage; the HOLDER record; then,
when writable, the rollback of what an interrupted write left (Catalog.repair); and the first
stage brought up to date with LevelDB. A failure on the way closes what was opened. Close:
the HOLDER record first, while the locks are held (a next holder's must not be removed), then
the first stage, then LevelDB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vcdfast.errors import IndexLockedError
from vcdfast.index.catalog import Catalog
from vcdfast.index.lock import lock_folder, locked_error, release_holder, write_holder
from vcdfast.index.settings import Settings, open_settings
from vcdfast.store import open_first_stage

__all__ = ["IndexFolder"]


@dataclass
class IndexFolder:
    path: Path
    read_only: bool
    settings: Settings
    spec: object  # vcdfast.models.ModelSpec
    sampling: object  # vcdfast.decode.Sampling
    views: tuple[str, ...]
    catalog: Catalog
    first_stage: object = None  # vcdfast.store.EmbeddedStore or MilvusStore
    holder_written: bool = False
    repaired: list[str] = field(default_factory=list)  # ids rolled back by this open

    @classmethod
    def open(cls, path: Path, *, model, sampling, views, uri: str | None, read_only: bool, create: bool, index_type,
             dedup: float | None) -> IndexFolder:
        """The arguments are Index.open's."""
        matrices = lock_folder(path, create=create, read_only=read_only)
        folder = None
        try:
            recorded = matrices.settings()
            if recorded is None and read_only:
                raise FileNotFoundError(f"no vcdfast index at {str(path)!r}")
            settings, spec, views_, sampling_ = open_settings(path, recorded, model=model, sampling=sampling,
                                                              views=views, uri=uri, index_type=index_type, dedup=dedup)
            folder = cls(path, read_only, settings, spec, sampling_, views_, Catalog(matrices))
            folder.first_stage = open_first_stage(path, settings, uri, read_only=read_only)
            if recorded is None:
                matrices.put_settings(settings.to_dict())
            folder.holder_written = write_holder(path, read_only)
            if not read_only:
                folder.repaired = folder.catalog.repair(folder.first_stage.delete)
                folder.first_stage.flush()
            folder.first_stage.sync(folder.catalog)
        except BaseException as e:
            folder.close() if folder is not None else matrices.close()
            if isinstance(e, IndexLockedError):  # milvus-lite's lock
                raise locked_error(path) from e
            raise
        return folder

    def require_writable(self) -> None:
        if self.read_only:
            raise PermissionError(f"the index at {str(self.path)!r} is open read-only")

    def close(self) -> None:
        if self.holder_written:
            self.holder_written = False
            release_holder(self.path)
        if self.first_stage is not None:
            self.first_stage.close()
        self.catalog.matrices.close()
