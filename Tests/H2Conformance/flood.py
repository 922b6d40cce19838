"""Pushes a stream of bytes at a server as fast as it takes them, bounded in bytes and time,
and watches what it answers meanwhile: the machinery of the flood cases."""

import select
import time
from dataclasses import dataclass, field

from hyperframe.frame import GoAwayFrame

from h2client import Closed


@dataclass
class FloodOutcome:
    sent: int = 0                 # octets the kernel took from us
    goaway: GoAwayFrame = None    # the server's GOAWAY, if any
    goaway_at: int = 0            # octets sent when it was read
    closed: Closed = None         # the close, if the server ended the connection
    closed_at: int = 0            # octets sent when the close was seen
    stalled: bool = False         # the server stopped taking bytes and said nothing for a while
    seconds: float = 0.0
    frames: list = field(default_factory=list)  # every other frame the server sent


def flood(conn, chunks, cap, seconds, stall_seconds):
    """Sends the chunks (an iterator of bytes) until the server closes, `cap` octets are
    sent, `seconds` pass, or the server takes nothing for `stall_seconds`."""
    out = FloodOutcome()
    start = time.monotonic()
    pending = b""
    last_progress = start
    while out.closed is None:
        now = time.monotonic()
        if now - start >= seconds or (out.sent >= cap and not pending):
            break
        if now - last_progress >= stall_seconds:
            out.stalled = True
            break
        if not pending and out.sent < cap:
            pending = next(chunks)
        readable, writable, _ = select.select([conn.sock], [conn.sock] if pending else [], [], 0.05)
        if readable:
            _drain(conn, out)
            last_progress = time.monotonic()
        if writable and out.closed is None:
            try:
                n = conn.sock.send(pending)
            except (BrokenPipeError, ConnectionResetError):
                _drain(conn, out, wait=conn.timeout)  # the frames sent before the close
                if out.closed is None:
                    out.closed, out.closed_at = Closed("reset"), out.sent
                break
            except BlockingIOError:
                n = 0
            if n:
                out.sent += n
                pending = pending[n:]
                last_progress = time.monotonic()
    if out.closed is None:
        _drain(conn, out)
    out.seconds = time.monotonic() - start
    return out


def _drain(conn, out, wait=0.0):
    """Reads what has arrived (or, with `wait`, what arrives until the close)."""
    while out.closed is None:
        frame = conn.read_frame(wait)
        if frame is None:
            return
        if isinstance(frame, Closed):
            out.closed, out.closed_at = frame, out.sent
        elif isinstance(frame, GoAwayFrame) and out.goaway is None:
            out.goaway, out.goaway_at = frame, out.sent
        else:
            out.frames.append(frame)
