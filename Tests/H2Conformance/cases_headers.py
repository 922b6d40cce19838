"""RFC 9113 §4.3 and §6.10: a field block is one HEADERS and its CONTINUATION frames, back to
back, on one stream. (The CONTINUATION flood is in cases_floods.py.)"""

from hyperframe.frame import ContinuationFrame, HeadersFrame, PingFrame

from h2client import COMPRESSION_ERROR, CONTINUATION, PROTOCOL_ERROR, raw_frame
from registry import case
from verdicts import expect_alive, expect_connection_error, read_response


def _split_request(conn, stream_id):
    """A request's field block cut in two: the HEADERS without END_HEADERS, and the rest."""
    block = conn.header_block()
    return HeadersFrame(stream_id, data=block[:3], flags=["END_STREAM"]), block[3:]


@case("6.10", "a field block split over HEADERS and CONTINUATION is answered")
def continuation_accepted(ctx):
    conn = ctx.connect()
    headers, rest = _split_request(conn, 1)
    conn.send(headers, ContinuationFrame(1, data=rest[:2]), ContinuationFrame(1, data=rest[2:], flags=["END_HEADERS"]))
    status, _ = read_response(conn, 1)
    expect_alive(conn)
    return f"answered {status}"


@case("6.10", "CONTINUATION on another stream inside a field block -> connection error PROTOCOL_ERROR")
def continuation_other_stream(ctx):
    # §6.10: "If the END_HEADERS flag is not set, this frame MUST be followed by another
    # CONTINUATION frame. A receiver MUST treat the receipt of any other type of frame or a
    # frame on a different stream as a connection error (Section 5.4.1) of type
    # PROTOCOL_ERROR." (§6.2 says the same of HEADERS.)
    conn = ctx.connect()
    headers, rest = _split_request(conn, 1)
    conn.send(headers, ContinuationFrame(3, data=rest, flags=["END_HEADERS"]))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("4.3", "another frame type inside a field block -> connection error PROTOCOL_ERROR")
def frame_interrupts_field_block(ctx):
    # §4.3: "Each field block is processed as a discrete unit. Field blocks MUST be
    # transmitted as a contiguous sequence of frames, with no interleaved frames of any
    # other type or from any other stream."
    conn = ctx.connect()
    headers, rest = _split_request(conn, 1)
    conn.send(headers, PingFrame(0, opaque_data=b"between!"), ContinuationFrame(1, data=rest, flags=["END_HEADERS"]))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("6.10", "CONTINUATION not preceded by an open field block -> connection error PROTOCOL_ERROR")
def continuation_without_headers(ctx):
    # "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or CONTINUATION frame
    # without the END_HEADERS flag set. A recipient that observes violation of this rule MUST
    # respond with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
    conn = ctx.connect()
    conn.send(conn.request(1, end_stream=False), raw_frame(CONTINUATION, 0x4, 1, conn.header_block()[:4]))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("4.3", "a field block that does not decode -> connection error COMPRESSION_ERROR")
def undecodable_field_block(ctx):
    # "A decoding error in a field block MUST be treated as a connection error (Section
    # 5.4.1) of type COMPRESSION_ERROR." 0xFF 0xFF 0xFF 0xFF 0x0F is an indexed field whose
    # index is far past both tables (RFC 7541 §2.3.3: "MUST be treated as a decoding error").
    conn = ctx.connect()
    conn.send(HeadersFrame(1, data=conn.header_block() + b"\xff\xff\xff\xff\x0f",
                           flags=["END_STREAM", "END_HEADERS"]))
    return expect_connection_error(conn, COMPRESSION_ERROR)
