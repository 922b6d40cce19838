"""RFC 9113 §5.2 and §6.9: flow-control windows, both ways."""

import time

from hyperframe.frame import DataFrame, GoAwayFrame, HeadersFrame, RstStreamFrame, SettingsFrame

from h2client import (FLOW_CONTROL_ERROR, INITIAL_WINDOW_SIZE, PROTOCOL_ERROR, Closed, error_name,
                      window_update)
from registry import case
from verdicts import CaseFailed, expect_connection_error, expect_stream_error

# The basic suite's /plaintext answers "Hello, World!": 13 octets, enough to see a window hold.
BODY = b"Hello, World!"


@case("6.9", "WINDOW_UPDATE with increment 0 on the connection -> connection error PROTOCOL_ERROR")
def window_update_zero_connection(ctx):
    # "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a flow-control window
    # increment of 0 as a stream error (Section 5.4.2) of type PROTOCOL_ERROR; errors on the
    # connection flow-control window MUST be treated as a connection error (Section 5.4.1)."
    conn = ctx.connect()
    conn.send(window_update(0, 0))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("6.9", "WINDOW_UPDATE with increment 0 on a stream -> stream error PROTOCOL_ERROR")
def window_update_zero_stream(ctx):
    conn = ctx.connect()
    conn.send(conn.request(1, end_stream=False), window_update(1, 0))
    return expect_stream_error(conn, 1, PROTOCOL_ERROR)


@case("6.9.1", "connection window past 2^31-1 -> connection error FLOW_CONTROL_ERROR")
def connection_window_overflow(ctx):
    # "If a sender receives a WINDOW_UPDATE that causes a flow-control window to exceed this
    # maximum, it MUST terminate either the stream or the connection, as appropriate. ... for
    # the connection, a GOAWAY frame with an error code of FLOW_CONTROL_ERROR is sent."
    conn = ctx.connect()
    conn.send(window_update(0, 2**31 - 1), window_update(0, 2**31 - 1))
    return expect_connection_error(conn, FLOW_CONTROL_ERROR)


@case("6.9.1", "stream window past 2^31-1 -> stream error FLOW_CONTROL_ERROR")
def stream_window_overflow(ctx):
    # "For streams, the sender sends a RST_STREAM with an error code of FLOW_CONTROL_ERROR".
    conn = ctx.connect()
    conn.send(conn.request(1, end_stream=False), window_update(1, 2**31 - 1), window_update(1, 2**31 - 1))
    return expect_stream_error(conn, 1, FLOW_CONTROL_ERROR)


def _collect(conn, stream_id, seconds):
    """DATA octets on stream_id and whether END_STREAM came, over `seconds` (or until it does).
    Any error or close fails: nothing here is wrong on the client's side."""
    got, ended = b"", False
    deadline = time.monotonic() + seconds
    while not ended:
        frame = conn.read_frame(max(0.0, deadline - time.monotonic()))
        if frame is None:
            break
        if isinstance(frame, Closed):
            raise CaseFailed(f"connection closed ({frame.how}) while waiting for DATA")
        if isinstance(frame, (GoAwayFrame, RstStreamFrame)):
            raise CaseFailed(f"{type(frame).__name__} {error_name(frame.error_code)} while waiting for DATA")
        if frame.stream_id == stream_id and isinstance(frame, (DataFrame, HeadersFrame)):
            got += getattr(frame, "data", b"") if isinstance(frame, DataFrame) else b""
            ended = "END_STREAM" in frame.flags
    return got, ended


@case("6.9.1", "the server sends no more DATA than the client's stream window")
def server_respects_stream_window(ctx):
    # "The sender MUST NOT send a flow-controlled frame with a length that exceeds the space
    # available in either of the flow-control windows advertised by the receiver."
    conn = ctx.connect(settings={INITIAL_WINDOW_SIZE: 5})
    conn.send(conn.request(1))
    got, ended = _collect(conn, 1, ctx.timeout / 2)
    if len(got) > 5 or ended:
        raise CaseFailed(f"{len(got)} DATA octets (END_STREAM {ended}) into a window of 5")
    if len(got) < 5:
        raise CaseFailed(f"only {len(got)} of the 5 octets the window allows were sent")
    conn.send(window_update(1, len(BODY)))
    rest, ended = _collect(conn, 1, ctx.timeout)
    if got + rest != BODY or not ended:
        raise CaseFailed(f"after WINDOW_UPDATE: {got + rest!r}, END_STREAM {ended}")
    return "5 octets, then the rest after WINDOW_UPDATE"


@case("6.9.2", "a new SETTINGS_INITIAL_WINDOW_SIZE applies to open streams")
def initial_window_change_applies(ctx):
    # "When the value of SETTINGS_INITIAL_WINDOW_SIZE changes, a receiver MUST adjust the
    # size of all stream flow-control windows that it maintains by the difference between
    # the new value and the old value."
    conn = ctx.connect(settings={INITIAL_WINDOW_SIZE: 0})
    conn.send(conn.request(1))
    got, ended = _collect(conn, 1, ctx.timeout / 2)
    if got or ended:
        raise CaseFailed(f"{len(got)} DATA octets (END_STREAM {ended}) into a window of 0")
    conn.send(SettingsFrame(0, settings={INITIAL_WINDOW_SIZE: 3}))
    got, ended = _collect(conn, 1, ctx.timeout / 2)
    if got != BODY[:3] or ended:
        raise CaseFailed(f"window raised to 3: got {got!r} (END_STREAM {ended}), expected 3 octets")
    conn.send(SettingsFrame(0, settings={INITIAL_WINDOW_SIZE: 65535}))
    rest, ended = _collect(conn, 1, ctx.timeout)
    if got + rest != BODY or not ended:
        raise CaseFailed(f"window raised to 65535: got {got + rest!r}, END_STREAM {ended}")
    return "0, then 3 octets, then the rest"
