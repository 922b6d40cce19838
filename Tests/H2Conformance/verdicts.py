"""What a case accepts from the server, as RFC 9113 words it; anything else raises CaseFailed.

Where the RFC lets a server choose (a stream error may always be treated as a connection
error, §5.4.1: "An endpoint can end a connection at any time"), the verdicts accept each
allowed answer and nothing more: the expected error code, in a RST_STREAM for that stream
or a GOAWAY, and a GOAWAY for an error must be followed by the close of the TCP
connection. A close without GOAWAY is accepted as h2spec does, since §5.4.1 only says an
endpoint "SHOULD first send a GOAWAY frame".
"""

import time

from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame, PingFrame, RstStreamFrame

from h2client import Closed, error_name


class CaseFailed(AssertionError):
    """The server's behaviour breaks the rule the case checks."""


def _names(codes):
    return " or ".join(error_name(c) for c in codes)


def _codes(codes):
    return (codes,) if isinstance(codes, int) else tuple(codes)


def expect_closed(conn, why, timeout=None):
    """The server closes the TCP connection within the timeout (frames before are ignored).
    RFC 9113 §5.4.1: "After sending the GOAWAY frame for an error condition, the endpoint
    MUST close the TCP connection." """
    deadline = time.monotonic() + (conn.timeout if timeout is None else timeout)
    while True:
        frame = conn.read_frame(max(0.0, deadline - time.monotonic()))
        if isinstance(frame, Closed):
            return frame
        if frame is None:
            raise CaseFailed(f"{why}, but the connection was still open {conn.timeout:g}s later "
                             "(RFC 9113 §5.4.1: after GOAWAY for an error the endpoint MUST close it)")


def expect_connection_error(conn, codes):
    """A connection error of one of `codes`: GOAWAY with it and then the close, or a close."""
    codes = _codes(codes)
    deadline = time.monotonic() + conn.timeout
    while True:
        frame = conn.read_frame(max(0.0, deadline - time.monotonic()))
        if frame is None:
            raise CaseFailed(f"expected a connection error {_names(codes)}: neither GOAWAY nor close "
                             f"within {conn.timeout:g}s")
        if isinstance(frame, Closed):
            return "closed without GOAWAY"
        if isinstance(frame, GoAwayFrame):
            if frame.error_code not in codes:
                raise CaseFailed(f"GOAWAY {error_name(frame.error_code)}, expected {_names(codes)}")
            expect_closed(conn, f"GOAWAY {error_name(frame.error_code)} sent")
            return f"GOAWAY {error_name(frame.error_code)}"
        if isinstance(frame, RstStreamFrame) and frame.error_code in codes:
            raise CaseFailed(f"RST_STREAM {error_name(frame.error_code)} on stream {frame.stream_id}: "
                             "the RFC requires a connection error here, not a stream error")


def expect_stream_error(conn, stream_id, codes):
    """A stream error of one of `codes` on stream_id (RST_STREAM), or the same code as a
    connection error (§5.4.1: "MAY choose to treat a stream error as a connection error")."""
    codes = _codes(codes)
    deadline = time.monotonic() + conn.timeout
    while True:
        frame = conn.read_frame(max(0.0, deadline - time.monotonic()))
        if frame is None:
            raise CaseFailed(f"expected a stream error {_names(codes)} on stream {stream_id}: "
                             f"no RST_STREAM, GOAWAY or close within {conn.timeout:g}s")
        if isinstance(frame, Closed):
            return "closed without GOAWAY"
        if isinstance(frame, RstStreamFrame) and frame.stream_id == stream_id:
            if frame.error_code not in codes:
                raise CaseFailed(f"RST_STREAM {error_name(frame.error_code)} on stream {stream_id}, "
                                 f"expected {_names(codes)}")
            return f"RST_STREAM {error_name(frame.error_code)}"
        if isinstance(frame, GoAwayFrame):
            if frame.error_code not in codes:
                raise CaseFailed(f"GOAWAY {error_name(frame.error_code)}, expected {_names(codes)}")
            expect_closed(conn, f"GOAWAY {error_name(frame.error_code)} sent")
            return f"GOAWAY {error_name(frame.error_code)}"


_ping_counter = [0]


def expect_alive(conn, what="the connection"):
    """The connection still works: a PING is answered with its payload (RFC 9113 §6.7),
    with no GOAWAY, no close and no reset stream in between. Returns the frames before."""
    _ping_counter[0] += 1
    payload = b"alive%03d" % (_ping_counter[0] % 1000)
    if not conn.send(PingFrame(0, opaque_data=payload)):
        raise CaseFailed(f"{what} was closed by the server")
    seen = []
    deadline = time.monotonic() + conn.timeout
    while True:
        frame = conn.read_frame(max(0.0, deadline - time.monotonic()))
        if frame is None:
            raise CaseFailed(f"{what}: PING not answered within {conn.timeout:g}s")
        if isinstance(frame, Closed):
            raise CaseFailed(f"{what} was closed by the server ({frame.how})")
        if isinstance(frame, GoAwayFrame):
            raise CaseFailed(f"{what}: GOAWAY {error_name(frame.error_code)}")
        if isinstance(frame, PingFrame) and "ACK" in frame.flags and frame.opaque_data == payload:
            return seen
        seen.append(frame)


def read_response(conn, stream_id, timeout=None):
    """The response on stream_id up to END_STREAM: (status, body bytes)."""
    status, body = None, b""
    deadline = time.monotonic() + (conn.timeout if timeout is None else timeout)
    while True:
        frame = conn.read_frame(max(0.0, deadline - time.monotonic()))
        if frame is None:
            raise CaseFailed(f"no complete response on stream {stream_id} within {conn.timeout:g}s")
        if isinstance(frame, Closed):
            raise CaseFailed(f"connection closed ({frame.how}) before the response on stream {stream_id}")
        if isinstance(frame, GoAwayFrame):
            raise CaseFailed(f"GOAWAY {error_name(frame.error_code)} before the response on stream {stream_id}")
        if frame.stream_id != stream_id:
            continue
        if isinstance(frame, RstStreamFrame):
            raise CaseFailed(f"stream {stream_id} reset ({error_name(frame.error_code)}) instead of answered")
        if isinstance(frame, HeadersFrame) and status is None:
            status = dict(getattr(frame, "fields", [])).get(":status")
        if isinstance(frame, DataFrame):
            body += frame.data
        if "END_STREAM" in frame.flags:
            return status, body


def rss_kib(pid):
    """The resident set size of process pid, from /proc/PID/status (VmRSS, KiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise CaseFailed(f"no VmRSS in /proc/{pid}/status")
