/*
 * Answering an HTTP/2 stream: its request handed to the router and the
 * handler as the same cc_request HTTP/1.1 gives them, and their answer handed
 * to nghttp2 as a response. h2.c calls cc__h2_answer once a stream's request
 * is complete (or has earned an error); cc_respond, the core's own errors
 * and deferred answers (defer.c) reach cc__h2_submit through cc__emit.
 *
 * RFC 9113 §8.1: "An HTTP message (request or response) consists of:
 *   1. one HEADERS frame (followed by zero or more CONTINUATION frames)
 *      containing the header section ...,
 *   2. zero or more DATA frames containing the message content ..."
 * RFC 9113 §8.3.2: ":status ... This pseudo-header field MUST be included in
 * all responses".
 *
 * The response's fields go out from the loop's scratch array (L->h2_nv);
 * its body is copied into the stream, since DATA frames leave only as flow
 * control allows, long after the handler has returned.
 */
#define _GNU_SOURCE
#include "core_internal.h"
#include "h2_stream.h"

#include <string.h>

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
void cc__h2_answer(cc_conn *c, cc_h2_stream *st) {
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
    cc__h2_stream_drop_body(c->h2, st);
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
        if (!cc__h2_grow(&st->obuf, &st->ocap, body_len, 4096)) return false;
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
    /* As in cc__h2_answer(): no memory for the answer ends the stream, not the
     * connection. */
    if (!ok) nghttp2_submit_rst_stream(c->h2->session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
}
