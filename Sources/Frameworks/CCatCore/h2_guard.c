/*
 * The HTTP/2 frame guard: the client's frame headers, read before nghttp2
 * gets the bytes. cc__h2_input (h2.c) passes everything the client sends
 * through cc__h2_guard_recv on its way to nghttp2_session_mem_recv.
 *
 * nghttp2 forgets a stream once it is closed (it keeps closed streams only
 * for the RFC 7540 priority tree, which we turned off) and then discards
 * whatever arrives for it. RFC 9113 asks for more in three places, caught by
 * reading the frame headers of the client's bytes before nghttp2 gets them
 * (§4.1: "Length: The length of the frame payload expressed as an unsigned
 * 24-bit integer", then the Type, Flags and 31-bit Stream Identifier):
 *
 * 1. DATA after the client's END_STREAM. §5.1 half-closed (remote): "If an
 *    endpoint receives additional frames, other than WINDOW_UPDATE, PRIORITY,
 *    or RST_STREAM, for a stream that is in this state, it MUST respond with a
 *    stream error (Section 5.4.2) of type STREAM_CLOSED." -- nghttp2 does that
 *    itself, as a connection error, while the stream is open. Once our answer
 *    has closed it, §6.1 still holds: "If a DATA frame is received whose
 *    stream is not in the "open" or "half-closed (local)" state, the recipient
 *    MUST respond with a stream error (Section 5.4.2) of type STREAM_CLOSED",
 *    and §5.1 closed: "An endpoint MAY treat receipt of any other type of
 *    frame on a closed stream as a connection error (Section 5.4.1) of type
 *    STREAM_CLOSED". So DATA or HEADERS on a stream the client ended itself
 *    (END_STREAM, or its RST_STREAM), or DATA on one it never opened, ends
 *    the connection with STREAM_CLOSED, as nghttp2 does while it is open. The
 *    client cannot have sent those in good faith. A stream that *we* reset
 *    stays exempt -- §5.1: "An endpoint that sends a RST_STREAM frame on a
 *    stream that is in the "open" or "half-closed (local)" state could
 *    receive any type of frame ... An endpoint MUST minimally process and
 *    then discard any frames it receives in this state" -- an upload cut short
 *    by our early 413, a stream refused past SETTINGS_MAX_CONCURRENT_STREAMS.
 * 2. §5.1.1: "The identifier of a newly established stream MUST be
 *    numerically greater than all streams that the initiating endpoint has
 *    opened or reserved. ... An endpoint that receives an unexpected stream
 *    identifier MUST respond with a connection error (Section 5.4.1) of type
 *    PROTOCOL_ERROR." -- HEADERS on an id below the highest, never opened.
 * 3. Rapid reset (CVE-2023-44487): client RST_STREAMs past a token bucket
 *    end the connection with ENHANCE_YOUR_CALM (§7: "The endpoint detected
 *    that its peer is exhibiting a behavior that might be generating
 *    excessive load"). nghttp2's own bucket would say INTERNAL_ERROR, so it is
 *    set twice as deep as ours and never empties first.
 *
 * The last CC_H2_ID_WINDOW client stream numbers are remembered; a frame for
 * an older stream is left to nghttp2, which discards it. The walk costs a few
 * operations per frame, and nghttp2 still gets each read in one call.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <string.h>

#define CC_H2_PREFACE_LEN 24u /* RFC 9113 §3.4: "a sequence of 24 octets" */

static inline uint32_t id_bit(int32_t id) { return ((uint32_t)id >> 1) % CC_H2_ID_WINDOW; }

static inline bool bit_get(const uint64_t *set, uint32_t i) { return (set[i >> 6] >> (i & 63)) & 1u; }

static inline void bit_put(uint64_t *set, uint32_t i, bool on) {
    if (on)
        set[i >> 6] |= 1ull << (i & 63);
    else
        set[i >> 6] &= ~(1ull << (i & 63));
}

/* A client stream id at or below the highest, still in the window. */
static bool id_known(const cc_h2_guard *g, int32_t id) {
    return id <= g->max_id && (uint32_t)(g->max_id - id) / 2 < CC_H2_ID_WINDOW;
}

/* A HEADERS frame names a new highest id. §5.1.1: "When a stream transitions
 * out of the "idle" state, all streams in the "idle" state that might have
 * been opened by the peer with a lower-valued stream identifier immediately
 * transition to "closed"": the numbers skipped are remembered as never opened. */
static void id_open(cc_h2_guard *g, int32_t id) {
    uint32_t from = g->max_id > 0 ? (uint32_t)g->max_id / 2 + 1 : 0, to = (uint32_t)id / 2;
    if (to - from >= CC_H2_ID_WINDOW) {
        memset(g->opened, 0, sizeof g->opened);
        memset(g->ended, 0, sizeof g->ended);
    } else {
        for (uint32_t n = from; n <= to; n++) {
            bit_put(g->opened, n % CC_H2_ID_WINDOW, false);
            bit_put(g->ended, n % CC_H2_ID_WINDOW, false);
        }
    }
    bit_put(g->opened, id_bit(id), true);
    g->max_id = id;
}

/* Takes a token for one client RST_STREAM; false when the bucket is empty. */
static bool reset_allowed(cc_h2_guard *g, uint64_t now_ms) {
    uint64_t earned = (now_ms - g->reset_refill_ms) * CC_H2_RESET_RATE / 1000;
    if (earned) {
        uint64_t tokens = g->reset_tokens + earned;
        g->reset_tokens = tokens > CC_H2_RESET_BURST ? CC_H2_RESET_BURST : (uint32_t)tokens;
        g->reset_refill_ms = now_ms;
    }
    if (g->reset_tokens == 0) return false;
    g->reset_tokens--;
    return true;
}

/* One client frame header: 0 to pass the frame on, else the error code that
 * ends the connection before it. */
static uint32_t guard_frame(cc_h2_guard *g, uint64_t now_ms, uint8_t type, uint8_t flags, int32_t id) {
    if (type == NGHTTP2_RST_STREAM && !reset_allowed(g, now_ms)) return NGHTTP2_ENHANCE_YOUR_CALM;
    if (id <= 0 || !(id & 1)) return 0; /* stream 0 and even ids: nghttp2's rules */
    switch (type) {
    case NGHTTP2_HEADERS:
        if (id > g->max_id) {
            id_open(g, id);
            break;
        }
        if (!id_known(g, id)) return 0;
        if (!bit_get(g->opened, id_bit(id))) return NGHTTP2_PROTOCOL_ERROR;
        if (bit_get(g->ended, id_bit(id))) return NGHTTP2_STREAM_CLOSED;
        break;
    case NGHTTP2_DATA:
        /* Above the highest: an idle stream, nghttp2's PROTOCOL_ERROR. */
        if (!id_known(g, id)) return 0;
        if (!bit_get(g->opened, id_bit(id)) || bit_get(g->ended, id_bit(id))) return NGHTTP2_STREAM_CLOSED;
        break;
    case NGHTTP2_RST_STREAM:
        if (id_known(g, id)) bit_put(g->ended, id_bit(id), true);
        return 0;
    default: return 0;
    }
    if (flags & NGHTTP2_FLAG_END_STREAM) bit_put(g->ended, id_bit(id), true);
    return 0;
}

void cc__h2_guard_init(cc_h2_guard *g, uint64_t now_ms) {
    *g = (cc_h2_guard){0};
    g->preface_left = CC_H2_PREFACE_LEN;
    g->reset_tokens = CC_H2_RESET_BURST;
    g->reset_refill_ms = now_ms;
}

ssize_t cc__h2_guard_recv(cc_h2_guard *g, nghttp2_session *session, uint64_t now_ms, const uint8_t *in, size_t n) {
    if (g->refused) return (ssize_t)n;
    size_t at = 0;
    while (at < n) {
        size_t k;
        if (g->preface_left || g->payload_left) {
            uint32_t *left = g->preface_left ? &g->preface_left : &g->payload_left;
            k = n - at < *left ? n - at : *left;
            *left -= (uint32_t)k;
            at += k;
            continue;
        }
        k = n - at < 9u - g->head_len ? n - at : 9u - g->head_len;
        memcpy(g->head + g->head_len, in + at, k);
        g->head_len += (uint8_t)k;
        at += k;
        if (g->head_len < 9) continue;
        const uint8_t *hd = g->head;
        g->head_len = 0;
        g->payload_left = (uint32_t)hd[0] << 16 | (uint32_t)hd[1] << 8 | hd[2];
        int32_t id = (int32_t)((uint32_t)(hd[5] & 0x7f) << 24 | (uint32_t)hd[6] << 16 | (uint32_t)hd[7] << 8 | hd[8]);
        uint32_t error = guard_frame(g, now_ms, hd[3], hd[4], id);
        if (!error) continue;
        /* The frames before this one first, so the GOAWAY names the last
         * stream processed; the header's own bytes (at - k: a header begun in
         * an earlier read is already with nghttp2) and the rest never go. */
        ssize_t r = at > k ? nghttp2_session_mem_recv(session, in, at - k) : 0;
        if (r < 0) return r;
        g->refused = true;
        if (nghttp2_session_terminate_session(session, error) != 0) return NGHTTP2_ERR_NOMEM;
        return (ssize_t)n;
    }
    return nghttp2_session_mem_recv(session, in, n);
}
