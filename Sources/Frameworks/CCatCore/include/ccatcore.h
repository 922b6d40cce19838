/*
 * ccatcore — the C core of the `ccore` stack (Catzilla's design):
 * an incremental zero-copy HTTP/1.1 request parser, a radix-tree router with
 * typed path parameters, and an epoll event loop per worker thread that calls
 * handlers (written in Swift) synchronously from the loop.
 *
 * The loop also speaks HTTP/2 (libnghttp2: prior knowledge on cleartext when
 * asked, ALPN "h2" over TLS) and TLS 1.2/1.3 (OpenSSL). Handlers see the same
 * cc_request and answer with the same cc_respond whatever the protocol.
 * Linking needs -lnghttp2 -lssl -lcrypto.
 *
 * Threading: a cc_server owns `workers` loop threads. Handlers run on those
 * threads; everything reachable from a cc_exchange is valid only during the
 * handler call. A handler with asynchronous work takes the exchange out of
 * the call with cc_exchange_defer and answers later from any thread.
 */
#ifndef CCATCORE_H
#define CCATCORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Methods                                                              */
/* ------------------------------------------------------------------ */

typedef enum cc_method {
    CC_METHOD_OTHER = 0,
    CC_METHOD_GET,
    CC_METHOD_HEAD,
    CC_METHOD_POST,
    CC_METHOD_PUT,
    CC_METHOD_DELETE,
    CC_METHOD_PATCH,
    CC_METHOD_OPTIONS,
    CC_METHOD_COUNT
} cc_method;

/* ------------------------------------------------------------------ */
/* Parser                                                               */
/* ------------------------------------------------------------------ */

#define CC_MAX_HEADERS_CAP 128

/* A view into the connection's receive buffer (zero-copy). */
typedef struct cc_slice {
    const char *at;
    uint32_t len;
} cc_slice;

typedef struct cc_header {
    cc_slice name;  /* as sent (case preserved) */
    cc_slice value; /* leading and trailing OWS removed */
} cc_header;

typedef struct cc_limits {
    uint32_t max_header_bytes; /* request line + header block; over -> 431 (request line alone over -> 414) */
    uint32_t max_headers;      /* header field count, <= CC_MAX_HEADERS_CAP; over -> 431 */
    uint32_t max_body_bytes;   /* decoded body; over -> 413 */
} cc_limits;

/* Parse verdicts (negative = error, value is the HTTP status to answer). */
enum {
    CC_PARSE_INCOMPLETE = 0,
    CC_PARSE_BAD_REQUEST = -400,
    CC_PARSE_PAYLOAD_TOO_LARGE = -413,
    CC_PARSE_URI_TOO_LONG = -414,
    CC_PARSE_HEADERS_TOO_LARGE = -431,
    CC_PARSE_NOT_IMPLEMENTED = -501, /* unknown transfer coding */
    CC_PARSE_VERSION_NOT_SUPPORTED = -505
};

typedef struct cc_request {
    cc_method method;
    cc_slice method_text;  /* the method token as sent */
    cc_slice target;       /* request-target as sent */
    cc_slice path;         /* target before '?' */
    cc_slice query;        /* target after '?', without it; len 0 if none */
    uint8_t version_minor; /* HTTP/1.<minor>; 0 or 1 */
    uint8_t keep_alive;    /* 1 when the connection stays open after this request */
    uint8_t chunked;       /* body arrived with Transfer-Encoding: chunked */
    uint8_t expect_continue;
    uint32_t num_headers;
    cc_header headers[CC_MAX_HEADERS_CAP];
    cc_slice body; /* decoded body (chunked bodies are decoded in place) */
    /*
     * 1 for HTTP/1.x, 2 for HTTP/2. An HTTP/2 request reports version_minor 1
     * and keep_alive 1 (a persistent connection, HTTP/1.1 semantics);
     * target is :path, method_text is :method, headers are the regular
     * fields with lowercase names (no pseudo-headers) plus a "host" field
     * made from :authority when the request has no Host (RFC 9113 §8.3.1),
     * and body is the DATA frames' payload, contiguous.
     */
    uint8_t http_major;
} cc_request;

/* Resumable parser state for one connection. */
typedef struct cc_parser {
    cc_limits limits;
    /* private: positions are relative to the request's first byte (buf[0]) */
    int32_t error;       /* sticky negative verdict once one was returned, else 0 */
    uint16_t flags;      /* progress and framing bits (parser.c) */
    uint8_t chunk_state; /* chunked decoder state (chunked.c) */
    uint8_t reserved;
    size_t skip;              /* bytes of leading empty lines before the request line */
    size_t scan_pos;          /* how far the header-end search got */
    size_t line_start;        /* start of the line the header-end search is in */
    size_t header_len;        /* skip + request line + header block incl. the empty line; 0 until known */
    int64_t content_length;   /* -1 when none */
    uint64_t chunk_remaining; /* data bytes left in the current chunk */
    size_t chunk_read_pos;    /* raw bytes consumed by the chunk decoder */
    size_t chunk_write_pos;   /* end of the decoded body (decoded in place) */
    size_t chunk_aux;         /* extension bytes of this size line / bytes scanned of this trailer line */
    size_t trailer_bytes;     /* bytes of complete trailer lines so far */
} cc_parser;

void cc_parser_init(cc_parser *p, cc_limits limits);
/* Forget the current request; call after a complete request or an error. */
void cc_parser_reset(cc_parser *p);

/*
 * Parse one request from buf[0..len). `buf` holds the bytes of the current
 * request from its first byte on, and between calls the caller only appends
 * (chunked bodies are decoded in place, so bytes already seen may change).
 * Returns the number of raw bytes the complete request used (> 0), with `req`
 * filled; CC_PARSE_INCOMPLETE when more bytes are needed; or a negative
 * CC_PARSE_* error. Leading empty lines before a request line are skipped
 * (RFC 9112 §2.2) and counted in the returned length.
 */
int64_t cc_parse_request(cc_parser *p, char *buf, size_t len, cc_request *req);

/* Case-insensitive header lookup; returns NULL when absent. */
const cc_header *cc_request_header(const cc_request *req, const char *name, size_t name_len);

/* ------------------------------------------------------------------ */
/* Router                                                               */
/* ------------------------------------------------------------------ */

/*
 * Patterns: segments separated by '/'; a segment is literal text, or a
 * parameter {name} (one segment, any text), {name:int} (a signed decimal
 * integer that fits int64), {name:path} (the rest of the path, last segment
 * only). Literal segments win over {x:int}, which wins over {x}.
 */
#define CC_MAX_PARAMS 8

typedef enum cc_param_type { CC_PARAM_STRING = 0, CC_PARAM_INT = 1, CC_PARAM_PATH = 2 } cc_param_type;

typedef struct cc_param {
    cc_slice name;     /* points into the router's copy of the pattern */
    cc_slice value;    /* points into the matched path (not percent-decoded) */
    int64_t int_value; /* for CC_PARAM_INT */
    cc_param_type type;
} cc_param;

typedef enum cc_route_result {
    CC_ROUTE_FOUND = 0,
    CC_ROUTE_NOT_FOUND = 1,
    CC_ROUTE_METHOD_NOT_ALLOWED = 2
} cc_route_result;

typedef struct cc_match {
    int32_t handler_id;
    uint32_t num_params;
    cc_param params[CC_MAX_PARAMS];
    uint32_t allowed_methods; /* bit (1u << cc_method) per method routed at this path; set for FOUND and 405 */
} cc_match;

typedef struct cc_router cc_router;

cc_router *cc_router_create(void);
void cc_router_destroy(cc_router *r);
/*
 * Adds a route. `method` CC_METHOD_OTHER is not allowed. Returns 0, or -1 with
 * a message in err (invalid pattern, duplicate route, conflicting parameter
 * names or types at the same position, too many parameters).
 */
int cc_router_add(cc_router *r, cc_method method, const char *pattern, int32_t handler_id, char *err, size_t err_len);
/* HEAD falls back to a GET route when no HEAD route exists. */
cc_route_result cc_router_match(const cc_router *r, cc_method method, const char *path, size_t path_len, cc_match *out);

/* ------------------------------------------------------------------ */
/* Server                                                               */
/* ------------------------------------------------------------------ */

typedef struct cc_server cc_server;
typedef struct cc_exchange cc_exchange;

typedef void (*cc_handler_fn)(void *ctx, cc_exchange *ex);
typedef void (*cc_worker_fn)(void *ctx, int worker_index);

typedef struct cc_server_config {
    const char *host; /* numeric IPv4 or IPv6 address; default "127.0.0.1" when NULL */
    uint16_t port;    /* 0 picks a free port */
    int workers;      /* loop threads, one SO_REUSEPORT listener each; >= 1 */
    cc_limits limits;
    uint32_t max_connections;      /* per worker; beyond it new connections are closed at once (0 = 10000) */
    uint32_t header_timeout_ms;    /* a request head must arrive within this (0 = 10000) */
    uint32_t keepalive_timeout_ms; /* idle keep-alive connections close after this (0 = 60000) */
    const char *server_name;       /* value of the Server header; default "ccore" */
    cc_handler_fn on_request;      /* called for every routed request */
    cc_worker_fn on_thread_start;  /* called first on each loop thread; may be NULL */
    void *ctx;                     /* passed to the callbacks */

    /* --- HTTP/2 and TLS (zero = off: cleartext HTTP/1.1 only) --- */

    /*
     * 1: a cleartext connection whose first bytes are the HTTP/2 connection
     * preface speaks HTTP/2 ("prior knowledge", RFC 9113 §3.3); any other
     * connection stays HTTP/1.1 on the same port. 0: HTTP/1.1 only (the
     * preface gets 505). TLS listeners offer h2 through ALPN regardless.
     */
    uint8_t h2c;
    /* SETTINGS_MAX_CONCURRENT_STREAMS per HTTP/2 connection (0 = 256). */
    uint32_t h2_max_concurrent_streams;
    /*
     * TLS: give the certificate chain (leaf first) and its private key,
     * either as PEM text in memory (tls_cert_pem/tls_key_pem) or as paths of
     * PEM files (tls_cert_file/tls_key_file), not both. With them the
     * listener speaks TLS 1.2/1.3 only and picks the protocol by ALPN ("h2"
     * preferred, "http/1.1"; no ALPN means HTTP/1.1). All NULL = cleartext.
     * The strings are read during cc_server_start and not kept.
     */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    const char *tls_cert_file;
    const char *tls_key_file;

    /* --- deferred responses --- */

    /* A deferred exchange not completed within this is answered 504 by the
     * core; its late completion is dropped (0 = 30000). */
    uint32_t defer_timeout_ms;
} cc_server_config;

/*
 * Binds (the first listener detects a port already in use, also one held by
 * another SO_REUSEPORT socket), starts the loop threads and returns 0; or -1
 * with a message a user can act on in err.
 */
int cc_server_start(const cc_server_config *config, const cc_router *router, cc_server **out, char *err,
                    size_t err_len);
uint16_t cc_server_port(const cc_server *s);
/* Responses written so far, over all workers (every status, also errors the core answered). */
uint64_t cc_server_requests(const cc_server *s);
/* Runs fn on every loop thread and returns when all have run it. */
void cc_server_run_on_workers(cc_server *s, cc_worker_fn fn, void *ctx);
/* Stops accepting, closes every connection (HTTP/2 ones after a GOAWAY,
 * TLS ones after a close_notify, both best effort), joins the threads,
 * frees the server. Deferred exchanges still out are dropped without
 * waiting for them; their handles stay valid until their
 * cc_deferred_respond (see Deferred responses below). */
void cc_server_stop(cc_server *s);

/* --- inside a handler ------------------------------------------------ */

const cc_request *cc_exchange_request(const cc_exchange *ex);
const cc_match *cc_exchange_match(const cc_exchange *ex);
int cc_exchange_worker(const cc_exchange *ex);
/* 1 for an HTTP/1.x exchange, 2 for an HTTP/2 stream (as cc_request.http_major). */
int cc_exchange_http_version(const cc_exchange *ex);
/* 1 when the exchange arrived over TLS. */
int cc_exchange_is_tls(const cc_exchange *ex);
/* Adds a response header (before cc_respond). Returns 0, or -1 when the header space is full. */
int cc_exchange_add_header(cc_exchange *ex, const char *name, size_t name_len, const char *value, size_t value_len);
/*
 * Writes the response: status line, Server, Date, Content-Type (omitted when
 * content_type is NULL), Content-Length, added headers, Connection: close when
 * the connection ends, then the body (no body for HEAD). Call once; a handler
 * that returns without responding gets a 500.
 *
 * On HTTP/2 the same fields go out as a HEADERS frame (:status, server, date,
 * content-type, content-length, the added headers minus connection-specific
 * ones such as Connection or Transfer-Encoding, RFC 9113 §8.2.2) and the
 * body as DATA frames from a copy the stream keeps until it is sent.
 */
void cc_respond(cc_exchange *ex, int status, const char *content_type, size_t content_type_len, const void *body,
                size_t body_len);

/* ------------------------------------------------------------------ */
/* Static files                                                         */
/* ------------------------------------------------------------------ */

/*
 * A folder served by the core (Catzilla's C-native static server). Open it
 * once; cc_static_serve answers a GET or HEAD for a file beneath it from a
 * handler, all in C on the loop thread:
 *   - the path (the raw rest of the request path after the mount's prefix,
 *     as a {name:path} parameter gives it) is percent-decoded and refused
 *     with 404 when a segment is empty (an absolute path, "//"), "." or
 *     "..", or holds an encoded '/' or a '\'; a malformed escape or a NUL
 *     is 400. The file is opened one segment at a time beneath the folder,
 *     following no symbolic link; only a regular file is served;
 *   - validators: a strong ETag of the size and the modification time in
 *     nanoseconds, Last-Modified; If-Match / If-Unmodified-Since (412),
 *     If-None-Match / If-Modified-Since (304), RFC 9110 §13.2.2's order;
 *   - one byte range (Range: bytes=a-b, a-, -n) answered 206 with
 *     Content-Range, honoured under If-Range (the ETag, or the exact
 *     Last-Modified date); past the end 416 with Content-Range: bytes *\/N;
 *     several ranges get the whole file (200), as RFC 9110 allows;
 *   - the body goes out with sendfile(2) after the head (read into the
 *     answer when small, over TLS in blocks, over HTTP/2 as a copy), and
 *     the connection parses no pipelined request until it is sent.
 * Headers added to the exchange come first. Returns the status answered
 * (0 when the exchange was already answered).
 */
typedef struct cc_static_mount cc_static_mount;

cc_static_mount *cc_static_open(const char *root, char *err, size_t err_len);
void cc_static_close(cc_static_mount *m);
int cc_static_serve(cc_exchange *ex, const cc_static_mount *m, const char *rel, size_t rel_len);

/* The rules above, apart, for tests and the fuzzer. */
enum { CC_STATIC_MALFORMED = -400, CC_STATIC_REFUSED = -404 };
/* Decodes and checks a path into out (NUL-terminated); its length, or CC_STATIC_*. */
int cc_static_path(const char *in, size_t n, char *out, size_t cap);
enum { CC_RANGE_OK = 0, CC_RANGE_IGNORE = 1, CC_RANGE_UNSATISFIABLE = 2 };
/* One Range header value against a file of `size` bytes: [first, last] when CC_RANGE_OK. */
int cc_static_range(const char *s, size_t n, uint64_t size, uint64_t *first, uint64_t *last);
/* An HTTP-date (IMF-fixdate, RFC 850 or asctime) as seconds since the epoch; 0, or -1 when invalid. */
int cc_static_parse_date(const char *s, size_t n, int64_t *out);

/* ------------------------------------------------------------------ */
/* Deferred responses                                                   */
/* ------------------------------------------------------------------ */

/*
 * The "sync calling async" bridge: a handler that has to wait (a timer, an
 * upstream call, a file read, work on a pool) defers the exchange and
 * returns at once; the loop goes on serving. The answer comes later, from
 * any thread, through cc_deferred_respond, which copies it and hands it to
 * the owning loop; the loop writes it.
 *
 * Ordering: HTTP/1.1 answers stay in request order -- a connection parses
 * no further (pipelined) request while one of its exchanges is deferred and
 * resumes once the deferred answer is written; its keep-alive decision
 * (Connection: close, HTTP/1.0) applies then. HTTP/2 streams are
 * independent: other streams go on, the deferred answer goes out on its
 * stream when it arrives. TLS makes no difference.
 *
 * Lifetime: a handle is given back by exactly one cc_deferred_respond,
 * whatever happened meanwhile. If the client went away, the exchange timed
 * out (defer_timeout_ms: the core answered 504) or the server stopped, the
 * answer is dropped quietly. cc_server_stop does not wait for outstanding
 * handles: it closes their connections and leaves each handle valid until
 * its cc_deferred_respond, which may come during or after cc_server_stop
 * and then only frees it (a handle never completed stays allocated).
 */
typedef struct cc_deferred cc_deferred;

/*
 * Inside a handler: answer later. The core sends nothing for this exchange
 * until cc_deferred_respond is called, from any thread, exactly once.
 * The exchange's request views (cc_request, params) are valid only until
 * the handler returns: copy what the later work needs. Headers already added
 * with cc_exchange_add_header carry over to the deferred answer. After a
 * successful defer, cc_respond on the exchange is ignored and
 * cc_exchange_add_header returns -1. Returns NULL (and the handler must
 * answer now) when the exchange cannot be deferred: it was already answered
 * or deferred, or there is no memory.
 */
cc_deferred *cc_exchange_defer(cc_exchange *ex);
/* Adds a response header to a deferred answer (before cc_deferred_respond),
 * from the thread that holds the handle. Returns 0, or -1 for an invalid
 * name or value or when the header space (as for an exchange) is full. */
int cc_deferred_add_header(cc_deferred *d, const char *name, size_t name_len, const char *value, size_t value_len);
/*
 * Completes a deferred exchange from any thread (copies everything; the loop
 * writes it, in order, with Server, Date and Content-Length as cc_respond
 * does and no body for HEAD). An invalid answer (status outside 200..999, a
 * content type with control characters, NULL body with a length) becomes a
 * 500, as with cc_respond. After this call the handle is gone. If the client
 * went away meanwhile, the exchange timed out or the server stopped, the
 * answer is dropped quietly.
 */
void cc_deferred_respond(cc_deferred *d, int status, const char *content_type, size_t content_type_len,
                         const void *body, size_t body_len);
/* The worker (loop) that owns the exchange, e.g. to pick a per-worker pool. */
int cc_deferred_worker(const cc_deferred *d);

#ifdef __cplusplus
}
#endif

#endif
