"""RFC 9113 §5.4.1: what follows a connection error."""

from hyperframe.frame import GoAwayFrame, PingFrame

from h2client import PROTOCOL_ERROR, SETTINGS, Closed, error_name, raw_frame, settings_payload
from registry import case
from verdicts import CaseFailed, expect_closed


@case("5.4.1", "after GOAWAY for a connection error the server closes the TCP connection")
def closes_after_goaway(ctx):
    # "An endpoint that encounters a connection error SHOULD first send a GOAWAY frame ...
    # After sending the GOAWAY frame for an error condition, the endpoint MUST close the TCP
    # connection." The client keeps talking after the GOAWAY, as a careless or hostile one
    # would; the close must come anyway.
    conn = ctx.connect()
    conn.send(raw_frame(SETTINGS, 0, 1, settings_payload([])))  # SETTINGS on a stream: §6.5
    while True:
        frame = conn.read_frame()
        if frame is None:
            raise CaseFailed(f"no GOAWAY within {ctx.timeout:g}s for SETTINGS on stream 1")
        if isinstance(frame, Closed):
            return "closed without GOAWAY"
        if isinstance(frame, GoAwayFrame):
            break
    if frame.error_code != PROTOCOL_ERROR:
        raise CaseFailed(f"GOAWAY {error_name(frame.error_code)}, expected PROTOCOL_ERROR")
    for i in range(3):
        if not conn.send(PingFrame(0, opaque_data=b"still%03d" % i)):
            return "closed"
    how = expect_closed(conn, "GOAWAY PROTOCOL_ERROR sent")
    return f"GOAWAY, then closed ({how.how})"
