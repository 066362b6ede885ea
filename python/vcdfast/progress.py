"""The one progress-bar setup: tqdm on stderr, shown only where stderr is a terminal unless
`enabled` says otherwise, and gone when done."""

from __future__ import annotations

import sys

__all__ = ["progress_bar"]


def progress_bar(iterable=None, *, total: int | None = None, desc: str, unit: str, enabled: bool | None = None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled, file=sys.stderr, leave=False)
