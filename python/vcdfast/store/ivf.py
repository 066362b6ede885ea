"""The approximate frame index of the embedded first stage (vcdfast.store.embedded): IVF
lists chosen in a 64-d PCA projection, rows stored as scalar-quantised 512-d vectors.

Why this shape (bench/bench_index.py, synthetic VCSL-like videos, 512-d):

- Scores must be cosines. The query's score normalisation (vcdfast.normalise) subtracts a
  bias measured in exact cosines, and a frame votes only when its hit beats it. The
  previous codes, PQ32x4fs over a PCA64 projection, scored a copied frame ~0.11 where its
  cosine is ~0.96 (PQ's reconstruction shrinks vectors, PCA drops 7/8 of the energy of
  these vectors), below the ~0.24 bias, so at 300 and 1k videos half or more of the
  planted copies got no vote. Scalar quantisation of the full vector keeps the scale (top
  hit 0.957 vs exact 0.958 at 1k videos).
- The lists are assigned in PCA space (an IndexPreTransform quantizer with k-means run on
  the 64-d projection): 8x cheaper to train and to assign than 512-d k-means, and a query
  probes the lists its rows' copies were assigned to (same projection both ways). Rows are
  encoded whole (not as residuals), so the scores do not depend on the projection.
- SQ8 (512 bytes a row, one range for every dimension: 17.7 ms a query at 1k videos where
  per-dimension ranges took 26.1, same score error) up to SQ4_ROWS rows, SQ4 (256 bytes)
  above: 100k videos (18.7M rows) are 4.9 GB in memory and on disk instead of 9.7 GB.
- ~8 sqrt(rows) lists: at 1k videos 4,096 lists searched a query in 6.2 ms, 2,048 in 17.7
  ms (nprobe 8 both; the copied row among the hits 99.1% vs 99.5% of query rows, and every
  source video among the candidates). Capped at MAX_LISTS: k-means over 32k lists and
  assigning 18.7M rows to them would take tens of minutes on one core.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NPROBE", "SQ4_ROWS", "lists", "train"]

NPROBE = 8  # lists probed per query row
SQ4_ROWS = 4_000_000
MAX_LISTS = 16_384
PCA_DIM = 64
NITER = 10  # k-means iterations (faiss's default is 25; 10 trained the measured indexes)


def lists(rows: int) -> int:
    """~8 sqrt(rows) lists, a power of two, at most MAX_LISTS."""
    return min(MAX_LISTS, 1 << int(round(np.log2(8 * np.sqrt(max(rows, 1))))))


def train(faiss, sample: np.ndarray, rows: int, dim: int):
    """(an empty trained IVF index, its description) for a catalogue of about `rows` rows,
    trained on `sample` (>= 39 rows per list, as faiss's k-means wants)."""
    nlist = lists(rows)
    while nlist > 16 and 40 * nlist > len(sample):
        nlist //= 2
    p = min(PCA_DIM, dim)
    pca = faiss.PCAMatrix(dim, p)
    pca.train(sample)
    coarse = faiss.IndexFlatIP(p)
    cp = faiss.ClusteringParameters()
    cp.niter, cp.seed = NITER, 1234
    faiss.Clustering(p, nlist, cp).train(pca.apply(sample), coarse)
    quantizer = faiss.IndexPreTransform(pca, coarse)
    sq4 = rows >= SQ4_ROWS
    qtype = faiss.ScalarQuantizer.QT_4bit if sq4 else faiss.ScalarQuantizer.QT_8bit_uniform
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, qtype, faiss.METRIC_INNER_PRODUCT, False)
    # faiss's wrappers keep pca, coarse and quantizer alive as long as `index` (references)
    index.train(sample)  # the scalar quantiser's ranges; the lists are trained already
    index.nprobe = NPROBE
    return index, f"PCA{p} lists,IVF{nlist},{'SQ4' if sq4 else 'SQ8'}"
