"""Progress on stderr, in one place: `progress_bar`, the library's tqdm bar (shown only where
stderr is a terminal unless `enabled` says otherwise, gone when done), and `InputProgress`, the
command line's line per input with the media decoded so far, which logs also get."""

from __future__ import annotations

import sys
import time
from pathlib import Path

__all__ = ["InputProgress", "progress_bar"]


def progress_bar(iterable=None, *, total: int | None = None, desc: str, unit: str, enabled: bool | None = None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=not enabled, file=sys.stderr, leave=False)


class InputProgress:
    """Progress over many inputs on stderr. In a terminal, one line rewritten in place
    (`[3/9] file.mp4 … 12.4 s media, 2.1 s`) that grows with each second of media decoded;
    elsewhere the same line once per finished input, and every `every_s` seconds on a long
    one. Silent when `quiet`. `clock` gives seconds (time.monotonic)."""

    def __init__(self, total: int, *, quiet: bool, stream=None, every_s: float = 30.0, clock=time.monotonic):
        self.stream = stream or sys.stderr
        self.total, self.quiet, self.every_s, self.clock = total, quiet, every_s, clock
        self.tty = self.stream.isatty()
        self.count, self.path = 0, None
        self.started = self.shown = 0.0
        self.media_s = 0.0

    def start(self, path) -> None:
        self.count += 1
        self.path, self.media_s = path, 0.0
        self.started = self.shown = self.clock()
        if self.tty:
            self._show(self._line(self.started))

    def media(self, seconds: float) -> None:
        """`seconds` of the current input's media are done."""
        self.media_s = seconds
        now = self.clock()
        if now - self.shown >= (0.2 if self.tty else self.every_s):
            self.shown = now
            self._show(self._line(now) + ("" if self.tty else " so far"))

    def done(self, note: str = "") -> None:
        self._show(self._line(self.clock()) + (f", {note}" if note else ""), final=True)
        self.path = None

    def _line(self, now: float) -> str:
        name = Path(self.path).name
        return f"[{self.count}/{self.total}] {name} … {self.media_s:.1f} s media, {now - self.started:.1f} s"

    def _show(self, text: str, final: bool = False) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def follow(self, path, seconds: float) -> None:
        """on_media callback for Index.add: starts a line when the input changes."""
        if path != self.path:
            self.start(path)
        self.media(seconds)

    def finished(self, path) -> None:
        """on_progress callback for Index.add (inputs that decoded nothing have no line yet)."""
        if path != self.path:
            self.start(path)
        self.done()
