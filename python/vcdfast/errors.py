"""The vcdfast exception hierarchy. Its root and `CancelledError` come from the C++ core so
that errors raised there and here are caught by the same `except VcdfastError`."""

from vcdfast._core import CancelledError, VcdfastError

__all__ = ["CancelledError", "VcdfastError"]


class VideoDecodeError(VcdfastError):
    """A video could not be opened or decoded. `.path` names the file, `.cause` is the original
    exception or a message; `.frames_decoded` and `.decoded_until` (seconds from the stream
    start, None if nothing decoded) say how far decoding got; `.partial` holds what was decoded
    before a mid-file error (a DecodedVideo or VideoEmbedding), or None."""

    def __init__(self, path, cause, *, frames_decoded: int = 0, decoded_until: float | None = None, partial=None):
        self.path = str(path)
        self.cause = cause
        self.frames_decoded = frames_decoded
        self.decoded_until = decoded_until
        self.partial = partial
        super().__init__(str(self))

    def __str__(self) -> str:
        cause = f"{type(self.cause).__name__}: {self.cause}" if isinstance(self.cause, BaseException) else self.cause
        where = (f" (after {self.frames_decoded} sampled frames, decoded up to {self.decoded_until:.3f} s)"
                 if self.decoded_until is not None else "")
        return f"cannot decode video {self.path!r}: {cause}{where}"


class ModelError(VcdfastError):
    """A model is unknown, missing, corrupt (sha256 mismatch) or unusable (wrong inputs/outputs)."""


__all__ += ["ModelError", "VideoDecodeError"]


class IndexMismatchError(VcdfastError):
    """An index was opened with another model, views or sampling than it was built with."""


class IdConflictError(VcdfastError, ValueError):
    """An add gave an id that the index holds with other content (on_conflict="error")."""


class IndexLockedError(VcdfastError):
    """Another process holds the index open for writing."""


class VideoNotFoundError(VcdfastError, KeyError):
    """No video with this id in the index."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


__all__ += ["IdConflictError", "IndexLockedError", "IndexMismatchError", "VideoNotFoundError"]


class AddError(VcdfastError):
    """`Index.add` finished its batch but some inputs failed. Everything else was indexed;
    `.report` is the AddReport and `.failed` its {input path: error message}."""

    def __init__(self, report):
        self.report = report
        self.failed = dict(report.failed)
        lines = "".join(f"\n  {path}: {message}" for path, message in self.failed.items())
        rest = " (the others were)" if report.count else ""
        super().__init__(f"{len(self.failed)} of {len(self.failed) + report.count} input(s) not indexed{rest}:{lines}")


class PartialDecodeWarning(UserWarning):
    """A damaged video (truncated, or undecodable from some point on) was kept for the part that
    decodes. The message names the file, the decoded span and the declared span."""


__all__ += ["AddError", "PartialDecodeWarning"]
