"""RFC 9113 §6.7: PING."""

from hyperframe.frame import GoAwayFrame, PingFrame

from h2client import FRAME_SIZE_ERROR, PING, PROTOCOL_ERROR, Closed, error_name, raw_frame
from registry import case
from verdicts import CaseFailed, expect_connection_error

ACK = 0x1


@case("6.7", "PING is answered with ACK and the same payload")
def ping_answered(ctx):
    # "Receivers of a PING frame that does not include an ACK flag MUST send a PING frame
    # with the ACK flag set in response, with an identical frame payload."
    conn = ctx.connect()
    payload = bytes(range(0xF0, 0xF8))
    conn.send(PingFrame(0, opaque_data=payload))
    while True:
        frame = conn.read_frame()
        if frame is None or isinstance(frame, Closed):
            raise CaseFailed(f"no PING ACK ({frame!r})")
        if isinstance(frame, GoAwayFrame):
            raise CaseFailed(f"GOAWAY {error_name(frame.error_code)} instead of a PING ACK")
        if isinstance(frame, PingFrame):
            if "ACK" not in frame.flags or frame.opaque_data != payload:
                raise CaseFailed(f"answered with {frame!r}, expected ACK with payload {payload!r}")
            return "ACK, same payload"


@case("6.7", "a PING ACK is not answered")
def ping_ack_not_answered(ctx):
    # "An endpoint MUST NOT respond to PING frames containing this flag." An unsolicited ACK
    # is sent, then a PING: the first PING frame back must be the answer to the second.
    conn = ctx.connect()
    conn.send(raw_frame(PING, ACK, 0, b"unasked!"), PingFrame(0, opaque_data=b"question"))
    while True:
        frame = conn.read_frame()
        if frame is None or isinstance(frame, Closed):
            raise CaseFailed(f"the PING sent after the ACK was not answered ({frame!r})")
        if isinstance(frame, GoAwayFrame):
            raise CaseFailed(f"GOAWAY {error_name(frame.error_code)}")
        if isinstance(frame, PingFrame):
            if frame.opaque_data != b"question":
                raise CaseFailed(f"answered the PING ACK: {frame!r}")
            return "ignored"


@case("6.7", "PING with a length other than 8 -> connection error FRAME_SIZE_ERROR")
def ping_wrong_length(ctx):
    # "Receipt of a PING frame with a length field value other than 8 MUST be treated as a
    # connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(PING, 0, 0, b"1234567"))
    return expect_connection_error(conn, FRAME_SIZE_ERROR)


@case("6.7", "PING on a stream other than 0 -> connection error PROTOCOL_ERROR")
def ping_on_stream(ctx):
    # "If a PING frame is received with a Stream Identifier field value other than 0x00, the
    # recipient MUST respond with a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(PING, 0, 1, b"12345678"))
    return expect_connection_error(conn, PROTOCOL_ERROR)
