"""RFC 9113 §4.2 frame sizes and the fixed lengths of §6.3, §6.4 and §6.9."""

from hyperframe.frame import DataFrame, HeadersFrame

from h2client import (FRAME_SIZE_ERROR, PRIORITY, RST_STREAM, WINDOW_UPDATE, filler_block, raw_frame)
from registry import case
from verdicts import (expect_alive, expect_connection_error, expect_stream_error, read_response)


@case("4.2", "a DATA frame of exactly SETTINGS_MAX_FRAME_SIZE octets is accepted")
def data_at_max_frame_size(ctx):
    conn = ctx.connect()
    size = conn.max_frame_size()
    conn.send(conn.request(1, method="POST", end_stream=False),
              DataFrame(1, data=b"x" * size, flags=["END_STREAM"]))
    status, _ = read_response(conn, 1)
    return f"{size} octets, answered {status}"


@case("4.2", "DATA larger than SETTINGS_MAX_FRAME_SIZE -> FRAME_SIZE_ERROR")
def data_over_max_frame_size(ctx):
    # "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame exceeds the size
    # defined in SETTINGS_MAX_FRAME_SIZE": on a stream, a stream or connection error.
    conn = ctx.connect()
    conn.send(conn.request(1, method="POST", end_stream=False),
              DataFrame(1, data=b"x" * (conn.max_frame_size() + 1), flags=["END_STREAM"]))
    return expect_stream_error(conn, 1, FRAME_SIZE_ERROR)


@case("4.2", "HEADERS larger than SETTINGS_MAX_FRAME_SIZE -> connection error FRAME_SIZE_ERROR")
def headers_over_max_frame_size(ctx):
    # "A frame size error in a frame that could alter the state of the entire connection MUST
    # be treated as a connection error (Section 5.4.1); this includes any frame carrying a
    # field block".
    conn = ctx.connect()
    block = (conn.header_block() + filler_block(conn.max_frame_size()))[:conn.max_frame_size() + 1]
    conn.send(HeadersFrame(1, data=block, flags=["END_STREAM", "END_HEADERS"]))
    return expect_connection_error(conn, FRAME_SIZE_ERROR)


@case("6.3", "PRIORITY with a length other than 5 -> stream error FRAME_SIZE_ERROR")
def priority_wrong_length(ctx):
    # "A PRIORITY frame with a length other than 5 octets MUST be treated as a stream error
    # (Section 5.4.2) of type FRAME_SIZE_ERROR."
    conn = ctx.connect()
    conn.send(conn.request(1, end_stream=False), raw_frame(PRIORITY, 0, 1, b"\x00\x00\x00\x00"))
    return expect_stream_error(conn, 1, FRAME_SIZE_ERROR)


@case("6.4", "RST_STREAM with a length other than 4 -> connection error FRAME_SIZE_ERROR")
def rst_stream_wrong_length(ctx):
    # "A RST_STREAM frame with a length other than 4 octets MUST be treated as a connection
    # error (Section 5.4.1) of type FRAME_SIZE_ERROR."
    conn = ctx.connect()
    conn.send(conn.request(1, end_stream=False), raw_frame(RST_STREAM, 0, 1, b"\x00\x00\x00\x08\x00"))
    return expect_connection_error(conn, FRAME_SIZE_ERROR)


@case("6.9", "WINDOW_UPDATE with a length other than 4 -> connection error FRAME_SIZE_ERROR")
def window_update_wrong_length(ctx):
    # "A WINDOW_UPDATE frame with a length other than 4 octets MUST be treated as a
    # connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(WINDOW_UPDATE, 0, 0, b"\x00\x00\x01\x00\x00"))
    return expect_connection_error(conn, FRAME_SIZE_ERROR)


@case("5.5", "a frame of unknown type is ignored")
def unknown_frame_type(ctx):
    # "Implementations MUST ignore and discard frames of unknown types."
    conn = ctx.connect()
    conn.send(raw_frame(0xFA, 0xFF, 0, b"ignored"), raw_frame(0xFB, 0, 1, b"ignored too"))
    expect_alive(conn)
    conn.send(conn.request(1))
    status, _ = read_response(conn, 1)
    return f"then answered {status}"
