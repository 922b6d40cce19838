/*
 * Private declarations shared by the C core's translation units. Not part of
 * the public API (SwiftPM only exports include/ccatcore.h).
 */
#ifndef CCATCORE_INTERNAL_H
#define CCATCORE_INTERNAL_H

#include "include/ccatcore.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <pthread.h>
#include <time.h>

#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#define CC_DEFAULT_MAX_HEADER_BYTES 8192u
#define CC_DEFAULT_MAX_HEADERS 64u
#define CC_DEFAULT_MAX_BODY_BYTES (1024u * 1024u)

/* Leading empty lines before a request line are tolerated up to this many bytes. */
#define CC_MAX_LEADING_EMPTY 64u
/* Bytes of chunk extensions tolerated on one chunk-size line. */
#define CC_MAX_CHUNK_EXT 1024u

/* Parser flag bits (cc_parser.flags). */
enum {
    CC_PF_STARTED = 1u << 0,   /* leading empty lines skipped, request line begun */
    CC_PF_METHOD_OK = 1u << 1, /* method token seen and valid */
    CC_PF_LINE_OK = 1u << 2,   /* request line validated */
    CC_PF_LINE_SEEN = 1u << 7, /* request line's LF found (validation may be pending) */
    CC_PF_HEAD_DONE = 1u << 3, /* header block parsed; framing below is known */
    CC_PF_CHUNKED = 1u << 4,
    CC_PF_EXPECT_CONTINUE = 1u << 5,
    CC_PF_DONE = 1u << 6 /* a complete request was returned */
};

/* Fills defaults for zero fields and clamps max_headers to CC_MAX_HEADERS_CAP. */
cc_limits cc__normalize_limits(cc_limits l);

/* The method token's cc_method (case-sensitive; CC_METHOD_OTHER if unknown). */
cc_method cc__method_from(const char *m, size_t n);

/* Character classes of the RFC 9110 grammar (parser.c): bits of cc__char_class[byte]. */
enum {
    CC_C_TCHAR = 1,  /* tchar (§5.6.2) */
    CC_C_FVAL = 2,   /* a byte of a field value (§5.5), SP and HTAB included */
    CC_C_TARGET = 4, /* a byte of a request-target */
    CC_C_HEX = 8     /* HEXDIG */
};
extern const uint8_t cc__char_class[256];

/* OWS = *( SP / HTAB ) (RFC 9110 §5.6.3). */
static inline bool cc__is_ows(unsigned char c) { return c == ' ' || c == '\t'; }

/* fields.c: checks one field line, [s, e) without its terminator (RFC 9112 §5),
 * and points h at its name and OWS-trimmed value. 0 or CC_PARSE_BAD_REQUEST.
 * The head's fields and the chunked trailer's (chunked.c) both go through it. */
int cc__parse_field_line(const char *buf, size_t s, size_t e, cc_header *h);

/* What a head's fields say about its framing and its connection, gathered
 * field by field (fields.c) and judged once the head is read (parser.c). */
typedef struct cc_framing {
    int64_t content_length; /* -1 none */
    bool te_seen, te_other;
    uint8_t te_chunked; /* how many times "chunked" appeared */
    bool conn_close, conn_keep_alive, expect_continue;
    uint32_t hosts;
} cc_framing;
/* Takes one field's meaning into f: 0, or the verdict its value earns. */
int cc__field_semantics(const char *name, size_t nl, const char *v, size_t vl, cc_framing *f);

/* chunked.c: the chunked body decoder. Begin once the head is parsed
 * (header_len known); decode returns the request's raw length once the last
 * chunk and the trailer are in, 0 for more bytes, or a negative verdict. */
void cc__chunked_begin(cc_parser *p);
int64_t cc__chunked_decode(cc_parser *p, char *buf, size_t len);

/*
 * Server-side helper for chunked uploads (chunked.c): the decoder leaves a gap between the
 * decoded body and the raw bytes still to parse. Closing that gap (moving the
 * unparsed tail down) keeps the receive buffer bounded by about
 * header + body + one trailer block even for adversarial 1-byte chunks.
 * Returns the new length of the request's bytes in buf.
 */
size_t cc__parser_compact(cc_parser *p, char *buf, size_t len);

/* True when the head is complete, the body is not, and the client asked for
 * 100-continue (HTTP/1.1 only). */
static inline bool cc__parser_wants_continue(const cc_parser *p) {
    return (p->flags & (CC_PF_HEAD_DONE | CC_PF_EXPECT_CONTINUE | CC_PF_DONE)) ==
           (CC_PF_HEAD_DONE | CC_PF_EXPECT_CONTINUE);
}

static inline bool cc__parser_in_head(const cc_parser *p) { return !(p->flags & CC_PF_HEAD_DONE); }

/* ASCII lowercase without locale. */
static inline unsigned char cc__lower(unsigned char c) { return (unsigned char)(c >= 'A' && c <= 'Z' ? c + 32 : c); }

static inline bool cc__ieq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (cc__lower((unsigned char)a[i]) != cc__lower((unsigned char)b[i])) return false;
    return true;
}

/* Method names in cc_method order (index 0, OTHER, is ""). */
extern const char *const cc__method_names[CC_METHOD_COUNT];

/* ------------------------------------------------------------------ */
/* Server internals (server.c, connection.c, response.c)                */
/* ------------------------------------------------------------------ */

#define CC_RBUF_INIT (16u * 1024u)      /* receive buffer to start with */
#define CC_WBUF_INIT (16u * 1024u)      /* send buffer to start with */
#define CC_BUF_SHRINK (64u * 1024u)     /* idle buffers above this go back to the initial size */
#define CC_OUT_HIGH (1024u * 1024u)     /* stop parsing pipelined requests above this much unsent output */
#define CC_FILE_BLOCK (256u * 1024u)    /* a file body read into the send buffer per step over TLS */
#define CC_SENDFILE_MAX (1024u * 1024u) /* at most this per sendfile(2) call */
#define CC_FILE_INLINE (64u * 1024u) /* a file body up to this is read into the send buffer, not sent from the file */
#define CC_EXTRA_HEADERS_MAX 8192u   /* bytes of handler-added response headers */
#define CC_SWEEP_MS 250u             /* timeout sweep period (also the idle epoll_wait timeout) */
#define CC_LINGER_MS 2000u           /* how long a closing connection may drain the peer's input */
#define CC_DRIVE_ROUNDS 16           /* read/parse rounds per connection before others get a turn */
#define CC_POOL_MAX 1024u            /* free connection structs kept per loop */
#define CC_DEFER_POOL_MAX 1024u      /* free deferred records kept per loop */
#define CC_DEFER_BUF_INIT 1024u      /* a deferred record's answer buffer to start with */
#define CC_DEFER_TIMEOUT_MS 30000u   /* defer_timeout_ms unless configured */

#define CC_H2_DEFAULT_MAX_STREAMS 256u /* SETTINGS_MAX_CONCURRENT_STREAMS unless configured */
#define CC_H2_STREAM_WINDOW (1u << 20) /* SETTINGS_INITIAL_WINDOW_SIZE: 1 MiB per stream */
#define CC_H2_CONN_WINDOW (16u << 20)  /* connection receive window: 16 MiB */
#define CC_H2_STREAM_POOL_MAX 1024u    /* free stream structs kept per loop */
/* Response header fields one HEADERS frame can carry: the core's five plus
 * as many added headers as fit in CC_EXTRA_HEADERS_MAX ("a: \r\n" is 5 bytes). */
#define CC_H2_NV_MAX (8u + CC_EXTRA_HEADERS_MAX / 5u)

/* Protocol of a connection (cc_conn.proto). */
enum {
    CC_PROTO_H1 = 0, /* HTTP/1.x */
    CC_PROTO_SNIFF,  /* cleartext with h2c on: undecided until the first bytes */
    CC_PROTO_H2      /* HTTP/2: c->h2 is set */
};

/* First field of everything registered with epoll, to tell them apart. */
enum { CC_TAG_CONN = 1, CC_TAG_LISTEN, CC_TAG_WAKE };

typedef struct cc_loop cc_loop;
typedef struct cc_h2 cc_h2;               /* h2_stream.h: one HTTP/2 connection */
typedef struct cc_h2_stream cc_h2_stream; /* h2_stream.h: one HTTP/2 request/response */
typedef struct cc_conn cc_conn;

/* States of a deferred record (cc_deferred.state). */
enum {
    CC_DS_FREE = 0, /* in the loop's pool */
    CC_DS_HELD,     /* a handle out there; the loop may still write to its exchange */
    CC_DS_POSTING,  /* cc_deferred_respond is queueing it */
    CC_DS_POSTED,   /* in the loop's completion queue: the loop's again */
    CC_DS_DETACHED  /* the server stopped: the handle's holder frees it */
};

/*
 * One deferred exchange (defer.c). Three parties touch it:
 *   - the handle's holder (any thread) fills the answer fields and buf,
 *     then moves state HELD -> POSTING -> POSTED while queueing it;
 *   - the owning loop links it in its lists and points it at the exchange's
 *     connection / stream (cleared when those go away, so a record never
 *     points at a recycled one), and recycles it once drained from the queue;
 *   - cc_server_stop, after the loops are joined, moves HELD records to
 *     DETACHED (the holder's cc_deferred_respond frees them) and frees the
 *     POSTED ones.
 * The holder's writes reach the loop through loop->dmu (queue push / pop).
 */
struct cc_deferred {
    _Atomic int state; /* CC_DS_* */
    cc_loop *loop;     /* owner; fixed while the record is out */
    int worker;
    /* the loop's (or, after the join, cc_server_stop's) */
    struct cc_deferred *prev, *next; /* loop->dlive or loop->dorphans; the pool through next */
    bool on_live;                    /* in dlive (else in dorphans) */
    bool close;                      /* HTTP/1: the connection ends after this answer */
    bool send_body;                  /* not HEAD */
    bool ka10;                       /* HTTP/1.0 keep-alive to confirm */
    cc_conn *conn;                   /* NULL once orphaned (connection or stream gone, timed out) */
    cc_h2_stream *stream;            /* HTTP/2 only */
    uint64_t deadline_ms;            /* answered 504 by the loop after this */
    /* queue link, written under loop->dmu */
    struct cc_deferred *qnext;
    /* the answer, written by the holder before posting:
     * buf = added header lines, then the content type, then the body */
    char *buf;
    size_t cap;
    size_t hdr_len, ctype_len, body_len;
    int status;
    bool has_ctype;
    bool invalid; /* answer 500 instead (bad arguments, out of memory) */
};

typedef struct cc_conn {
    int tag; /* CC_TAG_CONN; must stay first */
    int fd;  /* -1 once closed */
    cc_loop *loop;
    struct cc_conn *prev, *next; /* live list (or pool / dead list via next) */
    struct cc_conn *ready_next;
    char *rbuf;
    size_t rstart, rlen, rcap; /* current request starts at rstart */
    char *wbuf;
    size_t woff, wlen, wcap; /* unsent output is wbuf[woff, wlen) */
    cc_parser parser;
    uint64_t head_start_ms; /* when the current request's first byte was seen, 0 if none */
    uint64_t last_io_ms;
    uint64_t linger_until_ms;
    size_t linger_bytes;
    bool readable;    /* edge seen and not yet read to EAGAIN */
    bool eof;         /* the peer finished sending (read returned 0) */
    bool rdhup;       /* EPOLLRDHUP seen: keep reading past short reads to find the EOF */
    bool closing;     /* close once the output is flushed */
    bool lingering;   /* write side shut, draining input before close */
    bool error_close; /* closing after an error answer: the peer may still be sending */
    bool held;        /* parsing stopped for backpressure with input left */
    bool in_ready;
    bool sent_continue;
    uint8_t proto; /* CC_PROTO_* */
    bool h2_more;  /* HTTP/2 output stopped at CC_OUT_HIGH with frames still queued */
    cc_h2 *h2;     /* HTTP/2 state once proto is CC_PROTO_H2 */
    SSL *ssl;      /* TLS connections only */
    uint64_t open_ms;
    bool tls_handshaking;      /* the handshake is not done yet */
    bool tls_fatal;            /* a fatal TLS error: no close_notify */
    bool tls_notified;         /* close_notify sent */
    bool tls_read_wants_write; /* SSL_read needs the socket writable first */
    uint8_t tls_rd_pending;    /* EOF or error seen behind data already returned (connection.c RD_*) */
    cc_deferred *deferred;     /* HTTP/1: the deferred exchange parsing waits for */
    uint32_t ndeferred;        /* deferred exchanges outstanding (HTTP/2: one per stream at most) */
    /* HTTP/1: a file body going out after wbuf (static.c, sent with
     * sendfile; read into wbuf over TLS). Parsing waits until it is sent. */
    bool file_active;
    int file_fd;
    uint64_t file_off, file_left;
} cc_conn;

struct cc_loop {
    int tag_listen; /* CC_TAG_LISTEN: epoll data for the listener */
    int tag_wake;   /* CC_TAG_WAKE: epoll data for the eventfd */
    cc_server *server;
    int index;
    int epfd, lfd, wfd;
    pthread_t thread;
    bool thread_started;
    bool exited;        /* left its event loop; guarded by server->mu */
    bool accept_paused; /* out of fds: retry accepting at the next sweep */
    cc_conn *live;      /* doubly linked, for the timeout sweep */
    uint32_t nlive;
    cc_conn *pool; /* free conns with their buffers, reused at accept */
    uint32_t npool;
    cc_conn *ready; /* conns with work left after their round budget */
    cc_conn *dead;  /* closed during this iteration; pooled after it */
    _Atomic uint64_t responses;
    uint64_t now_ms; /* CLOCK_MONOTONIC_COARSE, refreshed per iteration */
    uint64_t last_sweep_ms;
    time_t date_sec;   /* second the cached Date header is for */
    char date_hdr[64]; /* "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n" */
    size_t date_hdr_len;
    cc_worker_fn task_fn; /* posted by cc_server_run_on_workers; guarded by server->mu */
    void *task_ctx;
    cc_request req; /* scratch for the request being parsed */
    char extra_headers[CC_EXTRA_HEADERS_MAX];
    cc_h2_stream *h2_pool; /* free HTTP/2 stream structs with their buffers */
    uint32_t h2_npool;
    nghttp2_nv h2_nv[CC_H2_NV_MAX]; /* scratch for one response's header fields */
    /* Deferred responses (defer.c). */
    pthread_mutex_t dmu;             /* guards the completion queue */
    cc_deferred *dq_head, *dq_tail;  /* completed records, oldest first; guarded by dmu */
    cc_deferred *dlive, *dlive_tail; /* out, with an exchange to answer; oldest (earliest deadline) first */
    cc_deferred *dorphans;           /* out, exchange gone: waiting for their cc_deferred_respond */
    cc_deferred *dpool;              /* free records with their buffers */
    uint32_t ndpool;
};

struct cc_server {
    cc_server_config cfg;
    const cc_router *router;
    cc_limits limits;
    size_t rbuf_max;
    uint32_t max_connections, header_timeout_ms, keepalive_timeout_ms, defer_timeout_ms;
    char server_hdr[160]; /* "Server: name\r\n" */
    size_t server_hdr_len;
    uint16_t port;
    int nloops;
    cc_loop *loops;
    atomic_bool stopping;
    pthread_mutex_t mu; /* guards the fields below and the loops' task slots */
    pthread_cond_t cv;
    int started;            /* loops past on_thread_start */
    int exited;             /* loops that left their event loop */
    int tasks_left;         /* loops yet to run the posted task */
    pthread_mutex_t run_mu; /* one cc_server_run_on_workers at a time */
    /* HTTP/2 (h2.c): shared, read-only once the loops run */
    bool h2c;
    uint32_t h2_max_streams;
    size_t h2_body_budget; /* request body bytes one connection may buffer over all its streams */
    nghttp2_session_callbacks *h2_callbacks;
    nghttp2_option *h2_option;
    /* TLS (tls.c): one context for every loop (SSL_new is thread-safe) */
    SSL_CTX *tls_ctx;
    BIO_METHOD *tls_bio;
};

struct cc_exchange {
    cc_conn *conn;
    cc_h2_stream *stream; /* HTTP/2 only */
    const cc_request *req;
    cc_match match;
    size_t extra_len; /* bytes used in loop->extra_headers */
    bool responded;
    bool close;            /* HTTP/1: the connection ends after this answer */
    bool send_body;        /* not HEAD */
    bool ka10;             /* HTTP/1.0 keep-alive to confirm */
    bool failed;           /* the answer could not be written (out of memory) */
    cc_deferred *deferred; /* set by cc_exchange_defer: answered later */
};

/* No CR, LF, NUL or other CTLs (HTAB aside): nothing that could split a
 * header or a response. */
static inline bool cc__is_field_value(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    return true;
}

/* RFC 9110 §5.6.2 token. */
static inline bool cc__is_token(const char *s, size_t n) {
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f) return false;
        switch (c) {
        case '"':
        case '(':
        case ')':
        case ',':
        case '/':
        case ':':
        case ';':
        case '<':
        case '=':
        case '>':
        case '?':
        case '@':
        case '[':
        case '\\':
        case ']':
        case '{':
        case '}': return false;
        default: break;
        }
    }
    return true;
}

/* server.c */
/* Wakes L's thread (its eventfd); callable from any thread while L's eventfd is open. */
void cc__loop_wake(cc_loop *L);

/* connection.c */
/* Queues c to be driven later in this loop iteration (after new output or
 * when parsing may resume). */
void cc__conn_kick(cc_conn *c);
void cc__conn_event(cc_conn *c, uint32_t events);
void cc__conn_drive(cc_conn *c);
/* Writes c's pending output until done or the socket is full. Returns false
 * on a fatal error. */
bool cc__conn_flush(cc_conn *c);
static inline size_t cc__conn_out_pending(const cc_conn *c) {
    return c->wlen - c->woff + (c->file_active ? (size_t)c->file_left : 0);
}
/* Closes the file body still going out, if any. */
void cc__conn_drop_file(cc_conn *c);

/* connection_lifetime.c */
cc_conn *cc__conn_open(cc_loop *L, int fd);
void cc__conn_close(cc_conn *c);
void cc__conn_sweep(cc_loop *L);
void cc__conn_reap(cc_loop *L);
void cc__conn_free_all(cc_loop *L);
/* Large buffers back to their initial size once empty. */
void cc__conn_shrink_rbuf(cc_conn *c);
void cc__conn_shrink_wbuf(cc_conn *c);

/* response.c */
void cc__loop_clock(cc_loop *L);
/* Appends a complete response to c's output. Returns false when out of memory. */
bool cc__write_response(cc_conn *c, int status, const char *ctype, size_t ctype_len, const char *extra,
                        size_t extra_len, const void *body, size_t body_len, bool send_body, bool close,
                        bool keep_alive_10);
/* A core-generated JSON error answer ({"error":"..."}), closing or not. */
bool cc__write_error(cc_conn *c, int status, bool close, bool send_body, const char *extra, size_t extra_len,
                     bool keep_alive_10);
bool cc__out_append(cc_conn *c, const char *data, size_t n);
/* Room for n more bytes at wbuf + wlen (the caller adds what it wrote to wlen); NULL when out of memory. */
char *cc__out_reserve(cc_conn *c, size_t n);
/* One answer on whichever protocol the exchange speaks. */
bool cc__emit(cc_exchange *ex, int status, const char *ctype, size_t ctype_len, const char *extra, size_t extra_len,
              const void *body, size_t body_len);
void cc__handle_request(cc_conn *c, const cc_request *req);
/* Routes ex->req and answers it: the handler (500 if it does not answer),
 * or the core's 404/405. Sets ex->failed when the answer could not be written. */
void cc__route(cc_exchange *ex);
/* Answers ex with the core's JSON error body for status. */
bool cc__answer_error(cc_exchange *ex, int status, const char *extra, size_t extra_len);

/* h2_guard.c: the client's frame headers, read before nghttp2 gets them, for
 * the stream states nghttp2 forgets (RFC 9113 §5.1, §5.1.1) and rapid reset. */
#define CC_H2_ID_WINDOW 1024u   /* client stream numbers remembered: two bits each */
#define CC_H2_RESET_BURST 1000u /* client RST_STREAMs allowed at once ... */
#define CC_H2_RESET_RATE 33u    /* ... and per second after that (nghttp2's own defaults) */
typedef struct cc_h2_guard {
    /* Where the client's byte stream is, frame by frame. */
    uint32_t preface_left; /* preface octets still to pass */
    uint32_t payload_left; /* octets of the current frame's payload still to pass */
    uint8_t head[9];       /* the frame header being gathered */
    uint8_t head_len;
    bool refused;   /* the guard ended the session: the rest of the input is dropped */
    int32_t max_id; /* the highest client stream id a HEADERS frame named */
    /* By stream number (id / 2) modulo the window: the client opened it (HEADERS),
     * the client ended its side itself (END_STREAM or RST_STREAM). */
    uint64_t opened[CC_H2_ID_WINDOW / 64], ended[CC_H2_ID_WINDOW / 64];
    uint32_t reset_tokens; /* the rapid-reset bucket */
    uint64_t reset_refill_ms;
} cc_h2_guard;
/* A new connection: the client's preface comes first, the bucket is full. */
void cc__h2_guard_init(cc_h2_guard *g, uint64_t now_ms);
/* Hands the client's bytes to the session -- all of them, unless the guard
 * refuses a frame: then those before it, and the session ends there (GOAWAY
 * with the frame's error code); after that the input is dropped. Returns as
 * nghttp2_session_mem_recv. */
ssize_t cc__h2_guard_recv(cc_h2_guard *g, nghttp2_session *session, uint64_t now_ms, const uint8_t *in, size_t n);

/* h2.c */
bool cc__h2_setup(cc_server *s, char *err, size_t err_len);
void cc__h2_teardown(cc_server *s);
/* Makes c an HTTP/2 connection (server session, our SETTINGS queued). */
bool cc__h2_start(cc_conn *c);
/* Feeds c's received bytes to the session; handlers run from here. */
void cc__h2_input(cc_conn *c);
/* Serialises queued frames into c's output buffer, up to CC_OUT_HIGH.
 * Returns false on a fatal session error. */
bool cc__h2_pump(cc_conn *c);
/* Queues GOAWAY; the session ends once it is sent. */
void cc__h2_goaway(cc_conn *c, uint32_t error_code);
/* True while some stream's request is still arriving. */
bool cc__h2_waiting(const cc_conn *c);
void cc__h2_free(cc_conn *c);
void cc__h2_free_pool(cc_loop *L);
/* Grows *buf to hold need bytes, doubling from first; false when out of memory. */
bool cc__h2_grow(char **buf, size_t *cap, size_t need, size_t first);
/* Gives a request body's memory back once the handler is done with it. */
void cc__h2_stream_drop_body(cc_h2 *h, cc_h2_stream *st);

/* h2_response.c */
/* Routes the stream's request (or answers its error) -- once. */
void cc__h2_answer(cc_conn *c, cc_h2_stream *st);
bool cc__h2_submit(cc_exchange *ex, int status, const char *ctype, size_t ctype_len, const char *extra,
                   size_t extra_len, const void *body, size_t body_len);
/* Ties (d) or unties (NULL) a deferred record to the stream. */
void cc__h2_stream_defer(cc_h2_stream *st, cc_deferred *d);
/* A deferred stream's answer was submitted (ok) or could not be: reset it. */
void cc__h2_deferred_done(cc_conn *c, cc_h2_stream *st, bool ok);

/* defer.c */
/* Takes the completed records off L's queue and writes their answers. */
void cc__defer_drain(cc_loop *L);
/* Answers 504 for every deferred exchange past its deadline. */
void cc__defer_sweep(cc_loop *L);
/* The exchange of d is gone (connection closed, stream reset): its answer
 * will be dropped. */
void cc__defer_orphan(cc_deferred *d);
/* After L's thread has exited: detaches the records still out, frees the
 * queued and pooled ones. */
void cc__defer_teardown(cc_loop *L);

/* tls.c */
enum { CC_TLS_OK = 0, CC_TLS_AGAIN, CC_TLS_EOF, CC_TLS_ERROR };
bool cc__tls_setup(cc_server *s, const cc_server_config *cfg, char *err, size_t err_len);
void cc__tls_teardown(cc_server *s);
/* Gives c an SSL object in server mode over its socket. */
bool cc__tls_attach(cc_conn *c);
/* Advances the handshake: 1 done (c->proto set from ALPN), 0 waiting for
 * the socket, -1 failed. */
int cc__tls_handshake(cc_conn *c);
/* Reads into buf until it is full, the socket is drained (CC_TLS_AGAIN),
 * the peer closed (CC_TLS_EOF) or an error; *got says how much arrived. */
int cc__tls_read(cc_conn *c, char *buf, size_t len, size_t *got);
/* Writes some of buf: CC_TLS_OK with *sent > 0, CC_TLS_AGAIN or CC_TLS_ERROR. */
int cc__tls_write(cc_conn *c, const char *buf, size_t len, size_t *sent);
/* Sends close_notify once, best effort (never blocks). */
void cc__tls_notify(cc_conn *c);
void cc__tls_free(cc_conn *c);

#endif
