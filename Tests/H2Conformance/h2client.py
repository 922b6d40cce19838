"""One HTTP/2 client connection for conformance cases: frames in and out, nothing checked.

Frames are built and parsed with hyperframe, header blocks with hpack. The client
never validates what the server sends beyond parsing it: deciding what is right is
the cases' job (verdicts.py). A frame the client must send malformed on purpose is
built with `raw_frame`, which writes any type, flags, stream and payload.
"""

import select
import socket
import struct
import time

from hpack import Decoder, Encoder
from hpack.hpack import encode_integer
from hyperframe.frame import ExtensionFrame, Frame, GoAwayFrame, HeadersFrame, SettingsFrame

# RFC 9113 §3.4: "the client connection preface starts with a sequence of 24 octets".
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# RFC 9113 §7, error codes.
NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0x0, 0x1, 0x2, 0x3
SETTINGS_TIMEOUT, STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM = 0x4, 0x5, 0x6, 0x7
CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM = 0x8, 0x9, 0xA, 0xB
ERROR_NAMES = {
    0x0: "NO_ERROR", 0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR", 0x3: "FLOW_CONTROL_ERROR",
    0x4: "SETTINGS_TIMEOUT", 0x5: "STREAM_CLOSED", 0x6: "FRAME_SIZE_ERROR", 0x7: "REFUSED_STREAM",
    0x8: "CANCEL", 0x9: "COMPRESSION_ERROR", 0xA: "CONNECT_ERROR", 0xB: "ENHANCE_YOUR_CALM",
    0xC: "INADEQUATE_SECURITY", 0xD: "HTTP_1_1_REQUIRED",
}

# RFC 9113 §6.5.2, setting identifiers.
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS = 0x1, 0x2, 0x3
INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = 0x4, 0x5, 0x6

# RFC 9113 §6, frame types.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0x0, 0x1, 0x2, 0x3, 0x4, 0x5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 0x6, 0x7, 0x8, 0x9


def error_name(code):
    return ERROR_NAMES.get(code, f"0x{code:x}")


def raw_frame(frame_type, flags, stream_id, payload=b""):
    """Any frame at all, also one the RFC forbids: hyperframe's ExtensionFrame writes
    the type, flag byte and payload as given."""
    frame = ExtensionFrame(type=frame_type, stream_id=stream_id, flag_byte=flags, body=payload)
    frame.body_len = len(payload)  # set by parse_body only; serialize reads it
    return frame.serialize()


class Closed:
    """The server ended the TCP connection: `how` is "eof" (FIN) or "reset" (RST)."""

    def __init__(self, how):
        self.how = how

    def __repr__(self):
        return f"Closed({self.how})"


class H2Connection:
    """A client connection to 127.0.0.1:port speaking h2c with prior knowledge."""

    def __init__(self, port, timeout):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.encoder = Encoder()
        self.decoder = Decoder()
        self.inbox = bytearray()
        self.closed = None          # a Closed once the server ended the connection
        self.server_settings = {}   # the server's SETTINGS as received
        self.received = []          # every frame received, in order (for messages)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- sending -------------------------------------------------------------

    def send(self, *frames):
        """Sends frames (hyperframe objects or bytes) in one write; False if the server
        has closed. What it sent before closing can still be read: read_frame ends in the
        Closed once those frames are all read."""
        data = b"".join(f if isinstance(f, (bytes, bytearray)) else f.serialize() for f in frames)
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def send_octet_by_octet(self, *frames, pause=0.001):
        """Sends frames one octet per write (TCP_NODELAY is on), so that the server reads
        them in pieces that split every frame header and payload."""
        data = b"".join(f if isinstance(f, (bytes, bytearray)) else f.serialize() for f in frames)
        for i in range(len(data)):
            if not self.send(data[i:i + 1]):
                return False
            time.sleep(pause)
        return True

    def header_block(self, path="/plaintext", method="GET", extra=()):
        """The encoded header block of a request (this connection's HPACK state)."""
        fields = [(":method", method), (":scheme", "http"), (":path", path),
                  (":authority", "127.0.0.1")] + list(extra)
        return self.encoder.encode(fields)

    def request(self, stream_id, path="/plaintext", method="GET", end_stream=True, end_headers=True):
        """A HEADERS frame opening a request on stream_id."""
        flags = (["END_STREAM"] if end_stream else []) + (["END_HEADERS"] if end_headers else [])
        return HeadersFrame(stream_id, data=self.header_block(path, method), flags=flags)

    # -- receiving -----------------------------------------------------------

    def read_frame(self, timeout=None):
        """The next frame, a Closed, or None when nothing came within the timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            frame = self._parse_one()
            if frame is not None:
                return frame
            if self.closed:
                return self.closed
            left = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.sock], [], [], left)
            if not readable:
                return None
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionResetError:
                chunk, self.closed = b"", Closed("reset")
            except BlockingIOError:
                continue
            if not chunk:
                self.closed = self.closed or Closed("eof")
            self.inbox += chunk

    def _parse_one(self):
        if len(self.inbox) < 9:
            return None
        frame, length = Frame.parse_frame_header(memoryview(bytes(self.inbox[:9])))
        if len(self.inbox) < 9 + length:
            return None
        body = bytes(self.inbox[9:9 + length])
        del self.inbox[:9 + length]
        frame.parse_body(memoryview(body))
        if isinstance(frame, HeadersFrame) and "END_HEADERS" in frame.flags:
            # Every server header block goes through the decoder, or its dynamic table
            # would drift from the server's.
            frame.fields = self.decoder.decode(frame.data)
        if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
            self.server_settings.update(frame.settings)
        self.received.append(frame)
        return frame

    # -- the preface ---------------------------------------------------------

    def handshake(self, settings=None):
        """Sends the preface with `settings`, acknowledges the server's SETTINGS and waits
        for the acknowledgement of ours (RFC 9113 §3.4, §6.5.3). Raises if either is
        missing, so a case fails for the right reason."""
        self.send(PREFACE, SettingsFrame(0, settings=settings or {}))
        got_settings = got_ack = False
        deadline = time.monotonic() + self.timeout
        while not (got_settings and got_ack):
            frame = self.read_frame(max(0.0, deadline - time.monotonic()))
            if frame is None or isinstance(frame, Closed):
                raise AssertionError(f"handshake: no {'SETTINGS' if not got_settings else 'SETTINGS ACK'} "
                                     f"from the server ({frame!r})")
            if isinstance(frame, SettingsFrame):
                if "ACK" in frame.flags:
                    got_ack = True
                else:
                    got_settings = True
                    self.send(SettingsFrame(0, flags=["ACK"]))
            elif isinstance(frame, GoAwayFrame):
                raise AssertionError(f"handshake: GOAWAY {error_name(frame.error_code)}")
        return self

    def max_frame_size(self):
        return self.server_settings.get(MAX_FRAME_SIZE, 16384)


def window_update(stream_id, increment):
    """WINDOW_UPDATE with any 31-bit increment, 0 included (hyperframe refuses 0)."""
    return raw_frame(WINDOW_UPDATE, 0, stream_id, struct.pack("!L", increment & 0x7FFFFFFF))


def literal_field(name, value):
    """One header field as "Literal Header Field without Indexing -- New Name" (RFC 7541
    §6.2.2): valid HPACK that leaves the dynamic tables alone, so it can be repeated."""
    name, value = name.encode(), value.encode()
    return (b"\x00" + bytes(encode_integer(len(name), 7)) + name
            + bytes(encode_integer(len(value), 7)) + value)


def filler_block(size):
    """At least `size` octets of valid header block made of whole literal fields."""
    field = literal_field("x-filler", "f" * 1000)
    return field * (size // len(field) + 1)


def settings_payload(pairs):
    """A SETTINGS payload of (identifier, value) pairs, values unchecked."""
    return b"".join(struct.pack("!HL", ident, value) for ident, value in pairs)
