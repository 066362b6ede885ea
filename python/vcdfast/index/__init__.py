"""A video index: ingest (decode, embed, store) and query (search, select, load, align, report).

    facade       Index: one handle that delegates to the modules below
    folder       the folder's stores, opened and closed in order (IndexFolder)
    settings     what an index records at creation (model, views, sampling, first stage)
    lock         the HOLDER record that names who holds an index
    catalog      VideoMeta records, their states, keys, and repair after a crash
    embedders    the index's model with its own or query-side views
    ingest       adding files or embeddings (AddReport, IdFrom, OnConflict)
    search       the query stages, each callable: search_frames -> select_candidates ->
                 load_candidates -> align_candidates -> to_matches
    background   score normalisation's background, drawn from the catalogue and cached
    maintenance  verify, stats, remove

Storage is vcdfast.store: LevelDB (the durable source of truth: records and every frame's
descriptors) and the first-stage search (an embedded faiss file derived from LevelDB, or
Milvus).
"""

from vcdfast.index.catalog import VideoMeta, VideoState
from vcdfast.index.facade import Index
from vcdfast.index.ingest import AddReport, IdFrom, OnConflict, content_hash
from vcdfast.index.lock import HOLDER
from vcdfast.index.maintenance import VerifyReport
from vcdfast.index.search import VideoMatch
from vcdfast.query import Match

__all__ = ["HOLDER", "AddReport", "IdFrom", "Index", "Match", "OnConflict", "VerifyReport", "VideoMatch",
           "VideoMeta", "VideoState", "content_hash"]
