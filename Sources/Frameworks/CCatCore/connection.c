/*
 * One client connection on a loop: buffers, the read/parse/respond/write
 * cycle, timeouts and closing.
 *
 * Each connection is registered once with EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET
 * and never modified. Edge-triggered readiness is remembered in `readable`:
 * we read until a short read or EAGAIN, parse every complete request in the
 * buffer (pipelining), append the responses to one output buffer and write it
 * once per batch. Only when that write is partial do we wait for EPOLLOUT.
 * If unsent output passes CC_OUT_HIGH we stop parsing (and reading) until it
 * drains, so a client that pipelines without reading cannot grow us without
 * bound.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Pool                                                                 */
/* ------------------------------------------------------------------ */

static void conn_destroy(cc_conn *c) {
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

static cc_conn *conn_get(cc_loop *L) {
    cc_conn *c = L->pool;
    if (c) {
        L->pool = c->next;
        L->npool--;
        return c;
    }
    c = calloc(1, sizeof *c);
    if (!c) return NULL;
    size_t rcap = CC_RBUF_INIT < L->server->rbuf_max ? CC_RBUF_INIT : L->server->rbuf_max;
    c->rbuf = malloc(rcap);
    c->wbuf = malloc(CC_WBUF_INIT);
    if (!c->rbuf || !c->wbuf) {
        conn_destroy(c);
        return NULL;
    }
    c->rcap = rcap;
    c->wcap = CC_WBUF_INIT;
    return c;
}

/* Large buffers go back to their initial size when idle, so memory follows
 * the live working set, not the biggest request ever seen. */
static void shrink_rbuf(cc_conn *c) {
    if (c->rcap > CC_BUF_SHRINK && c->rstart == c->rlen) {
        char *b = realloc(c->rbuf, CC_RBUF_INIT);
        if (b) {
            c->rbuf = b;
            c->rcap = CC_RBUF_INIT;
        }
        c->rstart = c->rlen = 0;
    }
}

static void shrink_wbuf(cc_conn *c) {
    if (c->wcap > CC_BUF_SHRINK && c->woff == c->wlen) {
        char *b = realloc(c->wbuf, CC_WBUF_INIT);
        if (b) {
            c->wbuf = b;
            c->wcap = CC_WBUF_INIT;
        }
        c->woff = c->wlen = 0;
    }
}

cc_conn *cc__conn_open(cc_loop *L, int fd) {
    cc_conn *c = conn_get(L);
    if (!c) return NULL;
    char *rbuf = c->rbuf, *wbuf = c->wbuf;
    size_t rcap = c->rcap, wcap = c->wcap;
    memset(c, 0, sizeof *c);
    c->tag = CC_TAG_CONN;
    c->fd = fd;
    c->loop = L;
    c->rbuf = rbuf;
    c->rcap = rcap;
    c->wbuf = wbuf;
    c->wcap = wcap;
    c->last_io_ms = L->now_ms;
    cc_parser_init(&c->parser, L->server->limits);

    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        c->next = L->pool;
        L->pool = c;
        L->npool++;
        return NULL;
    }
    c->next = L->live;
    if (L->live) L->live->prev = c;
    L->live = c;
    L->nlive++;
    return c;
}

void cc__conn_close(cc_conn *c) {
    if (c->fd < 0) return;
    cc_loop *L = c->loop;
    close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    if (c->prev) c->prev->next = c->next;
    else L->live = c->next;
    if (c->next) c->next->prev = c->prev;
    L->nlive--;
    /* Events later in this epoll batch may still name c: park it until the
     * batch is over instead of reusing it at once. */
    c->prev = NULL;
    c->next = L->dead;
    L->dead = c;
}

void cc__conn_reap(cc_loop *L) {
    cc_conn *keep = NULL, *c = L->dead;
    while (c) {
        cc_conn *next = c->next;
        if (c->in_ready) {
            /* still linked from the ready list: pool it next time */
            c->next = keep;
            keep = c;
        } else if (L->npool < CC_POOL_MAX) {
            shrink_rbuf(c);
            shrink_wbuf(c);
            c->next = L->pool;
            L->pool = c;
            L->npool++;
        } else {
            conn_destroy(c);
        }
        c = next;
    }
    L->dead = keep;
}

void cc__conn_free_all(cc_loop *L) {
    while (L->live) cc__conn_close(L->live);
    for (cc_conn *c = L->ready; c; c = c->ready_next) c->in_ready = false;
    L->ready = NULL;
    cc_conn *c = L->dead;
    while (c) {
        cc_conn *n = c->next;
        conn_destroy(c);
        c = n;
    }
    L->dead = NULL;
    c = L->pool;
    while (c) {
        cc_conn *n = c->next;
        conn_destroy(c);
        c = n;
    }
    L->pool = NULL;
    L->npool = 0;
}

/* ------------------------------------------------------------------ */
/* I/O                                                                  */
/* ------------------------------------------------------------------ */

static size_t out_pending(const cc_conn *c) { return c->wlen - c->woff; }

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

static int read_some(cc_conn *c) {
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

/* Returns false on a fatal error. */
static bool flush(cc_conn *c) {
    while (c->woff < c->wlen) {
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
    shrink_wbuf(c);
    return true;
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */
/* ------------------------------------------------------------------ */

static void process_input(cc_conn *c) {
    cc_loop *L = c->loop;
    c->held = false;
    while (c->rstart < c->rlen && !c->closing) {
        if (out_pending(c) >= CC_OUT_HIGH) {
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
        shrink_rbuf(c);
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

void cc__conn_drive(cc_conn *c) {
    if (c->fd < 0) return;
    if (c->lingering) {
        linger_drain(c);
        return;
    }
    for (int round = 0; round < CC_DRIVE_ROUNDS; round++) {
        if (!c->closing) process_input(c);
        if (!c->closing && !c->held && c->readable && !c->eof && out_pending(c) < CC_OUT_HIGH) {
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
        if (out_pending(c) && !flush(c)) {
            cc__conn_close(c);
            return;
        }
        if (out_pending(c)) return; /* wait for EPOLLOUT */
        if (c->closing) {
            finish(c);
            return;
        }
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
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) c->readable = true; /* read() reports EOF/errors */
    if (events & (EPOLLRDHUP | EPOLLHUP)) c->rdhup = true;
    cc__conn_drive(c);
}

/* ------------------------------------------------------------------ */
/* Timeouts                                                             */
/* ------------------------------------------------------------------ */

void cc__conn_sweep(cc_loop *L) {
    const cc_server *s = L->server;
    const uint64_t now = L->now_ms;
    cc_conn *next;
    for (cc_conn *c = L->live; c; c = next) {
        next = c->next; /* c may be closed below */
        if (c->lingering) {
            if (now >= c->linger_until_ms) cc__conn_close(c);
            continue;
        }
        if (out_pending(c)) {
            /* A client that stopped reading our output. */
            if (now - c->last_io_ms >= s->keepalive_timeout_ms) cc__conn_close(c);
            continue;
        }
        bool in_request = (c->parser.flags & CC_PF_STARTED) != 0;
        if (in_request) {
            /* header_timeout_ms bounds the head from its first byte (a
             * slowloris trickling one byte a second still times out); the
             * body may take longer but must keep moving. */
            bool late = cc__parser_in_head(&c->parser) ? now - c->head_start_ms >= s->header_timeout_ms
                                                       : now - c->last_io_ms >= s->header_timeout_ms;
            if (late && c->head_start_ms != 0) {
                cc__write_error(c, 408, true, true, NULL, 0, false);
                c->closing = true;
                c->error_close = true;
                cc__conn_drive(c);
            }
        } else if (now - c->last_io_ms >= s->keepalive_timeout_ms) {
            cc__conn_close(c); /* idle keep-alive connection */
        }
    }
}
