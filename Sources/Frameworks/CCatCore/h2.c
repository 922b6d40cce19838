/*
 * HTTP/2 (RFC 9113) on the loop, with libnghttp2's server session doing the
 * framing, HPACK, flow control and protocol checks.
 *
 * A connection becomes HTTP/2 by prior knowledge (cleartext, its first bytes
 * are the connection preface; connection.c sniffs them) or by ALPN "h2"
 * after a TLS handshake. From then on connection.c hands every received byte
 * to cc__h2_input, which feeds nghttp2_session_mem_recv; our callbacks
 * collect each stream's request (pseudo-headers, fields, DATA) into a stream
 * struct and, once END_STREAM arrives, route it and call the handler right
 * there, on the loop, with the same cc_request / cc_exchange as HTTP/1.1.
 * cc_respond submits the response to the session (h2_response.c);
 * cc__h2_pump later copies nghttp2_session_mem_send's frames into the
 * connection's output buffer, so a batch of requests still ends in one
 * write. A handler may defer its stream (defer.c): the stream stays open,
 * the others go on, and the answer is submitted the same way when it comes
 * back; a stream reset or a session ended meanwhile orphans the deferred
 * record.
 *
 * On the way in, the client's bytes pass the frame guard (h2_guard.c): it
 * reads their frame headers for what RFC 9113 asks beyond nghttp2 -- frames
 * on closed streams nghttp2 has forgotten, stream-id order, and rapid reset
 * answered with ENHANCE_YOUR_CALM.
 *
 * Memory: stream structs (with their header, body and response buffers) come
 * from a per-loop free list, so a connection in steady state allocates
 * nothing of ours per request. nghttp2 allocates internally per stream (its
 * stream object, outbound items, the copied response header fields, HPACK
 * buffers); that is outside our control.
 */
#define _GNU_SOURCE
#include "core_internal.h"
#include "h2_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 9113 §3.4: "the connection preface starts with the string
 * PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" -- nghttp2 checks it itself. */

/* ------------------------------------------------------------------ */
/* Stream structs                                                       */
/* ------------------------------------------------------------------ */

static cc_h2_stream *stream_get(cc_conn *c, int32_t id) {
    cc_loop *L = c->loop;
    cc_h2_stream *st = L->h2_pool;
    if (st) {
        L->h2_pool = st->next;
        L->h2_npool--;
    } else {
        st = calloc(1, sizeof *st);
        if (!st) return NULL;
    }
    /* Only what a request reads before writing; hdr[] is filled as counted. */
    st->id = id;
    st->error = 0;
    st->complete = st->answered = false;
    st->deferred = NULL;
    st->has_method = st->has_path = st->has_authority = st->has_host = st->expect_continue = false;
    st->head_bytes = 0;
    st->content_length = -1;
    st->nhdr = 0;
    st->hlen = 0;
    st->blen = 0;
    st->olen = st->opos = 0;
    cc_h2 *h = c->h2;
    st->prev = NULL;
    st->next = h->streams;
    if (h->streams) h->streams->prev = st;
    h->streams = st;
    return st;
}

static void stream_destroy(cc_h2_stream *st) {
    free(st->hbuf);
    free(st->body);
    free(st->obuf);
    free(st);
}

/* Gives a request body's memory back once the handler is done with it, so
 * a connection's held body bytes stay within h2_body_budget. */
void cc__h2_stream_drop_body(cc_h2 *h, cc_h2_stream *st) {
    h->buffered -= st->blen;
    st->blen = 0;
    if (st->bcap > CC_BUF_SHRINK) {
        free(st->body);
        st->body = NULL;
        st->bcap = 0;
    }
}

static void stream_release(cc_conn *c, cc_h2_stream *st) {
    cc_h2 *h = c->h2;
    cc_loop *L = c->loop;
    /* Reset by the client or the session ended before the deferred answer
     * came: it will be dropped. */
    if (st->deferred) cc__defer_orphan(st->deferred);
    st->deferred = NULL;
    if (st->prev)
        st->prev->next = st->next;
    else
        h->streams = st->next;
    if (st->next) st->next->prev = st->prev;
    cc__h2_stream_drop_body(h, st);
    if (L->h2_npool >= CC_H2_STREAM_POOL_MAX) {
        stream_destroy(st);
        return;
    }
    /* Large buffers go back to nothing, as a connection's idle buffers do. */
    if (st->hcap > CC_BUF_SHRINK) {
        free(st->hbuf);
        st->hbuf = NULL;
        st->hcap = 0;
    }
    if (st->ocap > CC_BUF_SHRINK) {
        free(st->obuf);
        st->obuf = NULL;
        st->ocap = 0;
    }
    st->next = L->h2_pool;
    L->h2_pool = st;
    L->h2_npool++;
}

void cc__h2_free_pool(cc_loop *L) {
    while (L->h2_pool) {
        cc_h2_stream *n = L->h2_pool->next;
        stream_destroy(L->h2_pool);
        L->h2_pool = n;
    }
    L->h2_npool = 0;
}

/* Grows *buf to hold need bytes, doubling; false when out of memory. */
bool cc__h2_grow(char **buf, size_t *cap, size_t need, size_t first) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : first;
    while (n < need) n *= 2;
    char *b = realloc(*buf, n);
    if (!b) return false;
    *buf = b;
    *cap = n;
    return true;
}

/* Copies bytes into the stream's field storage; returns the offset or -1. */
static int64_t hbuf_put(cc_h2_stream *st, const uint8_t *p, size_t n) {
    size_t cap = st->hcap;
    if (!cc__h2_grow(&st->hbuf, &cap, (size_t)st->hlen + n, 512)) return -1;
    st->hcap = (uint32_t)cap;
    uint32_t at = st->hlen;
    if (n) memcpy(st->hbuf + at, p, n);
    st->hlen += (uint32_t)n;
    return at;
}

/* ------------------------------------------------------------------ */
/* Session callbacks (user_data is the cc_conn)                         */
/* ------------------------------------------------------------------ */

static cc_h2_stream *stream_of(nghttp2_session *session, int32_t id) {
    return nghttp2_session_get_stream_user_data(session, id);
}

static bool is_request_headers(const nghttp2_frame *f) {
    return f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST;
}

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
    cc_conn *c = user_data;
    if (!is_request_headers(frame)) return 0; /* trailers: the stream exists */
    cc_h2_stream *st = stream_get(c, frame->hd.stream_id);
    /* Out of memory: nghttp2 resets this stream (INTERNAL_ERROR). */
    if (!st) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, st);
    return 0;
}

static bool name_is(const uint8_t *name, size_t len, const char *lit, size_t lit_len) {
    return len == lit_len && memcmp(name, lit, len) == 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data) {
    (void)flags;
    cc_conn *c = user_data;
    /* Trailer fields are dropped, as the HTTP/1.1 chunked decoder does. */
    if (!is_request_headers(frame)) return 0;
    cc_h2_stream *st = stream_of(session, frame->hd.stream_id);
    if (!st || st->error) return 0;
    const cc_limits *lim = &c->loop->server->limits;
    /* Counted as in an HTTP/1.1 head ("name: value\r\n"), so one limit
     * means the same on both protocols. nghttp2 has already checked the
     * field (RFC 9113 §8.2.1: lowercase token names, no CR/LF/NUL, no
     * connection-specific fields; §8.3: pseudo-headers first, known, once). */
    size_t cost = namelen + valuelen + 4;
    if (cost > lim->max_header_bytes - st->head_bytes) {
        st->error = 431;
        return 0;
    }
    bool pseudo = namelen > 0 && name[0] == ':';
    if (!pseudo && st->nhdr >= lim->max_headers) {
        st->error = 431;
        return 0;
    }
    st->head_bytes += (uint32_t)cost;
    int64_t at = hbuf_put(st, name, namelen);
    if (at < 0 || hbuf_put(st, value, valuelen) < 0) {
        st->error = 503; /* out of memory: answered, not reset, so the client learns why */
        return 0;
    }
    uint32_t vat = (uint32_t)at + (uint32_t)namelen, vlen = (uint32_t)valuelen;
    if (pseudo) {
        if (name_is(name, namelen, ":method", 7)) {
            st->has_method = true;
            st->method_at = vat;
            st->method_len = vlen;
        } else if (name_is(name, namelen, ":path", 5)) {
            st->has_path = true;
            st->path_at = vat;
            st->path_len = vlen;
        } else if (name_is(name, namelen, ":authority", 10)) {
            st->has_authority = true;
            st->authority_at = vat;
            st->authority_len = vlen;
        }
        /* :scheme is checked by nghttp2 and not needed for routing. */
        return 0;
    }
    if (name_is(name, namelen, "host", 4)) {
        st->has_host = true;
    } else if (name_is(name, namelen, "content-length", 14)) {
        /* RFC 9110 §8.6: Content-Length = 1*DIGIT; nghttp2 has checked the
         * form and will check it against the DATA it receives. */
        int64_t v = 0;
        for (size_t i = 0; i < valuelen && v <= INT64_MAX / 10 - 10; i++) v = v * 10 + (value[i] - '0');
        st->content_length = v;
    } else if (name_is(name, namelen, "expect", 6) && valuelen == 12 &&
               cc__ieq((const char *)value, "100-continue", 12)) {
        st->expect_continue = true;
    }
    st->hdr[st->nhdr].at = (uint32_t)at;
    st->hdr[st->nhdr].name_len = (uint32_t)namelen;
    st->hdr[st->nhdr].value_len = vlen;
    st->nhdr++;
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data, size_t len,
                         void *user_data) {
    (void)flags;
    cc_conn *c = user_data;
    cc_h2_stream *st = stream_of(session, stream_id);
    if (!st || st->answered) return 0; /* answered early: the rest is discarded */
    const cc_server *s = c->loop->server;
    cc_h2 *h = c->h2;
    if (len > s->limits.max_body_bytes - st->blen) {
        st->error = 413;
    } else if (len > s->h2_body_budget - h->buffered) {
        /* Many streams uploading at once past what one connection may hold:
         * this one is refused, the others go on. */
        st->error = 503;
    } else {
        /* First chunk: room for the announced length, within the limit. */
        size_t first = st->content_length > 0 ? (size_t)st->content_length : 4096;
        if (cc__h2_grow(&st->body, &st->bcap, st->blen + len, first)) {
            memcpy(st->body + st->blen, data, len);
            st->blen += len;
            h->buffered += len;
            return 0;
        }
        st->error = 503;
    }
    cc__h2_answer(c, st);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
    cc_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
    cc_h2_stream *st = stream_of(session, frame->hd.stream_id);
    if (!st) return 0;
    bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (is_request_headers(frame) && !st->answered) {
        /* Reject an oversized body as soon as the head announces it. */
        if (!st->error && st->content_length > (int64_t)c->loop->server->limits.max_body_bytes) st->error = 413;
        if (!end && !st->error && st->expect_continue) {
            /* RFC 9110 §10.1.1: the client waits for 100 before the body. */
            static const nghttp2_nv cont = {(uint8_t *)":status", (uint8_t *)"100", 7, 3,
                                            NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
            nghttp2_submit_headers(session, NGHTTP2_FLAG_NONE, st->id, NULL, &cont, 1, NULL);
        }
    }
    if (end) st->complete = true;
    /* Errors are answered at once, before the body (if any) is all in. */
    if (end || st->error) cc__h2_answer(c, st);
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data) {
    (void)user_data;
    if ((frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    cc_h2_stream *st = stream_of(session, frame->hd.stream_id);
    /*
     * RFC 9113 §8.1: "A server can send a complete response prior to the
     * client sending an entire request ... When this is true, a server MAY
     * request that the client abort transmission of a request without error
     * by sending a RST_STREAM with an error code of NO_ERROR after sending a
     * complete response". We do after an early answer (413 and the like), so
     * the client stops uploading and the stream does not linger half-open.
     */
    if (st && !st->complete)
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data) {
    (void)error_code;
    cc_h2_stream *st = stream_of(session, stream_id);
    /* nghttp2 reads nothing of ours for a closed stream: recycle it now. */
    if (st) stream_release(user_data, st);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Server setup                                                         */
/* ------------------------------------------------------------------ */

bool cc__h2_setup(cc_server *s, char *err, size_t err_len) {
    s->h2_max_streams = s->cfg.h2_max_concurrent_streams ? s->cfg.h2_max_concurrent_streams : CC_H2_DEFAULT_MAX_STREAMS;
    /* Room for a few maximal uploads at once, and never less than 16 MiB. */
    size_t budget = (size_t)s->limits.max_body_bytes * 4;
    s->h2_body_budget = budget > (16u << 20) ? budget : (16u << 20);
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0) {
        if (err && err_len) snprintf(err, err_len, "out of memory");
        return false;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    s->h2_callbacks = cb;
    if (nghttp2_option_new(&s->h2_option) != 0) {
        if (err && err_len) snprintf(err, err_len, "out of memory");
        return false;
    }
    /* Deeper than the guard's bucket: rapid reset is answered ENHANCE_YOUR_CALM by the guard. */
    nghttp2_option_set_stream_reset_rate_limit(s->h2_option, 2 * CC_H2_RESET_BURST, CC_H2_RESET_RATE);
    return true;
}

void cc__h2_teardown(cc_server *s) {
    if (s->h2_callbacks) nghttp2_session_callbacks_del(s->h2_callbacks);
    if (s->h2_option) nghttp2_option_del(s->h2_option);
    s->h2_callbacks = NULL;
    s->h2_option = NULL;
}

/* ------------------------------------------------------------------ */
/* Connections                                                          */
/* ------------------------------------------------------------------ */

bool cc__h2_start(cc_conn *c) {
    const cc_server *s = c->loop->server;
    cc_h2 *h = calloc(1, sizeof *h);
    if (!h) return false;
    if (nghttp2_session_server_new2(&h->session, s->h2_callbacks, c, s->h2_option) != 0) {
        free(h);
        return false;
    }
    /*
     * RFC 9113 §3.4: "the server connection preface consists of a
     * potentially empty SETTINGS frame ... that MUST be the first frame the
     * server sends". Large windows so that a request body up to 1 MiB per
     * stream (16 MiB per connection) needs no WINDOW_UPDATE round trip;
     * nghttp2 sends WINDOW_UPDATEs as data is consumed. RFC 9218 §2.1:
     * SETTINGS_NO_RFC7540_PRIORITIES = 1, we do not use the priority tree
     * (and nghttp2 then keeps no closed streams for it).
     */
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->h2_max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, CC_H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0 ||
        nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, (int32_t)CC_H2_CONN_WINDOW) != 0) {
        nghttp2_session_del(h->session);
        free(h);
        return false;
    }
    cc__h2_guard_init(&h->guard, c->loop->now_ms);
    c->h2 = h;
    c->proto = CC_PROTO_H2;
    return true;
}

void cc__h2_input(cc_conn *c) {
    /* Backpressure as on HTTP/1.1: no new requests while the peer is not
     * reading our answers. */
    if (c->wlen - c->woff >= CC_OUT_HIGH) {
        c->held = true;
        return;
    }
    c->held = false;
    size_t n = c->rlen - c->rstart;
    if (n == 0) return;
    /* nghttp2 takes everything (it buffers partial frames itself), unless
     * the guard has ended the session: then nothing more. */
    ssize_t r =
        cc__h2_guard_recv(&c->h2->guard, c->h2->session, c->loop->now_ms, (const uint8_t *)c->rbuf + c->rstart, n);
    c->rstart = c->rlen = 0;
    if (r < 0) {
        /* Fatal for the session (a bad preface, a flood, out of memory).
         * Protocol errors nghttp2 handles itself with GOAWAY and keep r >= 0;
         * here we send one if we still can, then close. */
        nghttp2_session_terminate_session(c->h2->session, NGHTTP2_PROTOCOL_ERROR);
        c->closing = true;
        c->error_close = true;
    }
}

bool cc__h2_pump(cc_conn *c) {
    nghttp2_session *ss = c->h2->session;
    c->h2_more = false;
    for (;;) {
        if (c->wlen - c->woff >= CC_OUT_HIGH) {
            c->h2_more = nghttp2_session_want_write(ss) != 0;
            break;
        }
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(ss, &data);
        if (n < 0) return false;
        if (n == 0) break;
        if (!cc__out_append(c, (const char *)data, (size_t)n)) return false;
    }
    /* After GOAWAY both ways (ours sent, or the peer's with nothing left),
     * the session is over. */
    if (!nghttp2_session_want_read(ss) && !nghttp2_session_want_write(ss)) c->closing = true;
    return true;
}

void cc__h2_goaway(cc_conn *c, uint32_t error_code) {
    if (c->h2) nghttp2_session_terminate_session(c->h2->session, error_code);
}

bool cc__h2_waiting(const cc_conn *c) {
    for (const cc_h2_stream *st = c->h2 ? c->h2->streams : NULL; st; st = st->next)
        if (!st->complete && !st->answered) return true;
    return false;
}

void cc__h2_free(cc_conn *c) {
    cc_h2 *h = c->h2;
    if (!h) return;
    /* nghttp2_session_del calls no callbacks: our streams go back here. */
    nghttp2_session_del(h->session);
    while (h->streams) stream_release(c, h->streams);
    free(h);
    c->h2 = NULL;
}
