/*
 * Responses: the cached Date header, response serialisation into a
 * connection's output buffer, routing a parsed request to its handler, and
 * the cc_exchange API handlers use.
 *
 * Serialisation is a handful of memcpys into one reserved region of the
 * output buffer: no snprintf, no locale, no allocation unless the buffer has
 * to grow for a large body.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Clock and Date                                                       */
/* ------------------------------------------------------------------ */

static char *put2(char *p, int v) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* RFC 9110 §5.6.7: IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT,
 * e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
static size_t format_date_header(char *out, time_t t) {
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    char *p = out;
    memcpy(p, "Date: ", 6);
    p += 6;
    memcpy(p, days[tm.tm_wday % 7], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put2(p, tm.tm_mday);
    *p++ = ' ';
    memcpy(p, months[tm.tm_mon % 12], 3);
    p += 3;
    *p++ = ' ';
    int y = tm.tm_year + 1900;
    if (y < 0) y = 0;
    if (y > 9999) y = 9999;
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = ' ';
    p = put2(p, tm.tm_hour);
    *p++ = ':';
    p = put2(p, tm.tm_min);
    *p++ = ':';
    p = put2(p, tm.tm_sec);
    memcpy(p, " GMT\r\n", 6);
    p += 6;
    return (size_t)(p - out);
}

void cc__loop_clock(cc_loop *L) {
    /* Coarse clocks are a vDSO read without a TSC fence: plenty for 250 ms
     * sweeps and a per-second Date. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    L->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != L->date_sec || L->date_hdr_len == 0) {
        L->date_sec = ts.tv_sec;
        L->date_hdr_len = format_date_header(L->date_hdr, ts.tv_sec);
    }
}

/* ------------------------------------------------------------------ */
/* Output buffer                                                        */
/* ------------------------------------------------------------------ */

char *cc__out_reserve(cc_conn *c, size_t n) {
    if (c->woff == c->wlen) c->woff = c->wlen = 0;
    if (c->wcap - c->wlen >= n) return c->wbuf + c->wlen;
    if (c->woff > 0) { /* slide the unsent rest down before growing */
        memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
        c->wlen -= c->woff;
        c->woff = 0;
        if (c->wcap - c->wlen >= n) return c->wbuf + c->wlen;
    }
    size_t cap = c->wcap ? c->wcap : CC_WBUF_INIT;
    while (cap - c->wlen < n) {
        if (cap > SIZE_MAX / 2) return NULL;
        cap *= 2;
    }
    char *b = realloc(c->wbuf, cap);
    if (!b) return NULL;
    c->wbuf = b;
    c->wcap = cap;
    return b + c->wlen;
}

bool cc__out_append(cc_conn *c, const char *data, size_t n) {
    char *p = cc__out_reserve(c, n);
    if (!p) return false;
    memcpy(p, data, n);
    c->wlen += n;
    return true;
}

/* ------------------------------------------------------------------ */
/* Serialisation                                                        */
/* ------------------------------------------------------------------ */

static const char *reason_phrase(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return ""; /* reason-phrase may be empty (RFC 9112 §4) */
    }
}

static char *put(char *p, const char *s, size_t n) {
    memcpy(p, s, n);
    return p + n;
}
#define PUTLIT(p, lit) put((p), (lit), sizeof(lit) - 1)

static char *put_u64(char *p, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

bool cc__write_response(cc_conn *c, int status, const char *ctype, size_t ctype_len, const char *extra,
                        size_t extra_len, const void *body, size_t body_len, bool send_body, bool close,
                        bool keep_alive_10) {
    cc_loop *L = c->loop;
    const cc_server *s = L->server;
    const char *reason = reason_phrase(status);
    size_t reason_len = strlen(reason);
    /* RFC 9110 §8.6: no Content-Length in 1xx/204; 304 has no body and we
     * do not know the selected representation's length, so omit it too. */
    bool no_content = status < 200 || status == 204 || status == 304;
    if (no_content) send_body = false;

    size_t need = 16 + reason_len + 2 + s->server_hdr_len + L->date_hdr_len + (ctype ? 16 + ctype_len : 0) + 40 +
                  extra_len + 26 + 2 + (send_body ? body_len : 0);
    char *start = cc__out_reserve(c, need);
    if (!start) return false;
    char *p = start;
    p = PUTLIT(p, "HTTP/1.1 ");
    *p++ = (char)('0' + status / 100 % 10);
    *p++ = (char)('0' + status / 10 % 10);
    *p++ = (char)('0' + status % 10);
    *p++ = ' ';
    p = put(p, reason, reason_len);
    p = PUTLIT(p, "\r\n");
    p = put(p, s->server_hdr, s->server_hdr_len);
    p = put(p, L->date_hdr, L->date_hdr_len);
    if (ctype) {
        p = PUTLIT(p, "Content-Type: ");
        p = put(p, ctype, ctype_len);
        p = PUTLIT(p, "\r\n");
    }
    if (!no_content) {
        /* HEAD: the length the body would have (RFC 9110 §9.3.2). */
        p = PUTLIT(p, "Content-Length: ");
        p = put_u64(p, body_len);
        p = PUTLIT(p, "\r\n");
    }
    if (extra_len) p = put(p, extra, extra_len);
    if (close)
        p = PUTLIT(p, "Connection: close\r\n");
    else if (keep_alive_10)
        p = PUTLIT(p, "Connection: keep-alive\r\n");
    p = PUTLIT(p, "\r\n");
    if (send_body && body_len) p = put(p, body, body_len);
    c->wlen += (size_t)(p - start);
    /* Single writer per counter: a relaxed load + store is tear-free and
     * avoids a locked add on the hot path. */
    atomic_store_explicit(&L->responses, atomic_load_explicit(&L->responses, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return true;
}

static const char *error_json(int status) {
    switch (status) {
    case 400: return "{\"error\":\"bad request\"}";
    case 404: return "{\"error\":\"not found\"}";
    case 405: return "{\"error\":\"method not allowed\"}";
    case 408: return "{\"error\":\"request timeout\"}";
    case 412: return "{\"error\":\"precondition failed\"}";
    case 413: return "{\"error\":\"payload too large\"}";
    case 414: return "{\"error\":\"uri too long\"}";
    case 416: return "{\"error\":\"range not satisfiable\"}";
    case 431: return "{\"error\":\"request header fields too large\"}";
    case 501: return "{\"error\":\"not implemented\"}";
    case 503: return "{\"error\":\"service unavailable\"}";
    case 504: return "{\"error\":\"gateway timeout\"}";
    case 505: return "{\"error\":\"http version not supported\"}";
    default: return "{\"error\":\"internal server error\"}";
    }
}

static const char json_type[] = "application/json";

bool cc__write_error(cc_conn *c, int status, bool close, bool send_body, const char *extra, size_t extra_len,
                     bool keep_alive_10) {
    const char *msg = error_json(status);
    return cc__write_response(c, status, json_type, sizeof json_type - 1, extra, extra_len, msg, strlen(msg), send_body,
                              close, keep_alive_10);
}

/* ------------------------------------------------------------------ */
/* Routing and the exchange                                             */
/* ------------------------------------------------------------------ */

bool cc__emit(cc_exchange *ex, int status, const char *ctype, size_t ctype_len, const char *extra, size_t extra_len,
              const void *body, size_t body_len) {
    if (ex->stream) return cc__h2_submit(ex, status, ctype, ctype_len, extra, extra_len, body, body_len);
    return cc__write_response(ex->conn, status, ctype, ctype_len, extra, extra_len, body, body_len, ex->send_body,
                              ex->close, ex->ka10);
}

bool cc__answer_error(cc_exchange *ex, int status, const char *extra, size_t extra_len) {
    const char *msg = error_json(status);
    return cc__emit(ex, status, json_type, sizeof json_type - 1, extra, extra_len, msg, strlen(msg));
}

void cc__route(cc_exchange *ex) {
    cc_server *s = ex->conn->loop->server;
    const cc_request *req = ex->req;
    bool ok = true;
    cc_route_result rr = cc_router_match(s->router, req->method, req->path.at, req->path.len, &ex->match);
    if (rr == CC_ROUTE_FOUND) {
        s->cfg.on_request(s->cfg.ctx, ex);
        if (!ex->responded) {
            ex->responded = true;
            ok = cc__answer_error(ex, 500, NULL, 0);
        }
    } else if (rr == CC_ROUTE_NOT_FOUND) {
        ex->responded = true;
        ok = cc__answer_error(ex, 404, NULL, 0);
    } else {
        /* RFC 9110 §15.5.6: a 405 MUST carry Allow. */
        char allow[128];
        char *p = PUTLIT(allow, "Allow: ");
        bool first = true;
        for (int m = 1; m < CC_METHOD_COUNT; m++) {
            if (!(ex->match.allowed_methods & (1u << m))) continue;
            if (!first) p = PUTLIT(p, ", ");
            p = put(p, cc__method_names[m], strlen(cc__method_names[m]));
            first = false;
        }
        p = PUTLIT(p, "\r\n");
        ex->responded = true;
        ok = cc__answer_error(ex, 405, allow, (size_t)(p - allow));
    }
    if (!ok) ex->failed = true;
}

static bool should_close(const cc_conn *c, const cc_request *req) {
    return !req->keep_alive || c->closing || atomic_load_explicit(&c->loop->server->stopping, memory_order_relaxed);
}

void cc__handle_request(cc_conn *c, const cc_request *req) {
    cc_exchange ex;
    ex.conn = c;
    ex.stream = NULL;
    ex.req = req;
    ex.extra_len = 0;
    ex.responded = false;
    ex.failed = false;
    ex.deferred = NULL;
    ex.close = should_close(c, req);
    ex.send_body = req->method != CC_METHOD_HEAD;
    ex.ka10 = !ex.close && req->version_minor == 0; /* HTTP/1.0 keep-alive must be confirmed */
    cc__route(&ex);
    /* Deferred: the record keeps ex.close and applies it when the answer is
     * written (defer.c); until then the connection parses nothing more. */
    if (ex.deferred) return;
    /* A closing answer, or none could be written (out of memory): the
     * connection ends. */
    if (ex.close || ex.failed) c->closing = true;
}

const cc_request *cc_exchange_request(const cc_exchange *ex) { return ex->req; }
const cc_match *cc_exchange_match(const cc_exchange *ex) { return &ex->match; }
int cc_exchange_worker(const cc_exchange *ex) { return ex->conn->loop->index; }
int cc_exchange_http_version(const cc_exchange *ex) { return ex->stream ? 2 : 1; }
int cc_exchange_is_tls(const cc_exchange *ex) { return ex->conn->ssl != NULL; }

int cc_exchange_add_header(cc_exchange *ex, const char *name, size_t name_len, const char *value, size_t value_len) {
    /* responded also covers a deferred exchange: its headers go to the record. */
    if (ex->responded || !cc__is_token(name, name_len) || !cc__is_field_value(value, value_len)) return -1;
    size_t need = name_len + 2 + value_len + 2;
    if (need > CC_EXTRA_HEADERS_MAX - ex->extra_len) return -1;
    char *p = ex->conn->loop->extra_headers + ex->extra_len;
    p = put(p, name, name_len);
    p = PUTLIT(p, ": ");
    p = put(p, value, value_len);
    p = PUTLIT(p, "\r\n");
    ex->extra_len += need;
    return 0;
}

void cc_respond(cc_exchange *ex, int status, const char *content_type, size_t content_type_len, const void *body,
                size_t body_len) {
    if (ex->responded) return; /* a second call, or one after cc_exchange_defer, is ignored */
    ex->responded = true;
    bool ok;
    /* A final status only (1xx are the core's business), and nothing in the
     * content type that could split the header block. */
    if (status < 200 || status > 999 || (content_type && !cc__is_field_value(content_type, content_type_len)) ||
        (!body && body_len)) {
        ok = cc__answer_error(ex, 500, NULL, 0);
    } else {
        ok = cc__emit(ex, status, content_type, content_type_len, ex->conn->loop->extra_headers, ex->extra_len, body,
                      body_len);
    }
    if (!ok) ex->failed = true;
}
