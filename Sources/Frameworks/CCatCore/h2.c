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
 * cc_respond submits the response to the session; cc__h2_pump later copies
 * nghttp2_session_mem_send's frames into the connection's output buffer, so
 * a batch of requests still ends in one write. A handler may defer its
 * stream (defer.c): the stream stays open, the others go on, and the answer
 * is submitted the same way when it comes back; a stream reset or a
 * session ended meanwhile orphans the deferred record.
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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cc_h2_stream {
    cc_h2_stream *next, *prev; /* the connection's streams; the loop's pool through next */
    int32_t id;
    uint16_t error;        /* status the core answers instead of routing (413, 431, 503); 0 if none */
    bool complete;         /* END_STREAM received: the whole request is here */
    bool answered;         /* a response was submitted, deferred, or the stream was given up */
    cc_deferred *deferred; /* the handler deferred: the answer comes later (defer.c) */
    bool has_method, has_path, has_authority, has_host, expect_continue;
    uint32_t head_bytes; /* field bytes counted against max_header_bytes */
    uint32_t method_at, method_len, path_at, path_len, authority_at, authority_len;
    int64_t content_length; /* -1 when absent */
    uint32_t nhdr;
    struct {
        uint32_t at, name_len, value_len; /* name at hbuf + at, the value right after it */
    } hdr[CC_MAX_HEADERS_CAP];
    /* buffers, kept across reuse */
    char *hbuf; /* field names and values */
    uint32_t hlen, hcap;
    char *body; /* request body */
    size_t blen, bcap;
    char *obuf; /* response body, until DATA frames have carried it */
    size_t olen, opos, ocap;
};

struct cc_h2 {
    nghttp2_session *session;
    cc_h2_stream *streams; /* every stream we hold state for */
    size_t buffered;       /* request body bytes held over all streams */
    cc_h2_guard guard;     /* the client's frame headers, read ahead of nghttp2 (h2_guard.c) */
};

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
static void stream_drop_body(cc_h2 *h, cc_h2_stream *st) {
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
    stream_drop_body(h, st);
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
static bool grow(char **buf, size_t *cap, size_t need, size_t first) {
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
    if (!grow(&st->hbuf, &cap, (size_t)st->hlen + n, 512)) return -1;
    st->hcap = (uint32_t)cap;
    uint32_t at = st->hlen;
    if (n) memcpy(st->hbuf + at, p, n);
    st->hlen += (uint32_t)n;
    return at;
}

/* ------------------------------------------------------------------ */
/* Answering a stream                                                   */
/* ------------------------------------------------------------------ */

static cc_slice hslice(const cc_h2_stream *st, uint32_t at, uint32_t len) { return (cc_slice){st->hbuf + at, len}; }

static void fill_request(const cc_h2_stream *st, cc_request *req) {
    req->method_text = st->has_method ? hslice(st, st->method_at, st->method_len) : (cc_slice){"", 0};
    req->method = cc__method_from(req->method_text.at, req->method_text.len);
    /*
     * RFC 9113 §8.3.1: ":path ... contains the path and query parts of the
     * target URI (the absolute-path production and, optionally, a '?'
     * character followed by the query production)". nghttp2 has checked it
     * is non-empty and starts with '/' (or is "*" for OPTIONS).
     */
    cc_slice t = st->has_path ? hslice(st, st->path_at, st->path_len) : (cc_slice){"/", 1};
    req->target = t;
    const char *q = memchr(t.at, '?', t.len);
    if (q) {
        req->path = (cc_slice){t.at, (uint32_t)(q - t.at)};
        req->query = (cc_slice){q + 1, (uint32_t)(t.len - req->path.len - 1)};
    } else {
        req->path = t;
        req->query = (cc_slice){t.at + t.len, 0};
    }
    req->version_minor = 1;
    req->keep_alive = 1;
    req->chunked = 0;
    req->expect_continue = st->expect_continue;
    req->http_major = 2;
    uint32_t n = 0;
    /* RFC 9113 §8.3.1: ":authority ... Clients that generate HTTP/2
     * requests directly MUST use the :authority pseudo-header field to
     * convey authority information, unless there is no authority
     * information to convey". Handlers written for HTTP/1.1 look at Host:
     * give them one, as an intermediary translating to HTTP/1.1 must. */
    if (st->has_authority && !st->has_host && st->nhdr < CC_MAX_HEADERS_CAP) {
        req->headers[n].name = (cc_slice){"host", 4};
        req->headers[n].value = hslice(st, st->authority_at, st->authority_len);
        n++;
    }
    for (uint32_t i = 0; i < st->nhdr && n < CC_MAX_HEADERS_CAP; i++, n++) {
        req->headers[n].name = hslice(st, st->hdr[i].at, st->hdr[i].name_len);
        req->headers[n].value = hslice(st, st->hdr[i].at + st->hdr[i].name_len, st->hdr[i].value_len);
    }
    req->num_headers = n;
    req->body = (cc_slice){st->body ? st->body : "", (uint32_t)st->blen};
}

/* Routes the stream's request (or answers its error) -- once. */
static void answer(cc_conn *c, cc_h2_stream *st) {
    if (st->answered) return;
    st->answered = true;
    cc_loop *L = c->loop;
    fill_request(st, &L->req);
    cc_exchange ex;
    ex.conn = c;
    ex.stream = st;
    ex.req = &L->req;
    ex.extra_len = 0;
    ex.responded = false;
    ex.failed = false;
    ex.deferred = NULL;
    ex.close = false;
    ex.send_body = L->req.method != CC_METHOD_HEAD;
    ex.ka10 = false;
    if (st->error) {
        memset(&ex.match, 0, sizeof ex.match);
        ex.responded = true;
        if (!cc__answer_error(&ex, st->error, NULL, 0)) ex.failed = true;
    } else {
        cc__route(&ex);
    }
    /* Out of memory for the answer: end the stream rather than leave it
     * hanging (the connection and its other streams go on). */
    if (ex.failed) nghttp2_submit_rst_stream(c->h2->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    stream_drop_body(c->h2, st);
}

static ssize_t read_body(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length, uint32_t *data_flags,
                         nghttp2_data_source *source, void *user_data) {
    (void)session;
    (void)stream_id;
    (void)user_data;
    cc_h2_stream *st = source->ptr;
    size_t n = st->olen - st->opos;
    if (n > length) n = length;
    memcpy(buf, st->obuf + st->opos, n);
    st->opos += n;
    if (st->opos == st->olen) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/*
 * RFC 9113 §8.2.2: "An endpoint MUST NOT generate an HTTP/2 message
 * containing connection-specific header fields. This includes the
 * Connection header field and those listed as having connection-specific
 * semantics ... (that is, Proxy-Connection, Keep-Alive, Transfer-Encoding,
 * and Upgrade)". A handler written for HTTP/1.1 may add them: drop them.
 */
static bool connection_specific(const char *n, size_t len) {
    switch (len) {
    case 7: return cc__ieq(n, "upgrade", 7);
    case 10: return cc__ieq(n, "connection", 10) || cc__ieq(n, "keep-alive", 10);
    case 16: return cc__ieq(n, "proxy-connection", 16);
    case 17: return cc__ieq(n, "transfer-encoding", 17);
    default: return false;
    }
}

static inline bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Names we pass are lowercase literals that outlive the frame; values are
 * copied by nghttp2 unless flagged. */
#define NV_LIT(name, value, value_len, flags)                                                                          \
    ((nghttp2_nv){(uint8_t *)(name), (uint8_t *)(value), sizeof(name) - 1, (value_len),                                \
                  (uint8_t)(NGHTTP2_NV_FLAG_NO_COPY_NAME | (flags))})

bool cc__h2_submit(cc_exchange *ex, int status, const char *ctype, size_t ctype_len, const char *extra,
                   size_t extra_len, const void *body, size_t body_len) {
    cc_conn *c = ex->conn;
    cc_h2_stream *st = ex->stream;
    cc_loop *L = c->loop;
    const cc_server *s = L->server;
    /* RFC 9110 §8.6 as on HTTP/1.1: no Content-Length (and no body) in
     * 1xx/204/304; HEAD gets the length the body would have. */
    bool no_content = status < 200 || status == 204 || status == 304;
    bool send_body = ex->send_body && !no_content && body_len > 0;

    char status_text[3] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10), (char)('0' + status % 10)};
    char length_text[24];
    size_t length_len = 0;
    {
        char tmp[24];
        uint64_t v = body_len;
        do {
            tmp[length_len++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        for (size_t i = 0; i < length_len; i++) length_text[i] = tmp[length_len - 1 - i];
    }
    nghttp2_nv *nv = L->h2_nv;
    size_t n = 0;
    nv[n++] = NV_LIT(":status", status_text, 3, 0);
    /* "Server: name\r\n" and "Date: ...\r\n": the values without name and CRLF.
     * The server's name outlives every session; the Date buffer is rewritten
     * each second, so it is copied. */
    nv[n++] = NV_LIT("server", s->server_hdr + 8, s->server_hdr_len - 10, NGHTTP2_NV_FLAG_NO_COPY_VALUE);
    nv[n++] = NV_LIT("date", L->date_hdr + 6, L->date_hdr_len - 8, 0);
    if (ctype) {
        /* RFC 9113 §8.2.1: a field value must not start or end with
         * whitespace (peers reject such a message). */
        while (ctype_len && is_ows(*ctype)) ctype++, ctype_len--;
        while (ctype_len && is_ows(ctype[ctype_len - 1])) ctype_len--;
        nv[n++] = NV_LIT("content-type", ctype, ctype_len, 0);
    }
    if (!no_content) nv[n++] = NV_LIT("content-length", length_text, length_len, 0);
    /* Added headers arrive as "Name: value\r\n" lines (cc_exchange_add_header
     * checked them). nghttp2 lowercases the names it copies (RFC 9113
     * §8.2.1: "field names MUST be converted to lowercase"). */
    for (size_t i = 0; i < extra_len && n < CC_H2_NV_MAX;) {
        const char *line = extra + i;
        const char *colon = memchr(line, ':', extra_len - i);
        const char *cr = colon ? memchr(colon, '\r', extra_len - (size_t)(colon - extra)) : NULL;
        if (!cr) break;
        i = (size_t)(cr - extra) + 2;
        size_t name_len = (size_t)(colon - line);
        if (connection_specific(line, name_len)) continue;
        const char *v = colon + 1, *ve = cr;
        while (v < ve && is_ows(*v)) v++;
        while (ve > v && is_ows(ve[-1])) ve--;
        nv[n++] = (nghttp2_nv){(uint8_t *)line, (uint8_t *)v, name_len, (size_t)(ve - v), NGHTTP2_NV_FLAG_NONE};
    }

    nghttp2_data_provider prd, *dp = NULL;
    if (send_body) {
        /* The handler's buffer lives only during its call; DATA frames go out
         * as flow control allows, so the stream keeps a copy. */
        if (!grow(&st->obuf, &st->ocap, body_len, 4096)) return false;
        memcpy(st->obuf, body, body_len);
        st->olen = body_len;
        st->opos = 0;
        prd.source.ptr = st;
        prd.read_callback = read_body;
        dp = &prd;
    }
    if (nghttp2_submit_response(c->h2->session, st->id, nv, n, dp) != 0) return false;
    /* Single writer per counter, as in cc__write_response. */
    atomic_store_explicit(&L->responses, atomic_load_explicit(&L->responses, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return true;
}

void cc__h2_stream_defer(cc_h2_stream *st, cc_deferred *d) { st->deferred = d; }

void cc__h2_deferred_done(cc_conn *c, cc_h2_stream *st, bool ok) {
    st->deferred = NULL;
    /* As in answer(): no memory for the answer ends the stream, not the
     * connection. */
    if (!ok) nghttp2_submit_rst_stream(c->h2->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
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
        if (grow(&st->body, &st->bcap, st->blen + len, first)) {
            memcpy(st->body + st->blen, data, len);
            st->blen += len;
            h->buffered += len;
            return 0;
        }
        st->error = 503;
    }
    answer(c, st);
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
    if (end || st->error) answer(c, st);
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
