"""The vcdfast exception hierarchy. Its root and `CancelledError` come from the C++ core so
that errors raised there and here are caught by the same `except VcdfastError`."""

from vcdfast._core import CancelledError, VcdfastError

__all__ = ["CancelledError", "VcdfastError"]
