"""RFC 9113 §6.5: the SETTINGS frame, its parameters and its acknowledgement."""

from hyperframe.frame import SettingsFrame

from h2client import (ENABLE_PUSH, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR, INITIAL_WINDOW_SIZE,
                      MAX_FRAME_SIZE, PROTOCOL_ERROR, SETTINGS, raw_frame, settings_payload)
from registry import case
from verdicts import CaseFailed, expect_alive, expect_connection_error, read_response

ACK = 0x1


@case("6.5.3", "the server acknowledges the client's SETTINGS")
def settings_acknowledged(ctx):
    # "the recipient of a SETTINGS frame in which the ACK flag is not set MUST apply the
    # updated settings as soon as possible upon receipt. ... Once all values have been
    # processed, the recipient MUST immediately emit a SETTINGS frame with the ACK flag set."
    # (The handshake already waited for the acknowledgement of the preface's SETTINGS; this
    # is a second one, mid-connection.)
    conn = ctx.connect()
    conn.send(SettingsFrame(0, settings={INITIAL_WINDOW_SIZE: 100000, MAX_FRAME_SIZE: 20000}))
    seen = expect_alive(conn)
    if not any(isinstance(f, SettingsFrame) and "ACK" in f.flags for f in seen):
        raise CaseFailed("no SETTINGS ACK before the PING answer sent after the SETTINGS")
    return "ACK"


@case("6.5", "SETTINGS with ACK and a payload -> connection error FRAME_SIZE_ERROR")
def settings_ack_with_payload(ctx):
    # "Receipt of a SETTINGS frame with the ACK flag set and a length field value other than
    # 0 MUST be treated as a connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, ACK, 0, settings_payload([(INITIAL_WINDOW_SIZE, 65535)])))
    return expect_connection_error(conn, FRAME_SIZE_ERROR)


@case("6.5", "SETTINGS with a length not a multiple of 6 -> connection error FRAME_SIZE_ERROR")
def settings_bad_length(ctx):
    # "A SETTINGS frame with a length other than a multiple of 6 octets MUST be treated as a
    # connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, 0, 0, settings_payload([(INITIAL_WINDOW_SIZE, 65535)]) + b"\x00\x01\x02"))
    return expect_connection_error(conn, FRAME_SIZE_ERROR)


@case("6.5", "SETTINGS on a stream other than 0 -> connection error PROTOCOL_ERROR")
def settings_on_stream(ctx):
    # "If an endpoint receives a SETTINGS frame whose Stream Identifier field is anything
    # other than 0x00, the endpoint MUST respond with a connection error (Section 5.4.1) of
    # type PROTOCOL_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, 0, 1, settings_payload([(INITIAL_WINDOW_SIZE, 65535)])))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("6.5.2", "SETTINGS_ENABLE_PUSH other than 0 or 1 -> connection error PROTOCOL_ERROR")
def enable_push_invalid(ctx):
    # "Any value other than 0 or 1 MUST be treated as a connection error (Section 5.4.1) of
    # type PROTOCOL_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, 0, 0, settings_payload([(ENABLE_PUSH, 2)])))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("6.5.2", "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 -> connection error FLOW_CONTROL_ERROR")
def initial_window_too_large(ctx):
    # "Values above the maximum flow-control window size of 2^31-1 MUST be treated as a
    # connection error (Section 5.4.1) of type FLOW_CONTROL_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, 0, 0, settings_payload([(INITIAL_WINDOW_SIZE, 2**31)])))
    return expect_connection_error(conn, FLOW_CONTROL_ERROR)


@case("6.5.2", "SETTINGS_MAX_FRAME_SIZE below 2^14 -> connection error PROTOCOL_ERROR")
def max_frame_size_too_small(ctx):
    # "The value advertised by an endpoint MUST be between this initial value and the
    # maximum allowed frame size (2^24-1 or 16,777,215 octets), inclusive. Values outside
    # this range MUST be treated as a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, 0, 0, settings_payload([(MAX_FRAME_SIZE, 2**14 - 1)])))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("6.5.2", "SETTINGS_MAX_FRAME_SIZE above 2^24-1 -> connection error PROTOCOL_ERROR")
def max_frame_size_too_large(ctx):
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, 0, 0, settings_payload([(MAX_FRAME_SIZE, 2**24)])))
    return expect_connection_error(conn, PROTOCOL_ERROR)


@case("6.5.2", "an unknown setting is ignored")
def unknown_setting_ignored(ctx):
    # "An endpoint that receives a SETTINGS frame with any unknown or unsupported identifier
    # MUST ignore that setting."
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, 0, 0, settings_payload([(0xFF0F, 12345), (0x77, 0)])))
    expect_alive(conn)
    conn.send(conn.request(1))
    status, _ = read_response(conn, 1)
    return f"then answered {status}"
