/*
 * HTTP/2 and TLS smoke test: real cc_servers on 127.0.0.1 (port 0, 2
 * workers) with C handlers, driven by clients written here on blocking
 * sockets -- an nghttp2 client session for HTTP/2 (h2c prior knowledge and
 * h2 over TLS), plain text for HTTP/1.1, OpenSSL for TLS. Ends with short
 * h2load runs when /usr/bin/h2load exists (informational, but they must
 * finish without errors).
 */
#define _GNU_SOURCE
#include "ccatcore.h"
#include "cselfsigned.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "check.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------------ */
/* Handlers                                                             */
/* ------------------------------------------------------------------ */

enum { H_HELLO = 1, H_USER, H_ECHO, H_SILENT, H_TWICE, H_HEADERS, H_BIG, H_INSPECT, H_STATIC };

static char big_body[256 * 1024];
/* A folder with one file of file_len bytes, served at /static/ (more than a TLS block, more than an inline body). */
static cc_static_mount *mount;
static char static_root[64];
static char *file_body;
static const size_t file_len = 700 * 1024 + 3;

static void on_request(void *ctx, cc_exchange *ex) {
    (void)ctx;
    const cc_match *m = cc_exchange_match(ex);
    const cc_request *req = cc_exchange_request(ex);
    static const char text[] = "text/plain", json[] = "application/json";
    char buf[1024];
    switch (m->handler_id) {
    case H_HELLO: cc_respond(ex, 200, text, sizeof text - 1, "Hello, World!", 13); break;
    case H_USER: {
        int n = snprintf(buf, sizeof buf, "{\"id\":%lld}", (long long)m->params[0].int_value);
        cc_respond(ex, 200, json, sizeof json - 1, buf, (size_t)n);
        break;
    }
    case H_ECHO: cc_respond(ex, 200, "application/octet-stream", 24, req->body.at, req->body.len); break;
    case H_SILENT: break; /* the core must answer 500 */
    case H_TWICE:
        cc_respond(ex, 201, text, sizeof text - 1, "first", 5);
        cc_respond(ex, 202, text, sizeof text - 1, "second", 6);
        break;
    case H_HEADERS:
        cc_exchange_add_header(ex, "X-Test", 6, "yes", 3);
        cc_exchange_add_header(ex, "X-Padded", 8, "  padded  ", 10);
        cc_exchange_add_header(ex, "Connection", 10, "keep-alive", 10); /* must not reach an h2 peer */
        cc_exchange_add_header(ex, "Transfer-Encoding", 17, "identity", 8);
        cc_respond(ex, 204, NULL, 0, NULL, 0);
        break;
    case H_BIG: cc_respond(ex, 200, "application/octet-stream", 24, big_body, sizeof big_body); break;
    case H_STATIC: cc_static_serve(ex, mount, m->params[0].value.at, m->params[0].value.len); break;
    case H_INSPECT: {
        /* What the handler sees, for the client to compare. */
        const cc_header *host = cc_request_header(req, "Host", 4);
        const cc_header *ua = cc_request_header(req, "User-Agent", 10);
        bool pseudo = false;
        for (uint32_t i = 0; i < req->num_headers; i++)
            if (req->headers[i].name.len && req->headers[i].name.at[0] == ':') pseudo = true;
        int n = snprintf(
            buf, sizeof buf,
            "v=%d major=%u tls=%d method=%.*s target=%.*s path=%.*s query=%.*s host=%.*s ua=%.*s pseudo=%d body=%u",
            cc_exchange_http_version(ex), req->http_major, cc_exchange_is_tls(ex), (int)req->method_text.len,
            req->method_text.at, (int)req->target.len, req->target.at, (int)req->path.len, req->path.at,
            (int)req->query.len, req->query.at, host ? (int)host->value.len : 1, host ? host->value.at : "-",
            ua ? (int)ua->value.len : 1, ua ? ua->value.at : "-", pseudo, req->body.len);
        cc_respond(ex, 200, text, sizeof text - 1, buf, (size_t)n);
        break;
    }
    default: cc_respond(ex, 500, NULL, 0, NULL, 0);
    }
}

static cc_router *make_router(void) {
    cc_router *r = cc_router_create();
    char err[256];
    struct {
        cc_method m;
        const char *p;
        int id;
    } routes[] = {
        {CC_METHOD_GET, "/hello", H_HELLO},
        {CC_METHOD_GET, "/users/{id:int}", H_USER},
        {CC_METHOD_POST, "/echo", H_ECHO},
        {CC_METHOD_PUT, "/echo", H_ECHO},
        {CC_METHOD_GET, "/silent", H_SILENT},
        {CC_METHOD_GET, "/twice", H_TWICE},
        {CC_METHOD_GET, "/headers", H_HEADERS},
        {CC_METHOD_GET, "/big", H_BIG},
        {CC_METHOD_GET, "/inspect", H_INSPECT},
        {CC_METHOD_POST, "/inspect", H_INSPECT},
        {CC_METHOD_GET, "/static/{path:path}", H_STATIC},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (cc_router_add(r, routes[i].m, routes[i].p, routes[i].id, err, sizeof err) != 0) {
            fprintf(stderr, "router: %s\n", err);
            exit(1);
        }
    return r;
}

static cc_server *start(const cc_router *router, cc_server_config cfg, char *err, size_t err_len) {
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    if (!cfg.workers) cfg.workers = 2;
    cfg.on_request = on_request;
    cfg.server_name = "h2-smoke";
    cc_server *s = NULL;
    if (cc_server_start(&cfg, router, &s, err, err_len) != 0) return NULL;
    return s;
}

/* ------------------------------------------------------------------ */
/* Transport: a blocking socket, optionally with TLS                    */
/* ------------------------------------------------------------------ */

typedef struct conn {
    int fd;
    SSL *ssl;
    SSL_CTX *ctx;
} conn;

static int connect_to(uint16_t port, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

static conn plain_conn(uint16_t port) { return (conn){connect_to(port, 5000), NULL, NULL}; }

/* A TLS client: trusts only `cert_pem`, checks the name (a DNS name or an IP
 * address), offers ALPN `alpn` (wire format; NULL = none). Returns fd -1 when
 * the handshake fails. */
static conn tls_conn(uint16_t port, const char *cert_pem, const char *name, const unsigned char *alpn,
                     unsigned alpn_len) {
    conn c = {connect_to(port, 5000), NULL, NULL};
    c.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c.ctx, SSL_VERIFY_PEER, NULL);
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(c.ctx), x);
    X509_free(x);
    if (alpn) SSL_CTX_set_alpn_protos(c.ctx, alpn, alpn_len);
    c.ssl = SSL_new(c.ctx);
    SSL_set_fd(c.ssl, c.fd);
    unsigned char ip[16];
    if (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c.ssl), name);
    else
        SSL_set1_host(c.ssl, name);
    if (SSL_connect(c.ssl) != 1) {
        ERR_clear_error();
        SSL_free(c.ssl);
        SSL_CTX_free(c.ctx);
        close(c.fd);
        return (conn){-1, NULL, NULL};
    }
    return c;
}

static void conn_close(conn *c) {
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
        SSL_CTX_free(c->ctx);
    }
    if (c->fd >= 0) close(c->fd);
    ERR_clear_error();
    *c = (conn){-1, NULL, NULL};
}

static bool conn_send(conn *c, const void *p, size_t n) {
    const char *s = p;
    while (n) {
        ssize_t w;
        if (c->ssl) {
            size_t k = 0;
            w = SSL_write_ex(c->ssl, s, n, &k) == 1 ? (ssize_t)k : -1;
        } else {
            w = send(c->fd, s, n, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
        }
        if (w <= 0) return false;
        s += w;
        n -= (size_t)w;
    }
    return true;
}

/* > 0 bytes, 0 EOF, -1 error or timeout */
static ssize_t conn_recv(conn *c, void *p, size_t n) {
    if (c->ssl) {
        size_t k = 0;
        if (SSL_read_ex(c->ssl, p, n, &k) == 1) return (ssize_t)k;
        int e = SSL_get_error(c->ssl, 0);
        ERR_clear_error();
        return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
    }
    for (;;) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r < 0 && errno == EINTR) continue;
        return r;
    }
}

/* True when the peer closes (EOF or reset) within timeout_ms, reading and
 * discarding whatever comes first. */
static bool closed_within(conn *c, int timeout_ms) {
    double until = now_s() + timeout_ms / 1000.0;
    char buf[4096];
    while (now_s() < until) {
        ssize_t r = conn_recv(c, buf, sizeof buf);
        if (r == 0) return true;
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) continue; /* receive timeout: keep waiting */
            return true;                                           /* reset */
        }
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* HTTP/1.1 over a conn                                                 */
/* ------------------------------------------------------------------ */

typedef struct h1resp {
    int status;
    char head[4096];
    char body[8192];
    size_t blen;
} h1resp;

static bool h1_header(const h1resp *r, const char *name, char *out, size_t outlen) {
    size_t nl = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
            const char *v = p + 3 + nl;
            while (*v == ' ') v++;
            size_t n = (size_t)(strstr(v, "\r\n") - v);
            if (n >= outlen) n = outlen - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return true;
        }
    }
    return false;
}

/* Sends raw and reads one response with a Content-Length body. */
static bool h1_exchange(conn *c, const char *raw, h1resp *r) {
    memset(r, 0, sizeof *r);
    if (!conn_send(c, raw, strlen(raw))) return false;
    char buf[16384];
    size_t len = 0;
    for (;;) {
        char *end = memmem(buf, len, "\r\n\r\n", 4);
        if (end) {
            size_t hl = (size_t)(end - buf) + 4;
            if (hl >= sizeof r->head) return false;
            memcpy(r->head, buf, hl);
            r->head[hl] = 0;
            r->status = atoi(r->head + 9);
            char v[32];
            size_t cl = h1_header(r, "Content-Length", v, sizeof v) ? strtoul(v, NULL, 10) : 0;
            if (cl >= sizeof r->body || hl + cl > sizeof buf) return false;
            if (len >= hl + cl) {
                memcpy(r->body, buf + hl, cl);
                r->blen = cl;
                return true;
            }
        }
        if (len == sizeof buf) return false;
        ssize_t n = conn_recv(c, buf + len, sizeof buf - len);
        if (n <= 0) return false;
        len += (size_t)n;
    }
}

/* ------------------------------------------------------------------ */
/* A small HTTP/2 client over a conn (nghttp2 client session)           */
/* ------------------------------------------------------------------ */

typedef struct h2resp {
    int32_t id;
    int status;
    char headers[2048]; /* "name: value\n" lines */
    size_t hlen;
    char *body;
    size_t blen, bcap;
    bool closed;
    uint32_t error_code;
    const char *req_body; /* request body to send */
    size_t req_len, req_pos;
    bool hold_open; /* after the body, keep the stream open (no END_STREAM) */
} h2resp;

typedef struct h2client {
    conn io;
    nghttp2_session *session;
    int open;    /* submitted streams not yet closed */
    bool goaway; /* the server sent GOAWAY */
    uint32_t goaway_error;
    const char *scheme;
    char authority[64];
    bool split_preface; /* send the first 5 bytes alone, then the rest */
} h2client;

static int cl_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t namelen,
                        const uint8_t *value, size_t valuelen, uint8_t flags, void *u) {
    (void)flags;
    (void)u;
    h2resp *r = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!r) return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
        int st = atoi((const char *)value);
        if (st >= 200) r->status = st; /* interim 1xx: not the answer */
        return 0;
    }
    int n = snprintf(r->headers + r->hlen, sizeof r->headers - r->hlen, "%.*s: %.*s\n", (int)namelen, name,
                     (int)valuelen, value);
    if (n > 0 && r->hlen + (size_t)n < sizeof r->headers) r->hlen += (size_t)n;
    return 0;
}

static int cl_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len, void *u) {
    (void)flags;
    (void)u;
    h2resp *r = nghttp2_session_get_stream_user_data(s, id);
    if (!r) return 0;
    if (r->blen + len + 1 > r->bcap) {
        r->bcap = (r->blen + len + 1) * 2;
        r->body = realloc(r->body, r->bcap);
    }
    memcpy(r->body + r->blen, data, len);
    r->blen += len;
    r->body[r->blen] = 0;
    return 0;
}

static int cl_on_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *u) {
    h2client *c = u;
    h2resp *r = nghttp2_session_get_stream_user_data(s, id);
    if (r && !r->closed) {
        r->closed = true;
        r->error_code = error_code;
        c->open--;
    }
    return 0;
}

static int cl_on_frame(nghttp2_session *s, const nghttp2_frame *f, void *u) {
    (void)s;
    h2client *c = u;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = true;
        c->goaway_error = f->goaway.error_code;
    }
    return 0;
}

static ssize_t cl_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                            nghttp2_data_source *src, void *u) {
    (void)s;
    (void)id;
    (void)u;
    h2resp *r = src->ptr;
    size_t n = r->req_len - r->req_pos;
    if (n > length) n = length;
    memcpy(buf, r->req_body + r->req_pos, n);
    r->req_pos += n;
    if (n == 0 && r->hold_open) return NGHTTP2_ERR_DEFERRED;
    if (r->req_pos == r->req_len && !r->hold_open) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* big_windows: 16 MiB stream and connection windows, so the server's
 * output is bounded by our reading, not by flow control. */
static bool h2_open_ex(h2client *c, conn io, uint16_t port, bool big_windows) {
    memset(c, 0, sizeof *c);
    c->io = io;
    c->scheme = io.ssl ? "https" : "http";
    snprintf(c->authority, sizeof c->authority, "127.0.0.1:%u", port);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, cl_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cl_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, cl_on_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, cl_on_frame);
    int rv = nghttp2_session_client_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) return false;
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16u << 20}};
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, big_windows ? 1 : 0) != 0) return false;
    return !big_windows || nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, 16 << 20) == 0;
}

static bool h2_open(h2client *c, conn io, uint16_t port) { return h2_open_ex(c, io, port, false); }

static void h2_close(h2client *c) {
    nghttp2_session_del(c->session);
    conn_close(&c->io);
}

static void h2resp_free(h2resp *r) {
    free(r->body);
    memset(r, 0, sizeof *r);
}

#define NV(n, v)                                                                                                       \
    { (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE }

/* Submits a request; extra_name/extra_value add one header (may be NULL). */
static int32_t h2_submit(h2client *c, h2resp *r, const char *method, const char *path, const char *body,
                         size_t body_len, const char *extra_name, const char *extra_value) {
    memset(r, 0, sizeof *r);
    nghttp2_nv nva[6] = {NV(":method", method), NV(":scheme", c->scheme), NV(":authority", c->authority),
                         NV(":path", path), NV("user-agent", "h2-smoke-client")};
    size_t n = 5;
    if (extra_name) nva[n++] = (nghttp2_nv)NV(extra_name, extra_value);
    nghttp2_data_provider prd = {.source.ptr = r, .read_callback = cl_read_body};
    r->req_body = body;
    r->req_len = body_len;
    int32_t id = nghttp2_submit_request(c->session, NULL, nva, n, body ? &prd : NULL, r);
    if (id > 0) {
        r->id = id;
        c->open++;
    }
    return id;
}

/* Exchanges frames until every submitted stream is closed. False on EOF,
 * error or a 5 s silence. */
static bool h2_run(h2client *c) {
    for (;;) {
        for (;;) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->session, &data);
            if (n < 0) return false;
            if (n == 0) break;
            if (c->split_preface && n > 5) {
                c->split_preface = false;
                if (!conn_send(&c->io, data, 5)) return false;
                usleep(50 * 1000);
                data += 5;
                n -= 5;
            }
            if (!conn_send(&c->io, data, (size_t)n)) return false;
        }
        if (c->open == 0) return true;
        uint8_t buf[16384];
        ssize_t n = conn_recv(&c->io, buf, sizeof buf);
        if (n <= 0) return false;
        if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0) return false;
    }
}

/* Like h2_run, but returns once no more than `open` streams are open. */
static bool h2_run_until(h2client *c, int open) {
    for (;;) {
        for (;;) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->session, &data);
            if (n < 0) return false;
            if (n == 0) break;
            if (!conn_send(&c->io, data, (size_t)n)) return false;
        }
        if (c->open <= open) return true;
        uint8_t buf[16384];
        ssize_t n = conn_recv(&c->io, buf, sizeof buf);
        if (n <= 0) return false;
        if (nghttp2_session_mem_recv(c->session, buf, (size_t)n) < 0) return false;
    }
}

static const char *h2_header(const h2resp *r, const char *name, char *out, size_t outlen) {
    size_t nl = strlen(name);
    for (const char *p = r->headers; *p;) {
        const char *eol = strchr(p, '\n');
        if (!eol) break;
        if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
            size_t n = (size_t)(eol - (p + nl + 2));
            if (n >= outlen) n = outlen - 1;
            memcpy(out, p + nl + 2, n);
            out[n] = 0;
            return out;
        }
        p = eol + 1;
    }
    return NULL;
}

static bool h2_has(const h2resp *r, const char *name, const char *value) {
    char v[256];
    return h2_header(r, name, v, sizeof v) && (!value || strcmp(v, value) == 0);
}

static bool date_ok(const char *date) {
    if (!date || strlen(date) != 29) return false;
    struct tm tm = {0};
    char *end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return end && *end == 0 && labs((long)(timegm(&tm) - time(NULL))) <= 5;
}

/* ------------------------------------------------------------------ */
/* HTTP/2 tests (shared by h2c and TLS)                                 */
/* ------------------------------------------------------------------ */

static void test_h2_basics(h2client *c, const char *label, bool tls) {
    h2resp r[6];
    h2_submit(c, &r[0], "GET", "/hello", NULL, 0, NULL, NULL);
    h2_submit(c, &r[1], "GET", "/users/42", NULL, 0, NULL, NULL);
    h2_submit(c, &r[2], "GET", "/inspect?a=1&b=two", NULL, 0, NULL, NULL);
    h2_submit(c, &r[3], "GET", "/nope", NULL, 0, NULL, NULL);
    h2_submit(c, &r[4], "DELETE", "/echo", NULL, 0, NULL, NULL);
    h2_submit(c, &r[5], "HEAD", "/hello", NULL, 0, NULL, NULL);
    check(h2_run(c), "%s: six concurrent streams finish", label);

    char v[256];
    check(r[0].status == 200 && r[0].blen == 13 && memcmp(r[0].body, "Hello, World!", 13) == 0,
          "%s: GET /hello 200 Hello, World! (status %d)", label, r[0].status);
    check(h2_has(&r[0], "server", "h2-smoke"), "%s: server header", label);
    check(h2_has(&r[0], "content-type", "text/plain"), "%s: content-type header", label);
    check(h2_has(&r[0], "content-length", "13"), "%s: content-length header", label);
    check(date_ok(h2_header(&r[0], "date", v, sizeof v)), "%s: date is an IMF-fixdate close to now", label);
    check(!h2_has(&r[0], "connection", NULL), "%s: no connection header", label);
    check(r[1].status == 200 && r[1].body && strcmp(r[1].body, "{\"id\":42}") == 0 &&
              h2_has(&r[1], "content-type", "application/json"),
          "%s: typed parameter on h2", label);
    char want[512];
    snprintf(want, sizeof want,
             "v=2 major=2 tls=%d method=GET target=/inspect?a=1&b=two path=/inspect query=a=1&b=two "
             "host=127.0.0.1:%s ua=h2-smoke-client pseudo=0 body=0",
             tls ? 1 : 0, strchr(c->authority, ':') + 1);
    check(r[2].status == 200 && r[2].body && strcmp(r[2].body, want) == 0, "%s: request as the handler sees it: %s",
          label, r[2].body ? r[2].body : "(none)");
    check(r[3].status == 404 && r[3].body && strcmp(r[3].body, "{\"error\":\"not found\"}") == 0 &&
              h2_has(&r[3], "content-type", "application/json"),
          "%s: 404 with JSON body", label);
    check(r[4].status == 405 && h2_has(&r[4], "allow", "POST, PUT") && r[4].body &&
              strcmp(r[4].body, "{\"error\":\"method not allowed\"}") == 0,
          "%s: 405 with allow: POST, PUT", label);
    check(r[5].status == 200 && r[5].blen == 0 && h2_has(&r[5], "content-length", "13"),
          "%s: HEAD has content-length 13 and no DATA", label);
    for (int i = 0; i < 6; i++) check(r[i].error_code == 0, "%s: stream %d closed cleanly", label, i);
    for (int i = 0; i < 6; i++) h2resp_free(&r[i]);

    /* The core's own answers and the handler's header set. */
    h2resp s[4];
    h2_submit(c, &s[0], "GET", "/silent", NULL, 0, NULL, NULL);
    h2_submit(c, &s[1], "GET", "/twice", NULL, 0, NULL, NULL);
    h2_submit(c, &s[2], "GET", "/headers", NULL, 0, NULL, NULL);
    h2_submit(c, &s[3], "GET", "/big", NULL, 0, NULL, NULL);
    check(h2_run(c), "%s: second batch finishes", label);
    check(s[0].status == 500, "%s: handler without cc_respond -> 500 (%d)", label, s[0].status);
    check(s[1].status == 201 && s[1].body && strcmp(s[1].body, "first") == 0, "%s: second cc_respond ignored", label);
    check(s[2].status == 204 && h2_has(&s[2], "x-test", "yes") && h2_has(&s[2], "x-padded", "padded") &&
              !h2_has(&s[2], "connection", NULL) && !h2_has(&s[2], "transfer-encoding", NULL) &&
              !h2_has(&s[2], "content-length", NULL) && s[2].error_code == 0,
          "%s: added headers (trimmed), connection-specific ones dropped, 204 without length", label);
    check(s[3].status == 200 && s[3].blen == sizeof big_body && memcmp(s[3].body, big_body, sizeof big_body) == 0,
          "%s: 256 KiB body through flow control (%zu bytes)", label, s[3].blen);
    for (int i = 0; i < 4; i++) h2resp_free(&s[i]);
}

static void test_h2_bodies(h2client *c, const char *label, uint32_t max_body) {
    size_t n = 40000;
    char *data = malloc(max_body + 40000);
    for (size_t i = 0; i < max_body + 40000; i++) data[i] = (char)('a' + i % 26);
    h2resp r[5];
    h2_submit(c, &r[0], "POST", "/echo", data, n, "content-type", "application/octet-stream");
    h2_submit(c, &r[1], "PUT", "/echo", data, 0, NULL, NULL);
    h2_submit(c, &r[2], "POST", "/inspect", data, 1000, NULL, NULL);
    /* over max_body_bytes, without and with an announced length */
    h2_submit(c, &r[3], "POST", "/echo", data, max_body + 1, NULL, NULL);
    char len[32];
    snprintf(len, sizeof len, "%u", max_body + 40000);
    h2_submit(c, &r[4], "POST", "/echo", data, max_body + 40000, "content-length", len);
    check(h2_run(c), "%s: upload streams finish", label);
    check(r[0].status == 200 && r[0].blen == n && memcmp(r[0].body, data, n) == 0, "%s: 40 KB POST echoed (%zu)", label,
          r[0].blen);
    check(r[1].status == 200 && r[1].blen == 0, "%s: empty PUT echoed", label);
    check(r[2].status == 200 && r[2].body && strstr(r[2].body, "method=POST") && strstr(r[2].body, "body=1000"),
          "%s: POST body length seen by the handler", label);
    check(r[3].status == 413 && r[3].body && strstr(r[3].body, "payload too large"),
          "%s: body over max_body_bytes -> 413 (%d)", label, r[3].status);
    check(r[4].status == 413, "%s: content-length over max_body_bytes -> 413 (%d)", label, r[4].status);
    for (int i = 0; i < 5; i++) h2resp_free(&r[i]);

    /* RFC 9110 §10.1.1 on h2: an interim 100, then the answer. */
    h2resp e;
    h2_submit(c, &e, "POST", "/echo", data, 5000, "expect", "100-continue");
    check(h2_run(c) && e.status == 200 && e.blen == 5000 && memcmp(e.body, data, 5000) == 0,
          "%s: expect: 100-continue upload echoed (%d)", label, e.status);
    h2resp_free(&e);
    /* A field block over max_header_bytes (8 KiB by default) -> 431 on that stream. */
    char *huge = malloc(9000);
    memset(huge, 'h', 8999);
    huge[8999] = 0;
    h2_submit(c, &e, "GET", "/hello", NULL, 0, "x-huge", huge);
    check(h2_run(c) && e.status == 431 && e.body && strstr(e.body, "too large"), "%s: 9 KB header -> 431 (%d)", label,
          e.status);
    h2resp_free(&e);
    free(huge);

    /* The connection still serves after the 413s. */
    h2resp a;
    h2_submit(c, &a, "GET", "/hello", NULL, 0, NULL, NULL);
    check(h2_run(c) && a.status == 200, "%s: connection still serves after 413", label);
    h2resp_free(&a);
    free(data);
}

static void test_h2_many(h2client *c, const char *label, int n) {
    h2resp *r = calloc((size_t)n, sizeof *r);
    char path[64];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "/users/%d", i);
        h2_submit(c, &r[i], "GET", path, NULL, 0, NULL, NULL);
    }
    bool done = h2_run(c);
    int good = 0;
    for (int i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof want, "{\"id\":%d}", i);
        if (r[i].status == 200 && r[i].body && strcmp(r[i].body, want) == 0) good++;
        h2resp_free(&r[i]);
    }
    check(done && good == n, "%s: %d streams on one connection all answered (%d good)", label, n, good);
    free(r);
}

/* ------------------------------------------------------------------ */
/* h2c                                                                  */
/* ------------------------------------------------------------------ */

/* Raw frames from the server until EOF; true when the first GOAWAY among
 * them has `error`. Frames are walked as they come, so any amount may
 * precede it. */
static bool read_goaway(conn *c, uint32_t error) {
    uint8_t buf[65536];
    size_t len = 0, skip = 0;
    for (;;) {
        ssize_t n = conn_recv(c, buf + len, sizeof buf - len);
        if (n <= 0) return false;
        len += (size_t)n;
        size_t p = 0;
        for (;;) {
            size_t k = skip < len - p ? skip : len - p; /* the rest of a payload we do not need */
            skip -= k;
            p += k;
            if (skip || p + 9 > len) break;
            size_t flen = (size_t)buf[p] << 16 | (size_t)buf[p + 1] << 8 | buf[p + 2];
            if (buf[p + 3] == NGHTTP2_GOAWAY) {
                if (p + 9 + 8 > len) break; /* wait for its error code */
                uint32_t code = (uint32_t)buf[p + 13] << 24 | (uint32_t)buf[p + 14] << 16 | (uint32_t)buf[p + 15] << 8 |
                                buf[p + 16];
                return code == error;
            }
            p += 9;
            skip = flen;
        }
        memmove(buf, buf + p, len - p);
        len -= p;
    }
}

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/* One raw frame (RFC 9113 §4.1) into out; returns its size. */
static size_t raw_frame(uint8_t *out, uint8_t type, uint8_t flags, uint32_t id, const void *payload, size_t len) {
    uint8_t h[9] = {(uint8_t)(len >> 16),       (uint8_t)(len >> 8), (uint8_t)len,       type,       flags,
                    (uint8_t)(id >> 24 & 0x7f), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    memcpy(out, h, 9);
    if (len) memcpy(out + 9, payload, len);
    return 9 + len;
}

/* GET /hello as a field block that leaves the dynamic table alone (RFC 7541
 * Appendix A: 2 :method GET, 6 :scheme http; then literals without indexing
 * of :path (name 4) and :authority (name 1), which nghttp2 requires). */
static const uint8_t get_hello[] = {0x82, 0x86, 0x04, 6, '/', 'h', 'e', 'l', 'l', 'o', 0x01, 1, 'h'};

/* Reads frames until one with END_STREAM on stream id; false on EOF or timeout. */
static bool read_until_end(conn *c, uint32_t id) {
    uint8_t buf[16384];
    size_t len = 0;
    for (;;) {
        for (size_t p = 0; p + 9 <= len;) {
            size_t flen = (size_t)buf[p] << 16 | (size_t)buf[p + 1] << 8 | buf[p + 2];
            uint32_t fid = ((uint32_t)buf[p + 5] & 0x7f) << 24 | (uint32_t)buf[p + 6] << 16 |
                           (uint32_t)buf[p + 7] << 8 | buf[p + 8];
            if (p + 9 + flen > len) break;
            if (fid == id && (buf[p + 3] == NGHTTP2_DATA || buf[p + 3] == NGHTTP2_HEADERS) &&
                (buf[p + 4] & NGHTTP2_FLAG_END_STREAM))
                return true;
            p += 9 + flen;
        }
        if (len == sizeof buf) return false;
        ssize_t n = conn_recv(c, buf + len, sizeof buf - len);
        if (n <= 0) return false;
        len += (size_t)n;
    }
}

/* A connection past the preface and an empty SETTINGS. */
static conn h2_raw_conn(uint16_t port) {
    conn p = plain_conn(port);
    uint8_t settings[9];
    conn_send(&p, preface, sizeof preface - 1);
    conn_send(&p, settings, raw_frame(settings, NGHTTP2_SETTINGS, 0, 0, NULL, 0));
    return p;
}

/* The frame guard (h2_guard.c): what nghttp2 discards once a stream is closed. */
static void test_h2c_guard(uint16_t port) {
    uint8_t f[64];
    /* RFC 9113 §6.1: DATA on a stream the client ended, after the answer
     * closed it -- sent one octet per write, so the guard's frame header is
     * gathered over many reads. */
    for (int split = 0; split < 2; split++) {
        conn p = h2_raw_conn(port);
        conn_send(&p, f,
                  raw_frame(f, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS, 1, get_hello,
                            sizeof get_hello));
        check(read_until_end(&p, 1), "h2c guard: GET /hello answered (split %d)", split);
        size_t n = raw_frame(f, NGHTTP2_DATA, 0, 1, "late", 4);
        for (size_t i = 0; i < n; i++) {
            conn_send(&p, f + i, split ? 1 : n - i);
            if (!split) break;
            usleep(2000);
        }
        check(read_goaway(&p, NGHTTP2_STREAM_CLOSED),
              "h2c guard: DATA after END_STREAM -> GOAWAY(STREAM_CLOSED), split %d", split);
        conn_close(&p);
    }
    /* §5.1.1: a new stream below the highest one. */
    conn p = h2_raw_conn(port);
    uint8_t hb = NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS;
    conn_send(&p, f, raw_frame(f, NGHTTP2_HEADERS, hb, 5, get_hello, sizeof get_hello));
    check(read_until_end(&p, 5), "h2c guard: GET /hello on stream 5 answered");
    conn_send(&p, f, raw_frame(f, NGHTTP2_HEADERS, hb, 3, get_hello, sizeof get_hello));
    check(read_goaway(&p, NGHTTP2_PROTOCOL_ERROR), "h2c guard: then stream 3 -> GOAWAY(PROTOCOL_ERROR)");
    conn_close(&p);
    /* CVE-2023-44487: 1,100 HEADERS + RST_STREAM pairs pass the guard's
     * bucket of 1,000. */
    p = h2_raw_conn(port);
    static uint8_t flood[100 * (9 + sizeof get_hello + 13)];
    static const uint8_t cancel[4] = {0, 0, 0, NGHTTP2_CANCEL};
    bool sent = true;
    for (uint32_t batch = 0, id = 1; batch < 11 && sent; batch++) {
        size_t len = 0;
        for (int i = 0; i < 100; i++, id += 2) {
            len += raw_frame(flood + len, NGHTTP2_HEADERS, hb, id, get_hello, sizeof get_hello);
            len += raw_frame(flood + len, NGHTTP2_RST_STREAM, 0, id, cancel, sizeof cancel);
        }
        sent = conn_send(&p, flood, len);
    }
    check(read_goaway(&p, NGHTTP2_ENHANCE_YOUR_CALM), "h2c guard: rapid reset -> GOAWAY(ENHANCE_YOUR_CALM)");
    conn_close(&p);
}

/* A client with big windows that stops reading: 16 x 256 KiB pass the
 * server's output high-water mark; it must hold, then deliver all. */
static void test_h2_late_reader(conn io, uint16_t port, const char *label) {
    h2client c;
    check(h2_open_ex(&c, io, port, true), "%s: big-window session", label);
    h2resp big[16];
    for (int i = 0; i < 16; i++) h2_submit(&c, &big[i], "GET", "/big", NULL, 0, NULL, NULL);
    for (;;) { /* send the requests, read nothing for a while */
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c.session, &data);
        if (n <= 0) break;
        conn_send(&c.io, data, (size_t)n);
    }
    usleep(300 * 1000);
    bool ok = h2_run(&c);
    int good = 0;
    for (int i = 0; i < 16; i++) {
        if (big[i].status == 200 && big[i].blen == sizeof big_body &&
            memcmp(big[i].body, big_body, sizeof big_body) == 0)
            good++;
        h2resp_free(&big[i]);
    }
    check(ok && good == 16, "%s: 16 x 256 KiB to a late reader with 16 MiB windows (%d good)", label, good);
    h2_close(&c);
}

static void test_h2c(cc_server *s, uint32_t max_body) {
    uint16_t port = cc_server_port(s);
    h2client c;
    check(h2_open(&c, plain_conn(port), port), "h2c: client session");
    uint64_t before = cc_server_requests(s);
    test_h2_basics(&c, "h2c", false);
    uint64_t after = cc_server_requests(s);
    check(after - before == 10, "h2c: cc_server_requests counted 10 streams (got %llu)",
          (unsigned long long)(after - before));
    check(nghttp2_session_get_remote_settings(c.session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS) == 256,
          "h2c: SETTINGS_MAX_CONCURRENT_STREAMS 256");
    check(nghttp2_session_get_remote_settings(c.session, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) >= (1u << 20),
          "h2c: SETTINGS_INITIAL_WINDOW_SIZE >= 1 MiB");
    check(nghttp2_session_get_remote_window_size(c.session) >= (1 << 20) ||
              nghttp2_session_get_remote_window_size(c.session) > 65535,
          "h2c: connection window enlarged (%d)", nghttp2_session_get_remote_window_size(c.session));
    test_h2_bodies(&c, "h2c", max_body);
    test_h2_many(&c, "h2c", 100);
    check(!c.goaway, "h2c: no GOAWAY during the tests");
    h2_close(&c);

    /* More streams than SETTINGS_MAX_CONCURRENT_STREAMS in one go: the client
     * queues the excess until earlier ones close. */
    check(h2_open(&c, plain_conn(port), port), "h2c: second client session");
    test_h2_many(&c, "h2c", 600);
    h2_close(&c);

    /* HTTP/1.1 on the same port. */
    conn p = plain_conn(port);
    h1resp r;
    check(h1_exchange(&p, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) && r.status == 200 &&
              strcmp(r.body, "Hello, World!") == 0,
          "h1 on the h2c port: GET /hello");
    check(h1_exchange(&p, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nping", &r) && r.status == 200 &&
              strcmp(r.body, "ping") == 0,
          "h1 on the h2c port: POST /echo (starts with P) on the same connection");
    check(h1_exchange(&p, "GET /inspect HTTP/1.1\r\nHost: h\r\n\r\n", &r) && strstr(r.body, "v=1 major=1 tls=0"),
          "h1 exchange reports version 1: %s", r.body);
    conn_close(&p);
    p = plain_conn(port);
    check(h1_exchange(&p, "PRI * HTTP/1.1\r\nHost: t\r\n\r\n", &r) && r.status == 400,
          "a preface look-alike is HTTP/1.1 (400), status %d", r.status);
    conn_close(&p);

    /* Malformed HTTP/2: a HEADERS frame on stream 0 is a connection error:
     * GOAWAY(PROTOCOL_ERROR) and close. */
    p = plain_conn(port);
    static const uint8_t bad[] = {0, 0, 0,   NGHTTP2_SETTINGS, 0, 0, 0, 0, 0, 0, 0, 1, NGHTTP2_HEADERS, 4, 0, 0,
                                  0, 0, 0x82};
    conn_send(&p, preface, sizeof preface - 1);
    conn_send(&p, bad, sizeof bad);
    check(read_goaway(&p, NGHTTP2_PROTOCOL_ERROR), "h2c: HEADERS on stream 0 -> GOAWAY(PROTOCOL_ERROR)");
    conn_close(&p);
    /* Junk after the preface, and a preface cut short by EOF. */
    p = plain_conn(port);
    char junk[3000];
    srand(7);
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)rand();
    conn_send(&p, preface, sizeof preface - 1);
    conn_send(&p, junk, sizeof junk);
    check(closed_within(&p, 3000), "h2c: junk frames -> connection closed");
    conn_close(&p);
    p = plain_conn(port);
    conn_send(&p, preface, 10);
    shutdown(p.fd, SHUT_WR);
    check(closed_within(&p, 3000), "h2c: half a preface then EOF -> closed");
    conn_close(&p);
    test_h2_late_reader(plain_conn(port), port, "h2c");
    test_h2c_guard(port);

    /* The preface in two pieces (the sniffer waits for the rest). */
    check(h2_open(&c, plain_conn(port), port), "h2c: split-preface session");
    c.split_preface = true;
    h2resp sp;
    h2_submit(&c, &sp, "GET", "/hello", NULL, 0, NULL, NULL);
    check(h2_run(&c) && sp.status == 200, "h2c: preface split across reads");
    h2resp_free(&sp);
    h2_close(&c);

    h2resp a;
    check(h2_open(&c, plain_conn(port), port), "h2c: client after the abuse");
    h2_submit(&c, &a, "GET", "/hello", NULL, 0, NULL, NULL);
    check(h2_run(&c) && a.status == 200, "h2c: server still serves after malformed connections");
    h2resp_free(&a);
    h2_close(&c);
}

/* Many streams uploading at once, none finishing: past the per-connection
 * body budget (16 MiB here) a stream gets 503, the others are unharmed. */
static void test_h2c_budget(const cc_router *router) {
    char err[256];
    cc_server_config cfg = {.h2c = 1, .workers = 1}; /* max_body_bytes 1 MiB */
    cc_server *s = start(router, cfg, err, sizeof err);
    check(s != NULL, "budget server started: %s", err);
    if (!s) return;
    uint16_t port = cc_server_port(s);
    h2client c;
    h2_open_ex(&c, plain_conn(port), port, true);
    size_t each = 1000 * 1000;
    char *data = malloc(each);
    memset(data, 'u', each);
    /* 17 x 1,000,000 bytes > 16 MiB > 16 x 1,000,000: the client interleaves
     * the uploads, so whichever crosses the budget first is refused. */
    enum { N = 17 };
    h2resp r[N];
    for (int i = 0; i < N; i++) {
        h2_submit(&c, &r[i], "POST", "/echo", data, each, NULL, NULL);
        r[i].hold_open = true;
    }
    bool ok = h2_run_until(&c, N - 1);
    int refused = 0, open = 0;
    for (int i = 0; i < N; i++) {
        if (r[i].closed && r[i].status == 503 && r[i].body && strstr(r[i].body, "service unavailable")) refused++;
        if (!r[i].closed) open++;
    }
    check(ok && refused == 1 && open == N - 1,
          "h2c: uploads past the connection's body budget: one 503, the rest still open (refused %d, open %d)", refused,
          open);
    for (int i = 0; i < N; i++) h2resp_free(&r[i]);
    h2_close(&c);
    free(data);
    cc_server_stop(s);
}

static void test_h2c_off(const cc_router *router) {
    char err[256];
    cc_server_config cfg = {0};
    cc_server *s = start(router, cfg, err, sizeof err);
    check(s != NULL, "default server started: %s", err);
    if (!s) return;
    conn p = plain_conn(cc_server_port(s));
    conn_send(&p, preface, sizeof preface - 1);
    h1resp r;
    check(h1_exchange(&p, "", &r) && r.status == 505, "h2c off (zero config): the preface gets 505 (%d)", r.status);
    conn_close(&p);
    cc_server_stop(s);
}

static void test_h2c_timeouts(const cc_router *router) {
    char err[256];
    cc_server_config cfg = {.h2c = 1, .header_timeout_ms = 400, .keepalive_timeout_ms = 600, .workers = 1};
    cc_server *s = start(router, cfg, err, sizeof err);
    check(s != NULL, "h2c timeout server started: %s", err);
    if (!s) return;
    uint16_t port = cc_server_port(s);
    h2client c;
    h2_open(&c, plain_conn(port), port);
    h2resp a;
    h2_submit(&c, &a, "GET", "/hello", NULL, 0, NULL, NULL);
    check(h2_run(&c) && a.status == 200, "h2c: request before idling");
    h2resp_free(&a);
    double t0 = now_s();
    bool got_goaway = read_goaway(&c.io, NGHTTP2_NO_ERROR);
    double took = now_s() - t0;
    check(got_goaway && took > 0.3 && took < 2.0, "h2c: idle connection gets GOAWAY(NO_ERROR) and closes after %.2fs",
          took);
    h2_close(&c);

    /* A stream whose body never finishes. */
    h2_open(&c, plain_conn(port), port);
    nghttp2_nv nva[] = {NV(":method", "POST"), NV(":scheme", "http"), NV(":authority", "x"), NV(":path", "/echo")};
    nghttp2_submit_headers(c.session, NGHTTP2_FLAG_NONE, -1, NULL, nva, 4, NULL);
    const uint8_t *data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(c.session, &data)) > 0) conn_send(&c.io, data, (size_t)n);
    t0 = now_s();
    got_goaway = read_goaway(&c.io, NGHTTP2_NO_ERROR);
    took = now_s() - t0;
    check(got_goaway && took > 0.3 && took < 2.0, "h2c: stalled request body -> GOAWAY after %.2fs", took);
    h2_close(&c);

    /* A preface that stalls half-way is a stalled head: 408 and close. */
    conn p = plain_conn(port);
    conn_send(&p, preface, 8);
    h1resp r;
    check(h1_exchange(&p, "", &r) && r.status == 408, "h2c: stalled preface -> 408 (%d)", r.status);
    conn_close(&p);

    /* stop with an h2 connection open: prompt, and the client hears it. */
    h2_open(&c, plain_conn(port), port);
    h2_submit(&c, &a, "GET", "/hello", NULL, 0, NULL, NULL);
    h2_run(&c);
    h2resp_free(&a);
    t0 = now_s();
    cc_server_stop(s);
    took = now_s() - t0;
    check(took < 1.0, "cc_server_stop with an open h2 connection took %.3fs", took);
    check(read_goaway(&c.io, NGHTTP2_NO_ERROR), "h2 client gets GOAWAY(NO_ERROR) at stop");
    h2_close(&c);
}

/* ------------------------------------------------------------------ */
/* TLS                                                                  */
/* ------------------------------------------------------------------ */

static void test_self_signed(char **cert, char **key) {
    char err[256];
    int rc = cs_make_self_signed("catbench.test", cert, key, err, sizeof err);
    check(rc == 0 && *cert && *key, "cs_make_self_signed: %s", err);
    if (rc != 0) exit(1);
    check(strncmp(*cert, "-----BEGIN CERTIFICATE-----", 27) == 0, "certificate PEM");
    check(strncmp(*key, "-----BEGIN PRIVATE KEY-----", 27) == 0, "key PEM (PKCS#8)");
    BIO *b = BIO_new_mem_buf(*cert, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    check(x != NULL, "certificate parses");
    if (x) {
        check(X509_get_version(x) == 2, "X.509 v3");
        check(X509_check_host(x, "localhost", 0, 0, NULL) == 1, "SAN DNS:localhost");
        check(X509_check_host(x, "catbench.test", 0, 0, NULL) == 1, "SAN has the common name");
        check(X509_check_ip_asc(x, "127.0.0.1", 0) == 1, "SAN IP:127.0.0.1");
        check(X509_check_ip_asc(x, "::1", 0) == 1, "SAN IP:::1");
        int days = 0, secs = 0;
        ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x));
        check(days >= 364 && days <= 367, "valid about a year (%d days)", days);
        EVP_PKEY *pk = X509_get0_pubkey(x);
        check(pk && EVP_PKEY_is_a(pk, "EC") && EVP_PKEY_get_bits(pk) == 256, "EC P-256 key");
        X509_free(x);
    }
    char *c2 = NULL, *k2 = NULL;
    check(cs_make_self_signed("::1", &c2, &k2, err, sizeof err) == 0, "an IP as common name");
    cs_free(c2);
    cs_free(k2);
    check(cs_make_self_signed("a,DNS:evil", &c2, &k2, err, sizeof err) == 0, "odd but printable name");
    cs_free(c2);
    cs_free(k2);
    check(cs_make_self_signed("has space", &c2, &k2, err, sizeof err) == -1 && c2 == NULL && k2 == NULL &&
              strstr(err, "common name"),
          "a name with a space is refused: %s", err);
}

static void test_tls_config_errors(const cc_router *router, const char *cert, const char *key) {
    char err[256];
    cc_server_config cfg = {.tls_cert_pem = cert};
    cc_server *s = start(router, cfg, err, sizeof err);
    check(!s && strstr(err, "both a certificate and its private key"), "cert without key refused: %s", err);
    if (s) cc_server_stop(s);
    cfg = (cc_server_config){.tls_cert_pem = "not a pem", .tls_key_pem = key};
    s = start(router, cfg, err, sizeof err);
    check(!s && strstr(err, "no usable PEM certificate"), "garbage certificate refused: %s", err);
    if (s) cc_server_stop(s);
    char *c2, *k2;
    cs_make_self_signed(NULL, &c2, &k2, err, sizeof err);
    cfg = (cc_server_config){.tls_cert_pem = cert, .tls_key_pem = k2};
    s = start(router, cfg, err, sizeof err);
    check(!s && strstr(err, "does not match"), "mismatched key refused: %s", err);
    if (s) cc_server_stop(s);
    cs_free(c2);
    cs_free(k2);
    cfg = (cc_server_config){.tls_cert_pem = cert, .tls_key_pem = key, .tls_cert_file = "/nonexistent"};
    s = start(router, cfg, err, sizeof err);
    check(!s && strstr(err, "not both"), "PEM and files at once refused: %s", err);
    if (s) cc_server_stop(s);
    cfg = (cc_server_config){.tls_cert_file = "/nonexistent/cert.pem", .tls_key_file = "/nonexistent/key.pem"};
    s = start(router, cfg, err, sizeof err);
    check(!s && strstr(err, "/nonexistent/cert.pem"), "missing certificate file refused: %s", err);
    if (s) cc_server_stop(s);
}

static const unsigned char alpn_h2_h1[] = "\x02h2\x08http/1.1";
static const unsigned char alpn_h1[] = "\x08http/1.1";

static void test_tls(cc_server *s, const char *cert) {
    uint16_t port = cc_server_port(s);
    conn t = tls_conn(port, cert, "localhost", alpn_h2_h1, sizeof alpn_h2_h1 - 1);
    check(t.fd >= 0, "TLS handshake with ALPN h2,http/1.1 (verified as localhost)");
    if (t.fd >= 0) {
        const unsigned char *p;
        unsigned len;
        SSL_get0_alpn_selected(t.ssl, &p, &len);
        check(len == 2 && memcmp(p, "h2", 2) == 0, "ALPN picked h2");
        int v = SSL_version(t.ssl);
        check(v == TLS1_3_VERSION, "TLS 1.3 negotiated (0x%x)", v);
        h2client c;
        h2_open(&c, t, port);
        test_h2_basics(&c, "h2/tls", true);
        test_h2_bodies(&c, "h2/tls", 64 * 1024);
        test_h2_many(&c, "h2/tls", 100);
        h2_close(&c);
    }

    t = tls_conn(port, cert, "127.0.0.1", alpn_h1, sizeof alpn_h1 - 1);
    check(t.fd >= 0, "TLS handshake with ALPN http/1.1 (verified as 127.0.0.1)");
    if (t.fd >= 0) {
        const unsigned char *p;
        unsigned len;
        SSL_get0_alpn_selected(t.ssl, &p, &len);
        check(len == 8 && memcmp(p, "http/1.1", 8) == 0, "ALPN picked http/1.1");
        h1resp r;
        check(h1_exchange(&t, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) && r.status == 200 &&
                  strcmp(r.body, "Hello, World!") == 0,
              "HTTP/1.1 over TLS: GET /hello");
        char date[64];
        check(h1_header(&r, "Date", date, sizeof date) && date_ok(date), "HTTP/1.1 over TLS: Date");
        check(h1_exchange(&t, "GET /inspect HTTP/1.1\r\nHost: t\r\n\r\n", &r) && strstr(r.body, "v=1 major=1 tls=1"),
              "HTTP/1.1 over TLS on the same connection: %s", r.body);
        check(h1_exchange(&t, "GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r) && r.status == 200,
              "HTTP/1.1 over TLS: Connection: close");
        check(closed_within(&t, 2000), "closed after Connection: close");
        conn_close(&t);
    }

    t = tls_conn(port, cert, "localhost", NULL, 0);
    check(t.fd >= 0, "TLS handshake without ALPN");
    if (t.fd >= 0) {
        h1resp r;
        check(h1_exchange(&t, "GET /users/5 HTTP/1.1\r\nHost: t\r\n\r\n", &r) && r.status == 200 &&
                  strcmp(r.body, "{\"id\":5}") == 0,
              "no ALPN means HTTP/1.1");
        conn_close(&t);
    }

    /* ALPN says h2 but the client speaks HTTP/1.1: a bad preface, which
     * nghttp2 reports as fatal; GOAWAY and close. */
    t = tls_conn(port, cert, "localhost", alpn_h2_h1, sizeof alpn_h2_h1 - 1);
    if (t.fd >= 0) {
        conn_send(&t, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", 33);
        check(closed_within(&t, 3000), "h2 by ALPN, HTTP/1.1 on the wire: closed");
        conn_close(&t);
    }

    /* Backpressure through SSL_write's partial writes. */
    t = tls_conn(port, cert, "localhost", alpn_h2_h1, sizeof alpn_h2_h1 - 1);
    if (t.fd >= 0) test_h2_late_reader(t, port, "h2/tls");

    /* TLS 1.3 KeyUpdate from the client, asking for one back: the server's
     * SSL_read has to write. */
    t = tls_conn(port, cert, "localhost", alpn_h1, sizeof alpn_h1 - 1);
    if (t.fd >= 0) {
        h1resp r;
        bool ok = h1_exchange(&t, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) && r.status == 200;
        ok = ok && SSL_key_update(t.ssl, SSL_KEY_UPDATE_REQUESTED) == 1;
        for (int i = 0; ok && i < 3; i++)
            ok = h1_exchange(&t, "GET /users/3 HTTP/1.1\r\nHost: t\r\n\r\n", &r) && r.status == 200 &&
                 strcmp(r.body, "{\"id\":3}") == 0;
        check(ok, "HTTP/1.1 over TLS across a KeyUpdate");
        conn_close(&t);
    }

    /* TLS 1.2 with h2 */
    {
        conn u = {connect_to(port, 5000), NULL, NULL};
        u.ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_max_proto_version(u.ctx, TLS1_2_VERSION);
        SSL_CTX_set_alpn_protos(u.ctx, alpn_h2_h1, sizeof alpn_h2_h1 - 1);
        u.ssl = SSL_new(u.ctx);
        SSL_set_fd(u.ssl, u.fd);
        bool hs = SSL_connect(u.ssl) == 1;
        check(hs && SSL_version(u.ssl) == TLS1_2_VERSION, "TLS 1.2 handshake");
        if (hs) {
            h2client c;
            h2_open(&c, u, port);
            h2resp a;
            h2_submit(&c, &a, "GET", "/hello", NULL, 0, NULL, NULL);
            check(h2_run(&c) && a.status == 200, "h2 over TLS 1.2");
            h2resp_free(&a);
            h2_close(&c);
        } else {
            conn_close(&u);
        }
    }

    /* Not TLS at all. */
    conn p = plain_conn(port);
    conn_send(&p, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", 33);
    check(closed_within(&p, 3000), "plain-text HTTP on the TLS port: closed");
    conn_close(&p);
    /* A TLS record header with garbage behind it, and pure garbage. */
    p = plain_conn(port);
    uint8_t junk[600] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03};
    for (size_t i = 11; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37);
    conn_send(&p, junk, sizeof junk);
    check(closed_within(&p, 3000), "garbage ClientHello: closed");
    conn_close(&p);
    p = plain_conn(port);
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 91 + 3);
    conn_send(&p, junk, sizeof junk);
    check(closed_within(&p, 3000), "random bytes on the TLS port: closed");
    conn_close(&p);
    /* A client that connects and never says anything: the header timeout. */
    p = plain_conn(port);
    double t0 = now_s();
    bool closed = closed_within(&p, 4000);
    check(closed && now_s() - t0 < 3.0, "silent client: closed after the header timeout (%.2fs)", now_s() - t0);
    conn_close(&p);
    /* A client that verifies against another name fails its side only. */
    t = tls_conn(port, cert, "example.com", alpn_h1, sizeof alpn_h1 - 1);
    check(t.fd < 0, "client refuses a name the certificate does not cover");
    ERR_clear_error();

    t = tls_conn(port, cert, "localhost", alpn_h2_h1, sizeof alpn_h2_h1 - 1);
    check(t.fd >= 0, "TLS server still serves after the abuse");
    if (t.fd >= 0) {
        h2client c;
        h2_open(&c, t, port);
        h2resp a;
        h2_submit(&c, &a, "GET", "/hello", NULL, 0, NULL, NULL);
        check(h2_run(&c) && a.status == 200, "h2 over TLS after the abuse");
        h2resp_free(&a);
        h2_close(&c);
    }
}

static void test_tls_files(const cc_router *router, const char *cert, const char *key) {
    char cpath[] = "/tmp/ccatcore-cert-XXXXXX", kpath[] = "/tmp/ccatcore-key-XXXXXX";
    int cf = mkstemp(cpath), kf = mkstemp(kpath);
    bool wrote = cf >= 0 && kf >= 0 && write(cf, cert, strlen(cert)) == (ssize_t)strlen(cert) &&
                 write(kf, key, strlen(key)) == (ssize_t)strlen(key);
    if (cf >= 0) close(cf);
    if (kf >= 0) close(kf);
    check(wrote, "PEM files written");
    char err[256];
    cc_server_config cfg = {.tls_cert_file = cpath, .tls_key_file = kpath, .workers = 1};
    cc_server *s = start(router, cfg, err, sizeof err);
    check(s != NULL, "TLS server from PEM files: %s", err);
    if (s) {
        conn t = tls_conn(cc_server_port(s), cert, "localhost", alpn_h1, sizeof alpn_h1 - 1);
        h1resp r;
        check(t.fd >= 0 && h1_exchange(&t, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) && r.status == 200,
              "served with the certificate from a file");
        if (t.fd >= 0) conn_close(&t);
        /* stop with a TLS connection open */
        t = tls_conn(cc_server_port(s), cert, "localhost", alpn_h1, sizeof alpn_h1 - 1);
        double t0 = now_s();
        cc_server_stop(s);
        check(now_s() - t0 < 1.0, "cc_server_stop with an open TLS connection took %.3fs", now_s() - t0);
        if (t.fd >= 0) {
            check(closed_within(&t, 1000), "TLS client sees the close");
            conn_close(&t);
        }
    }
    unlink(cpath);
    unlink(kpath);
}

/* ------------------------------------------------------------------ */
/* h2load                                                               */
/* ------------------------------------------------------------------ */

static void run_h2load(const char *label, const char *url) {
    if (access("/usr/bin/h2load", X_OK) != 0) {
        printf("h2load: /usr/bin/h2load not found, skipped\n");
        return;
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/h2load -n 20000 -c 8 -m 10 -t 1 %s 2>&1", url);
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[512];
    bool ok = false;
    while (fgets(line, sizeof line, p)) {
        if (strstr(line, "finished in") || strstr(line, "requests:") || strstr(line, "status codes:") ||
            strstr(line, "TLS Protocol") || strstr(line, "Application protocol"))
            printf("h2load %s: %s", label, line);
        if (strstr(line, "requests:") && strstr(line, "20000 succeeded, 0 failed, 0 errored")) ok = true;
    }
    pclose(p);
    check(ok, "h2load %s: 20000 succeeded with 0 errors", label);
}

/* Static files over TLS (the file read into the send buffer block by block
 * for OpenSSL) and over HTTP/2 (a copy in DATA frames). */
static void test_tls_static(uint16_t port, const char *cert) {
    conn t = tls_conn(port, cert, "127.0.0.1", alpn_h1, sizeof alpn_h1 - 1);
    check(t.fd >= 0, "static over TLS: handshake");
    if (t.fd < 0) return;
    static const char raw[] = "GET /static/f.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    check(conn_send(&t, raw, sizeof raw - 1), "static over TLS: sent");
    size_t cap = file_len + 8192, len = 0;
    char *buf = malloc(cap);
    char *hello = NULL;
    while (len < cap) {
        ssize_t n = conn_recv(&t, buf + len, cap - len);
        if (n <= 0) break;
        len += (size_t)n;
        char *head_end = memmem(buf, len, "\r\n\r\n", 4);
        if (head_end && len > (size_t)(head_end + 4 - buf) + file_len &&
            (hello =
                 memmem(head_end + 4 + file_len, len - (size_t)(head_end + 4 - buf) - file_len, "Hello, World!", 13)))
            break;
    }
    char *head_end = memmem(buf, len, "\r\n\r\n", 4);
    check(head_end && strncmp(buf, "HTTP/1.1 200", 12) == 0, "static over TLS: 200");
    check(head_end && len >= (size_t)(head_end + 4 - buf) + file_len && memcmp(head_end + 4, file_body, file_len) == 0,
          "static over TLS: every byte of the file");
    check(hello != NULL, "static over TLS: the pipelined answer after the file");
    free(buf);
    conn_close(&t);

    t = tls_conn(port, cert, "localhost", alpn_h2_h1, sizeof alpn_h2_h1 - 1);
    if (t.fd < 0) return;
    h2client c;
    h2_open_ex(&c, t, port, true);
    h2resp r[3];
    h2_submit(&c, &r[0], "GET", "/static/f.bin", NULL, 0, NULL, NULL);
    h2_submit(&c, &r[1], "GET", "/static/f.bin", NULL, 0, "range", "bytes=100-199");
    h2_submit(&c, &r[2], "GET", "/static/../f.bin", NULL, 0, NULL, NULL);
    check(h2_run(&c), "static over h2: three streams finish");
    check(r[0].status == 200 && r[0].blen == file_len && memcmp(r[0].body, file_body, file_len) == 0,
          "static over h2: the whole file (status %d, %zu bytes)", r[0].status, r[0].blen);
    check(r[1].status == 206 && r[1].blen == 100 && memcmp(r[1].body, file_body + 100, 100) == 0 &&
              h2_has(&r[1], "content-range", "bytes 100-199/716803"),
          "static over h2: a range (status %d)", r[1].status);
    check(r[2].status == 404, "static over h2: out of the folder refused (status %d)", r[2].status);
    for (int i = 0; i < 3; i++) h2resp_free(&r[i]);
    h2_close(&c);
}

int main(void) {
    for (size_t i = 0; i < sizeof big_body; i++) big_body[i] = (char)('A' + i % 23);
    cc_router *router = make_router();
    char err[256] = "";
    snprintf(static_root, sizeof static_root, "/tmp/ccore-h2-static-XXXXXX");
    if (!mkdtemp(static_root)) return 1;
    char file_path[128];
    snprintf(file_path, sizeof file_path, "%s/f.bin", static_root);
    file_body = malloc(file_len);
    for (size_t i = 0; i < file_len; i++) file_body[i] = (char)(i * 7 + i / 1024);
    FILE *f = fopen(file_path, "wb");
    if (!f || fwrite(file_body, 1, file_len, f) != file_len) return 1;
    fclose(f);
    mount = cc_static_open(static_root, err, sizeof err);
    if (!mount) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const uint32_t max_body = 64 * 1024;

    /* h2c with prior knowledge, HTTP/1.1 on the same port */
    cc_server_config cfg = {.h2c = 1, .limits = {.max_body_bytes = max_body}};
    cc_server *s = start(router, cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "cc_server_start: %s\n", err);
        return 1;
    }
    printf("h2-tls-smoke: h2c on 127.0.0.1:%u with 2 workers\n", cc_server_port(s));
    test_h2c(s, max_body);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/hello", cc_server_port(s));
    run_h2load("h2c", url);
    cc_server_stop(s);
    test_h2c_off(router);
    test_h2c_budget(router);
    test_h2c_timeouts(router);

    /* TLS */
    char *cert = NULL, *key = NULL;
    test_self_signed(&cert, &key);
    test_tls_config_errors(router, cert, key);
    cfg = (cc_server_config){
        .tls_cert_pem = cert, .tls_key_pem = key, .header_timeout_ms = 1000, .limits = {.max_body_bytes = max_body}};
    s = start(router, cfg, err, sizeof err);
    check(s != NULL, "TLS server started: %s", err);
    if (s) {
        printf("h2-tls-smoke: TLS on 127.0.0.1:%u with 2 workers\n", cc_server_port(s));
        test_tls(s, cert);
        test_tls_static(cc_server_port(s), cert);
        snprintf(url, sizeof url, "https://127.0.0.1:%u/hello", cc_server_port(s));
        run_h2load("h2/tls", url);
        cc_server_stop(s);
    }
    test_tls_files(router, cert, key);
    cs_free(cert);
    cs_free(key);
    cc_router_destroy(router);
    cc_static_close(mount);
    unlink(file_path);
    rmdir(static_root);
    free(file_body);

    printf("h2-tls-smoke: %d checks\n", passed + failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
