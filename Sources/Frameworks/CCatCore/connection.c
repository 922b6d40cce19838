/*
 * One client connection on a loop: the read/parse/respond/write cycle.
 * Opening, closing, the pool and the timeouts are connection_lifetime.c.
 *
 * Each connection is registered once with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET
 * and never modified. Edge-triggered readiness is remembered in `readable`:
 * we read until a short read or EAGAIN, parse every complete request in the
 * buffer (pipelining), append the responses to one output buffer and write it
 * once per batch. Only when that write is partial do we wait for EPOLLOUT.
 * If unsent output passes CC_OUT_HIGH we stop parsing (and reading) until it
 * drains, so a client that pipelines without reading cannot grow us without
 * bound.
 *
 * The same cycle carries the other protocols:
 *   - TLS (tls.c): the handshake runs first, driven by the same edges; then
 *     SSL_read/SSL_write take the place of read/send. ALPN picks HTTP/2 or
 *     HTTP/1.1.
 *   - HTTP/2 (h2.c): with h2c on, a cleartext connection's first bytes are
 *     compared with the connection preface (CC_PROTO_SNIFF) -- a request
 *     line can never begin with "PRI * HTTP/2.0". An HTTP/2 connection feeds
 *     its input to nghttp2 instead of the HTTP/1.1 parser (handlers run from
 *     there) and, before each write, copies nghttp2's queued frames into the
 *     output buffer, up to CC_OUT_HIGH: still one write per batch.
 *
 * A handler may defer its exchange (defer.c). On HTTP/1.1 the connection
 * then parses and reads nothing more -- later pipelined requests wait in the
 * buffer or the socket, so answers stay in request order -- until the
 * deferred answer is written; then the cycle resumes where it stopped. On
 * HTTP/2 only that stream waits.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* I/O                                                                  */
/* ------------------------------------------------------------------ */

enum { RD_DATA_FULL = 1, RD_DATA_SHORT, RD_AGAIN, RD_EOF, RD_ERROR, RD_NOSPACE };

/* Makes room for at least one byte at rbuf + rlen. */
static bool ensure_space(cc_conn *c) {
    if (c->rlen < c->rcap) return true;
    if (c->rstart > 0) {
        memmove(c->rbuf, c->rbuf + c->rstart, c->rlen - c->rstart);
        c->rlen -= c->rstart;
        c->rstart = 0;
        return true;
    }
    size_t max = c->loop->server->rbuf_max;
    if (c->rcap < max) {
        size_t cap = c->rcap * 2 < max ? c->rcap * 2 : max;
        char *b = realloc(c->rbuf, cap);
        if (!b) return false;
        c->rbuf = b;
        c->rcap = cap;
        return true;
    }
    /* At the cap only a chunked upload can still need room: close the gap
     * between its decoded body and the raw bytes still to parse. */
    c->rlen = cc__parser_compact(&c->parser, c->rbuf, c->rlen);
    return c->rlen < c->rcap;
}

/* read_some over TLS. OpenSSL hands out one record per SSL_read and may
 * hold more, so we read until it asks for the socket (WANT_READ: truly
 * drained) or the buffer is full. An EOF or error behind data is reported
 * on the next call, after that data is parsed. */
static int tls_read_some(cc_conn *c) {
    if (c->tls_rd_pending) return c->tls_rd_pending;
    if (!ensure_space(c)) return RD_NOSPACE;
    size_t got = 0;
    int r = cc__tls_read(c, c->rbuf + c->rlen, c->rcap - c->rlen, &got);
    if (got) {
        c->rlen += got;
        c->last_io_ms = c->loop->now_ms;
    }
    switch (r) {
    case CC_TLS_OK: return RD_DATA_FULL;
    case CC_TLS_AGAIN: return got ? RD_DATA_SHORT : RD_AGAIN;
    case CC_TLS_EOF:
        if (!got) return RD_EOF;
        c->tls_rd_pending = RD_EOF;
        return RD_DATA_FULL;
    default:
        if (!got) return RD_ERROR;
        c->tls_rd_pending = RD_ERROR;
        return RD_DATA_FULL;
    }
}

static int read_some(cc_conn *c) {
    if (c->ssl) return tls_read_some(c);
    if (!ensure_space(c)) return RD_NOSPACE;
    size_t space = c->rcap - c->rlen;
    for (;;) {
        ssize_t n = read(c->fd, c->rbuf + c->rlen, space);
        if (n > 0) {
            c->rlen += (size_t)n;
            c->last_io_ms = c->loop->now_ms;
            /* A stream socket returning less than asked for is drained. */
            return (size_t)n < space ? RD_DATA_SHORT : RD_DATA_FULL;
        }
        if (n == 0) return RD_EOF;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return RD_AGAIN;
        return RD_ERROR;
    }
}

void cc__conn_drop_file(cc_conn *c) {
    if (!c->file_active) return;
    close(c->file_fd);
    c->file_active = false;
    c->file_left = 0;
}

/* The file body after wbuf: sendfile(2) on cleartext (the kernel copies page
 * cache to socket); over TLS a block is read into wbuf for the flush loop to
 * encrypt. Returns false on a fatal error, sets *more when wbuf got bytes. */
static bool file_step(cc_conn *c, bool *more) {
    *more = false;
    if (c->ssl) {
        size_t n = c->file_left < CC_FILE_BLOCK ? (size_t)c->file_left : CC_FILE_BLOCK;
        char *p = cc__out_reserve(c, n);
        if (!p) return false;
        ssize_t got = pread(c->file_fd, p, n, (off_t)c->file_off);
        if (got <= 0) return false; /* the file shrank under us: the framing is lost */
        c->wlen += (size_t)got;
        c->file_off += (uint64_t)got;
        c->file_left -= (uint64_t)got;
        if (c->file_left == 0) cc__conn_drop_file(c);
        *more = true;
        return true;
    }
    while (c->file_left) {
        off_t off = (off_t)c->file_off;
        size_t n = c->file_left < CC_SENDFILE_MAX ? (size_t)c->file_left : CC_SENDFILE_MAX;
        ssize_t sent = sendfile(c->fd, c->file_fd, &off, n);
        if (sent > 0) {
            c->file_off += (uint64_t)sent;
            c->file_left -= (uint64_t)sent;
            c->last_io_ms = c->loop->now_ms;
            continue;
        }
        if (sent < 0 && errno == EINTR) continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true; /* EPOLLOUT resumes */
        return false; /* an error, or 0: the file shrank under us */
    }
    cc__conn_drop_file(c);
    return true;
}

/* Returns false on a fatal error. */
bool cc__conn_flush(cc_conn *c) {
    for (;;) {
        if (c->woff == c->wlen && c->file_active) {
            bool more;
            if (!file_step(c, &more)) return false;
            if (!more) return true; /* sent, or the socket is full */
        }
        if (c->woff >= c->wlen) break;
        if (c->ssl) {
            size_t sent;
            int r = cc__tls_write(c, c->wbuf + c->woff, c->wlen - c->woff, &sent);
            if (r == CC_TLS_OK) {
                c->woff += sent;
                c->last_io_ms = c->loop->now_ms;
                continue;
            }
            if (r == CC_TLS_AGAIN) return true; /* an edge resumes */
            return false;
        }
        /* MSG_NOSIGNAL: a peer that went away must not SIGPIPE the process. */
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) {
            c->woff += (size_t)n;
            c->last_io_ms = c->loop->now_ms;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true; /* EPOLLOUT resumes */
        return false;
    }
    c->woff = c->wlen = 0;
    cc__conn_shrink_wbuf(c);
    return true;
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */
/* ------------------------------------------------------------------ */

/*
 * RFC 9113 §3.3: "a client MUST send the connection preface ... and MAY
 * immediately send HTTP/2 frames to such a server"; §3.4: "the client
 * connection preface starts with a sequence of 24 octets ...
 * PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n". Called while the first bytes are
 * still undecided; any mismatch means HTTP/1.1 (an HTTP/1.1 request line
 * cannot start this way: RFC 9112 §2.3 versions are HTTP/1.x).
 */
static void sniff_preface(cc_conn *c) {
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const size_t plen = sizeof preface - 1;
    size_t n = c->rlen - c->rstart;
    if (memcmp(c->rbuf + c->rstart, preface, n < plen ? n : plen) != 0) {
        c->proto = CC_PROTO_H1;
        return;
    }
    if (n < plen) {
        /* Part of a preface so far: the header timer covers a stall. */
        if (n && c->head_start_ms == 0) c->head_start_ms = c->loop->now_ms;
        return;
    }
    c->head_start_ms = 0;
    if (!cc__h2_start(c)) {
        c->closing = true; /* out of memory: nothing sensible to answer */
        c->rstart = c->rlen = 0;
    }
}

static void process_input(cc_conn *c) {
    cc_loop *L = c->loop;
    if (c->proto == CC_PROTO_SNIFF) {
        sniff_preface(c);
        if (c->proto == CC_PROTO_SNIFF) return;
    }
    if (c->proto == CC_PROTO_H2) {
        cc__h2_input(c);
        return;
    }
    c->held = false;
    /* A deferred exchange stops the pipeline until its answer is written. */
    while (c->rstart < c->rlen && !c->closing && !c->deferred) {
        /* A file body still going out comes before any later answer. */
        if (cc__conn_out_pending(c) >= CC_OUT_HIGH || c->file_active) {
            c->held = true;
            break;
        }
        char *b = c->rbuf + c->rstart;
        size_t n = c->rlen - c->rstart;
        int64_t r = cc_parse_request(&c->parser, b, n, &L->req);
        /* The header timer starts at the request line's first byte (empty
         * lines before it do not count). */
        if (c->head_start_ms == 0 && (c->parser.flags & CC_PF_STARTED)) c->head_start_ms = L->now_ms;
        if (r == 0) {
            /* RFC 9110 §10.1.1: answer 100-continue once the head is in and
             * the body has not started (a client that sends it anyway needs
             * no interim response). */
            if (!c->sent_continue && cc__parser_wants_continue(&c->parser) && n == c->parser.header_len) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (!cc__out_append(c, cont, sizeof cont - 1)) c->closing = true;
                c->sent_continue = true;
            }
            break;
        }
        if (r < 0) {
            /* Parse errors end the connection: framing can no longer be trusted. */
            cc__write_error(c, (int)-r, true, true, NULL, 0, false);
            c->closing = true;
            c->error_close = true;
            break;
        }
        cc__handle_request(c, &L->req);
        c->rstart += (size_t)r;
        cc_parser_reset(&c->parser);
        c->sent_continue = false;
        c->head_start_ms = 0;
    }
    if (c->rstart == c->rlen) {
        c->rstart = c->rlen = 0;
        cc__conn_shrink_rbuf(c);
    }
}

/* Close now, or -- when the peer may still be sending (we answered an error
 * mid-stream, e.g. 413 while the upload goes on, or left requests unread) --
 * shut our side and drain its input for a while: closing with unread data
 * makes the kernel send RST, which can destroy the response before the client
 * reads it. */
static void finish(cc_conn *c) {
    bool unread = c->error_close || c->rstart < c->rlen || (c->readable && !c->eof);
    if (!unread || c->eof) {
        cc__conn_close(c);
        return;
    }
    cc__tls_notify(c);
    shutdown(c->fd, SHUT_WR);
    c->lingering = true;
    c->linger_until_ms = c->loop->now_ms + CC_LINGER_MS;
    c->rstart = c->rlen = 0;
    c->readable = true;
    cc__conn_drive(c);
}

static void linger_drain(cc_conn *c) {
    for (;;) {
        ssize_t n = read(c->fd, c->rbuf, c->rcap);
        if (n > 0) {
            c->linger_bytes += (size_t)n;
            if (c->linger_bytes > 4u * CC_OUT_HIGH) break; /* not worth more */
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        break; /* EOF or error */
    }
    cc__conn_close(c);
}

static void ready_push(cc_conn *c) {
    if (c->in_ready) return;
    c->in_ready = true;
    c->ready_next = c->loop->ready;
    c->loop->ready = c;
}

void cc__conn_kick(cc_conn *c) {
    if (c->fd >= 0) ready_push(c);
}

void cc__conn_drive(cc_conn *c) {
    if (c->fd < 0) return;
    if (c->lingering) {
        linger_drain(c);
        return;
    }
    if (c->tls_handshaking) {
        int r = cc__tls_handshake(c);
        if (r == 0) return; /* the next edge goes on with it */
        if (r < 0 || (c->proto == CC_PROTO_H2 && !cc__h2_start(c))) {
            cc__conn_close(c);
            return;
        }
    }
    for (int round = 0; round < CC_DRIVE_ROUNDS; round++) {
        if (!c->closing) process_input(c);
        /* Not while an HTTP/1.1 exchange is deferred: nothing would parse
         * what we read, and the buffer must not grow meanwhile. */
        if (!c->closing && !c->held && !c->deferred && c->readable && !c->eof &&
            cc__conn_out_pending(c) < CC_OUT_HIGH) {
            int r = read_some(c);
            if (r == RD_DATA_FULL || r == RD_DATA_SHORT) {
                /* A short read means drained, unless the peer also shut its
                 * side: then the EOF is still to be read and no new edge will
                 * announce it. */
                if (r == RD_DATA_SHORT && !c->rdhup) c->readable = false;
                continue; /* parse it before writing: one write per batch */
            }
            if (r == RD_ERROR) {
                cc__conn_close(c);
                return;
            }
            if (r == RD_NOSPACE) {
                /* cannot happen within the limits; never loop on it */
                cc__write_error(c, 413, true, true, NULL, 0, false);
                c->closing = true;
                c->error_close = true;
            }
            if (r == RD_EOF) c->eof = true;
            c->readable = false;
        }
        if (c->h2 && !cc__h2_pump(c)) {
            cc__conn_close(c); /* the session failed (out of memory) */
            return;
        }
        if (cc__conn_out_pending(c) && !cc__conn_flush(c)) {
            cc__conn_close(c);
            return;
        }
        if (cc__conn_out_pending(c)) return; /* wait for EPOLLOUT */
        if (c->h2_more) continue;            /* frames left behind the high-water mark */
        if (c->closing) {
            finish(c);
            return;
        }
        if (c->deferred) return;                           /* the deferred answer resumes us (cc__conn_kick) */
        if (c->held || (c->readable && !c->eof)) continue; /* backpressure is gone: resume */
        if (c->eof) {
            /* The peer is done sending and every complete request is
             * answered; a partial one can never finish. */
            cc__conn_close(c);
        }
        return;
    }
    /* Round budget spent with work left: let the other connections in. */
    ready_push(c);
}

void cc__conn_event(cc_conn *c, uint32_t events) {
    if (c->fd < 0) return;
    if (c->deferred && (events & (EPOLLERR | EPOLLHUP))) {
        /* Reset (or both ways shut) while an HTTP/1.1 exchange waits: we are
         * not reading, so read() would never report it. Nothing can reach
         * the client any more. */
        cc__conn_close(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->readable = true; /* read() reports EOF/errors */
    if (events & (EPOLLRDHUP | EPOLLHUP)) c->rdhup = true;
    if ((events & EPOLLOUT) && c->tls_read_wants_write) {
        c->tls_read_wants_write = false;
        c->readable = true;
    }
    cc__conn_drive(c);
}
