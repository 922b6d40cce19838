"""RFC 9113 §5.1 stream states and §5.1.1 stream identifiers."""

from hyperframe.frame import DataFrame, RstStreamFrame

from h2client import CANCEL, PROTOCOL_ERROR, STREAM_CLOSED, window_update
from registry import case
from verdicts import expect_alive, expect_connection_error, expect_stream_error, read_response


@case("5.1", "HEADERS on an idle stream opens it, and the request is answered")
def headers_open_stream(ctx):
    conn = ctx.connect()
    conn.send(conn.request(1))
    status, body = read_response(conn, 1)
    if status != "200" or body != b"Hello, World!":
        raise AssertionError(f"GET /plaintext answered {status} {body!r}")
    expect_alive(conn)
    return "200 Hello, World!"


@case("5.1", "DATA on an idle stream -> connection error PROTOCOL_ERROR")
def data_on_idle_stream(ctx):
    # idle: "Receiving any frame other than HEADERS or PRIORITY on a stream in this state
    # MUST be treated as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
    conn = ctx.connect()
    conn.send(DataFrame(1, data=b"x", flags=["END_STREAM"]))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("5.1", "WINDOW_UPDATE on an idle stream -> connection error PROTOCOL_ERROR")
def window_update_on_idle_stream(ctx):
    conn = ctx.connect()
    conn.send(window_update(1, 100))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("6.4", "RST_STREAM on an idle stream -> connection error PROTOCOL_ERROR")
def rst_stream_on_idle_stream(ctx):
    # "If a RST_STREAM frame identifying an idle stream is received, the recipient MUST treat
    # this as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
    conn = ctx.connect()
    conn.send(RstStreamFrame(1, error_code=CANCEL))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("5.1.1", "HEADERS on an even stream id from the client -> connection error PROTOCOL_ERROR")
def even_stream_id(ctx):
    # "Streams initiated by a client MUST use odd-numbered stream identifiers ... An endpoint
    # that receives an unexpected stream identifier MUST respond with a connection error
    # (Section 5.4.1) of type PROTOCOL_ERROR."
    conn = ctx.connect()
    conn.send(conn.request(2))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("5.1.1", "a new stream id lower than one already used -> connection error PROTOCOL_ERROR")
def decreasing_stream_id(ctx):
    # "The identifier of a newly established stream MUST be numerically greater than all
    # streams that the initiating endpoint has opened or reserved."
    conn = ctx.connect()
    conn.send(conn.request(5))
    read_response(conn, 5)
    conn.send(conn.request(3))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("5.1", "DATA after the client's END_STREAM (half-closed remote) -> STREAM_CLOSED")
def data_after_end_stream_half_closed(ctx):
    # half-closed (remote): "If an endpoint receives additional frames, other than
    # WINDOW_UPDATE, PRIORITY, or RST_STREAM, for a stream that is in this state, it MUST
    # respond with a stream error (Section 5.4.2) of type STREAM_CLOSED." Sent in the same
    # write as the request, before the server can have answered.
    conn = ctx.connect()
    conn.send(conn.request(1), DataFrame(1, data=b"late"))
    return expect_stream_error(conn, 1, STREAM_CLOSED)


@case("6.1", "DATA on a stream closed by END_STREAM both ways -> STREAM_CLOSED")
def data_after_end_stream_closed(ctx):
    # §6.1: "If a DATA frame is received whose stream is not in the "open" or "half-closed
    # (local)" state, the recipient MUST respond with a stream error (Section 5.4.2) of type
    # STREAM_CLOSED." §5.1 closed: "An endpoint MAY treat receipt of any other type of frame
    # on a closed stream as a connection error (Section 5.4.1) of type STREAM_CLOSED".
    conn = ctx.connect()
    conn.send(conn.request(1))
    read_response(conn, 1)
    conn.send(DataFrame(1, data=b"late"))
    return expect_stream_error(conn, 1, STREAM_CLOSED)


@case("5.1", "DATA after the client reset its own stream -> STREAM_CLOSED")
def data_after_client_reset(ctx):
    # closed: "A stream also enters the "closed" state after an endpoint either sends or
    # receives a RST_STREAM frame"; DATA on it then falls under §6.1 as above.
    conn = ctx.connect()
    conn.send(conn.request(1, method="POST", end_stream=False), RstStreamFrame(1, error_code=CANCEL))
    expect_alive(conn)
    conn.send(DataFrame(1, data=b"late"))
    return expect_stream_error(conn, 1, STREAM_CLOSED)


@case("4.1", "frames sent one octet per write: the request is answered, a late DATA still STREAM_CLOSED")
def octet_by_octet(ctx):
    # TCP carries a byte stream: frame boundaries owe nothing to the reads that deliver
    # them. The same rules as above must hold when every header arrives in pieces.
    conn = ctx.connect()
    conn.send_octet_by_octet(conn.request(1))
    status, _ = read_response(conn, 1)
    if status != "200":
        raise AssertionError(f"GET /plaintext sent octet by octet answered {status}")
    conn.send_octet_by_octet(DataFrame(1, data=b"late"))
    return f"answered {status}, then {expect_stream_error(conn, 1, STREAM_CLOSED)}"
