"""What an index records at creation, and the checks made against it.

An index records its model identity (name, version, sha256, dim, preprocessing), views,
sampling, how many of each frame's views the first stage searches, and where that search
lives: `embedded` (the default: a faiss file in the folder, rebuilt from LevelDB whenever
needed) or a Milvus URI (a server, or a milvus-lite `*.db` file). Opening it with another
model, views or sampling raises IndexMismatchError; passing None takes the recorded ones.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

from vcdfast.errors import IndexMismatchError
from vcdfast.index.lock import now
from vcdfast.models import DEFAULT_MODEL

__all__ = ["DEFAULT_INDEX_VIEWS", "FORMAT", "SEARCHED_VIEWS", "Settings", "check_embedding", "open_settings"]

# A new index's reference descriptors: the whole frame blended with its centre (vcdfast.views),
# chosen on the tuning split against ("full",) (BENCHMARKS.md, session 27), and blended with a
# smaller centre, which a crop of the frame meets more closely; a frame pair scores the best of
# them (vcdfast.similarity.query_view_max). The second was chosen on the tuning split by
# bench/requery.py's grid (session 32). An index records its views, so one made before keeps
# the descriptors it has.
DEFAULT_INDEX_VIEWS = ("blend", "blend:0.4:0.35")
# A new index's first stage searches each frame's first view only; every view scores frame
# pairs in the alignment. On the tuning split, searching both default views gave byte-identical
# matches (BENCHMARKS.md, session 33) at twice the rows. The votes' bias stays the map's (the
# best of every view), so a hit on the first view alone votes a little less readily.
SEARCHED_VIEWS = 1

# 2: the embedded first stage, video revisions, Milvus rows without frame/t/view columns.
# 1 (Milvus only) is still read: its uri None means the folder's milvus-lite file.
FORMAT = 2
EMBEDDED = "embedded"


@dataclass(frozen=True)
class Settings:
    model: dict  # ModelSpec.identity()
    model_name: str
    views: tuple[str, ...]
    sampling: dict  # Sampling.to_dict()
    dim: int
    uri: str  # EMBEDDED, a Milvus server URL, or a milvus-lite file path
    collections: str = field(default_factory=lambda: "vcdfast_" + uuid.uuid4().hex[:12])  # Milvus name prefix
    index_type: str = "HNSW"  # Milvus only (store.IndexType)
    dedup: float | None = None  # cosine at which consecutive frames share one searchable vector
    searched_views: int | None = None  # leading views per frame in the first stage; None (recorded before): all
    created: str = field(default_factory=now)
    format: int = FORMAT
    dtype: str = "float16"  # new matrix records (each names its own: indexes made before hold float32)

    @property
    def embedded(self) -> bool:
        return self.uri == EMBEDDED

    def to_dict(self) -> dict:
        d = asdict(self)
        d["views"] = list(self.views)
        return d

    @classmethod
    def from_dict(cls, d: dict, folder) -> Settings:
        d = dict(d)
        if d.get("format") == 1:
            d["uri"] = d.get("uri") or str(folder / "milvus.db")
        elif d.get("format") != FORMAT:
            raise IndexMismatchError(f"index at {str(folder)!r} has format {d.get('format')}; "
                                     f"this vcdfast reads formats 1 and {FORMAT}")
        d["views"] = tuple(d["views"])
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


def open_settings(folder, recorded: dict | None, *, model, sampling, views, uri: str | None, index_type,
                  dedup: float | None):
    """(Settings, ModelSpec, views, Sampling) of a new index (recorded None) or of an existing
    one, whose recorded settings the given ones (None: take the recorded) must equal."""
    from vcdfast.decode import Sampling
    from vcdfast.models import get_model
    from vcdfast.views import expand_views

    if recorded is None:
        spec = get_model(model if model is not None else DEFAULT_MODEL)
        views_ = expand_views(views if views is not None else DEFAULT_INDEX_VIEWS)
        sampling_ = sampling or Sampling()
        if dedup is not None and not 0.0 < dedup <= 1.0:
            raise ValueError(f"dedup must be a cosine in (0, 1] or None, got {dedup}")
        settings = Settings(model=spec.identity(), model_name=spec.name, views=views_, sampling=sampling_.to_dict(),
                            dim=spec.dim, uri=uri or EMBEDDED, index_type=str(getattr(index_type, "value", index_type)),
                            dedup=dedup, searched_views=SEARCHED_VIEWS)
        return settings, spec, views_, sampling_
    settings = Settings.from_dict(recorded, folder)
    spec = get_model(model if model is not None else settings.model_name)
    views_ = expand_views(views) if views is not None else settings.views
    sampling_ = sampling if sampling is not None else Sampling.from_dict(settings.sampling)
    _check_same(folder, settings, spec, views_, sampling_)
    if uri is not None and uri != settings.uri and not (settings.uri.startswith("http") and uri.startswith("http")):
        raise IndexMismatchError(f"index at {str(folder)!r} searches with {settings.uri!r}, not {uri!r}")
    return settings, spec, views_, sampling_


def _check_same(folder, settings: Settings, spec, views: tuple[str, ...], sampling) -> None:
    diffs = []
    if spec.identity() != settings.model:
        given, recorded = spec.identity(), settings.model
        diffs.append(f"model {given['name']!r} ({given['version']}, sha256 {given['sha256'][:12]}) != recorded "
                     f"{recorded['name']!r} ({recorded['version']}, sha256 {recorded['sha256'][:12]})")
    if tuple(views) != settings.views:
        diffs.append(f"views {list(views)} != recorded {list(settings.views)}")
    if sampling.to_dict() != settings.sampling:
        diffs.append(f"sampling {sampling.to_dict()} != recorded {settings.sampling}")
    if diffs:
        raise IndexMismatchError(f"index at {str(folder)!r} was built with other settings: " + "; ".join(diffs)
                                 + ". Open it without these options (they are recorded), or use another index folder.")


def check_embedding(settings: Settings, emb, what: str, *, query: bool = False) -> None:
    """An embedding must come from the index's model, views and sampling, and have frames; a
    query's views are its own (query-side views, vcdfast.query.QueryOptions)."""
    if emb.model.identity() != settings.model:
        raise IndexMismatchError(f"{what} was embedded with model {emb.model.name!r} "
                                 f"{emb.model.identity()}, the index uses {settings.model}")
    if not query and tuple(emb.views) != settings.views:
        raise IndexMismatchError(f"{what} has views {tuple(emb.views)}, the index uses {settings.views}")
    if emb.sampling.to_dict() != settings.sampling:
        raise IndexMismatchError(f"{what} was sampled with {emb.sampling.to_dict()}, "
                                 f"the index uses {settings.sampling}")
    if len(emb) == 0:
        raise ValueError(f"{what} has no frames")
