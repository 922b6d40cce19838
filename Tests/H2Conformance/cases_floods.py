"""Floods one connection can send: endless CONTINUATION (CVE-2024-27316 and kin) and rapid
reset (CVE-2023-44487). Each is bounded in octets, count and time, and the server's memory
(VmRSS of its process) is measured before and after."""

import time

from hyperframe.frame import ContinuationFrame, GoAwayFrame, HeadersFrame, RstStreamFrame

from flood import flood
from h2client import (CANCEL, COMPRESSION_ERROR, Closed, ENHANCE_YOUR_CALM, PROTOCOL_ERROR, error_name,
                      literal_field)
from registry import case
from verdicts import CaseFailed, expect_alive, expect_closed, read_response, rss_kib

MIB = 1 << 20
CONTINUATION_CAP = 64 * MIB      # what the flood sends at most: far past any sane limit
# Counted at the client, so the socket buffers of both ends (several MiB on loopback, filled
# in a millisecond) are part of what the server is said to have "taken"; its memory is
# bounded separately, by RSS.
CONTINUATION_REFUSED_BY = 8 * MIB  # the GOAWAY must be read before this much was sent
CONTINUATION_CLOSED_BY = 32 * MIB  # and the close seen before this much
RSS_GROWTH_BOUND_KIB = 16 * 1024  # what a flood may leave the server holding
RAPID_RESET_PAIRS = 4000
RAPID_RESET_BATCH = 100
FLOOD_SECONDS = 15


def _settle_rss(ctx):
    """The server's RSS once the flood's connection is gone (jemalloc returns freed pages
    lazily, so a moment is given)."""
    time.sleep(0.3)
    return rss_kib(ctx.pid)


def _continuation_chunks(conn, stream_id):
    """CONTINUATION frames of the largest allowed size, none with END_HEADERS, carrying
    whole valid literal fields (so only a size or count limit can stop them)."""
    size = conn.max_frame_size()
    field = literal_field("x-flood", "c" * 1000)
    period = field * (size // len(field) + 2)
    offset = 0
    while True:
        data = period[offset:offset + size]
        offset = (offset + size) % len(field)
        yield ContinuationFrame(stream_id, data=data).serialize()


@case("6.10, 10.5.1", "CONTINUATION flood: GOAWAY within 8 MiB, closed within 32 MiB, RSS +16 MiB at most")
def continuation_flood(ctx):
    # §10.5.1: "A server that receives a larger field block than it is willing to handle can
    # send an HTTP 431 ... The field block MUST be processed to ensure a consistent connection
    # state, unless the connection is closed." Endless CONTINUATION must end in a close: a
    # 431 alone would leave the server decoding forever. §10.5: ENHANCE_YOUR_CALM is for
    # "excessive load"; PROTOCOL_ERROR and COMPRESSION_ERROR name a broken block.
    conn = ctx.connect()
    before = rss_kib(ctx.pid) if ctx.pid else None
    conn.send(HeadersFrame(1, data=conn.header_block(), flags=["END_STREAM"]))
    out = flood(conn, _continuation_chunks(conn, 1), CONTINUATION_CAP, FLOOD_SECONDS, ctx.timeout)
    note = f"{out.sent // 1024} KiB sent in {out.seconds:.2f}s"
    problems = []
    if out.goaway is not None:
        note += f"; GOAWAY {error_name(out.goaway.error_code)} at {out.goaway_at // 1024} KiB"
        if out.goaway.error_code not in (ENHANCE_YOUR_CALM, PROTOCOL_ERROR, COMPRESSION_ERROR):
            problems.append(f"GOAWAY {error_name(out.goaway.error_code)} is no answer to a flood")
        if out.goaway_at > CONTINUATION_REFUSED_BY:
            problems.append(f"GOAWAY only after {out.goaway_at // MIB} MiB")
    if out.closed is not None:
        note += f"; closed ({out.closed.how}) at {out.closed_at // 1024} KiB"
        if out.closed_at > CONTINUATION_CLOSED_BY:
            problems.append(f"closed only after {out.closed_at // MIB} MiB")
    elif out.stalled:
        problems.append("the server stopped reading but kept the connection open")
    else:
        problems.append("the server took it all without closing the connection")
    if before is not None:
        # Taken before our side closes: a server still holding the connection holds its memory.
        grown = _settle_rss(ctx) - before
        note += f"; RSS {grown:+d} KiB"
        if grown > RSS_GROWTH_BOUND_KIB:
            problems.append(f"server RSS grew {grown // 1024} MiB")
    if problems:
        raise CaseFailed(f"{note}: {'; '.join(problems)}")
    return note


def _probe(ctx, when):
    """A fresh connection is served at once while (and after) another is flooding."""
    started = time.monotonic()
    try:
        conn = ctx.connect()
        conn.send(conn.request(1))
        status, _ = read_response(conn, 1)
    except CaseFailed as failure:
        raise CaseFailed(f"a fresh connection {when} the flood: {failure}") from None
    if status != "200":
        raise CaseFailed(f"a fresh connection {when} the flood was answered {status}")
    conn.close()
    return time.monotonic() - started


@case("CVE-2023-44487", "rapid reset: 4,000 HEADERS+RST_STREAM; served throughout; kept up or ENHANCE_YOUR_CALM")
def rapid_reset(ctx):
    attacker = ctx.connect()
    before = rss_kib(ctx.pid) if ctx.pid else None
    stream_id, pairs, goaway, closed, probes = 1, 0, None, None, []
    deadline = time.monotonic() + FLOOD_SECONDS
    for batch in range(RAPID_RESET_PAIRS // RAPID_RESET_BATCH):
        frames = []
        for _ in range(RAPID_RESET_BATCH):
            frames += [attacker.request(stream_id), RstStreamFrame(stream_id, error_code=CANCEL)]
            stream_id += 2
        sent = attacker.send(*frames)
        pairs += RAPID_RESET_BATCH if sent else 0
        # After a failed send, what the server wrote before closing is still to be read.
        while (frame := attacker.read_frame(0 if sent else ctx.timeout)) is not None:
            if isinstance(frame, GoAwayFrame) and goaway is None:
                goaway = frame
            if isinstance(frame, Closed):
                closed = frame.how
                break
        if not sent and not closed:
            raise CaseFailed(f"{pairs} pairs; the server refused more bytes but did not close")
        if closed or time.monotonic() > deadline:
            break
        if batch in (5, 20):
            probes.append(_probe(ctx, "during"))
    probes.append(_probe(ctx, "after"))
    note = f"{pairs} pairs; fresh connections served in {max(probes) * 1000:.0f} ms at worst"
    if goaway is not None:
        if goaway.error_code != ENHANCE_YOUR_CALM:
            raise CaseFailed(f"{note}; GOAWAY {error_name(goaway.error_code)}, expected ENHANCE_YOUR_CALM")
        if not closed:
            expect_closed(attacker, "GOAWAY ENHANCE_YOUR_CALM sent")
        note += f"; GOAWAY ENHANCE_YOUR_CALM (last stream {goaway.last_stream_id}), closed"
    elif closed:
        raise CaseFailed(f"{note}; the connection was closed ({closed}) without GOAWAY ENHANCE_YOUR_CALM")
    elif time.monotonic() > deadline:
        raise CaseFailed(f"{note}; the server did not keep up: {FLOOD_SECONDS}s passed")
    else:
        expect_alive(attacker, "the flooding connection, which got no GOAWAY,")
        attacker.send(attacker.request(stream_id))
        read_response(attacker, stream_id)
        note += "; kept up (still answering)"
    if before is not None:
        grown = _settle_rss(ctx) - before
        if grown > RSS_GROWTH_BOUND_KIB:
            raise CaseFailed(f"{note}; server RSS grew {grown // 1024} MiB")
        note += f"; RSS {grown:+d} KiB"
    return note
