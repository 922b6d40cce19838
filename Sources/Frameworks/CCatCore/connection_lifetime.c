/*
 * Where a loop's connection structs come from and where they go: the pool
 * they are reused from (buffers included), opening one for an accepted
 * socket, closing it, pooling it once the epoll batch that closed it is over,
 * freeing them all when the server stops -- and the timeout sweep, which
 * decides when a connection that stopped moving ends. The read/parse/write
 * cycle in between is connection.c.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
void cc__conn_shrink_rbuf(cc_conn *c) {
    if (c->rcap > CC_BUF_SHRINK && c->rstart == c->rlen) {
        char *b = realloc(c->rbuf, CC_RBUF_INIT);
        if (b) {
            c->rbuf = b;
            c->rcap = CC_RBUF_INIT;
        }
        c->rstart = c->rlen = 0;
    }
}

void cc__conn_shrink_wbuf(cc_conn *c) {
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
    c->last_io_ms = c->open_ms = L->now_ms;
    cc_parser_init(&c->parser, L->server->limits);
    c->proto = L->server->h2c && !L->server->tls_ctx ? CC_PROTO_SNIFF : CC_PROTO_H1;
    if (L->server->tls_ctx && !cc__tls_attach(c)) {
        c->next = L->pool;
        L->pool = c;
        L->npool++;
        return NULL;
    }

    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        cc__tls_free(c);
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
    cc__tls_notify(c); /* a TLS peer can tell our close from a truncation */
    /* Deferred answers still to come are dropped when they do (HTTP/2
     * streams orphan theirs as they are released). */
    if (c->deferred) cc__defer_orphan(c->deferred);
    c->deferred = NULL;
    cc__conn_drop_file(c);
    cc__h2_free(c);
    cc__tls_free(c);
    close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    if (c->prev)
        c->prev->next = c->next;
    else
        L->live = c->next;
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
            cc__conn_shrink_rbuf(c);
            cc__conn_shrink_wbuf(c);
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
    /* Stopping: tell HTTP/2 clients with a GOAWAY (one non-blocking write,
     * no waiting), then close everything. */
    for (cc_conn *c = L->live; c; c = c->next) {
        if (!c->h2 || c->lingering) continue;
        cc__h2_goaway(c, NGHTTP2_NO_ERROR);
        if (cc__h2_pump(c)) (void)cc__conn_flush(c);
    }
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
    cc__h2_free_pool(L);
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
        if (c->tls_handshaking) {
            /* The handshake counts as part of the first request's head. */
            if (now - c->open_ms >= s->header_timeout_ms) cc__conn_close(c);
            continue;
        }
        if (c->h2) {
            /* HTTP/2: a stream still receiving its request must keep moving
             * (header_timeout_ms), an idle connection closes after
             * keepalive_timeout_ms, either way with a GOAWAY first. */
            uint64_t idle = now - c->last_io_ms;
            if (c->closing) {
                if (idle >= s->keepalive_timeout_ms) cc__conn_close(c);
            } else if ((idle >= s->keepalive_timeout_ms && c->ndeferred == 0) ||
                       (idle >= s->header_timeout_ms && cc__h2_waiting(c))) {
                /* Streams waiting for deferred answers are not idleness:
                 * defer_timeout_ms bounds them (cc__defer_sweep). */
                cc__h2_goaway(c, NGHTTP2_NO_ERROR);
                c->closing = true;
                cc__conn_drive(c);
            }
            continue;
        }
        if (cc__conn_out_pending(c)) {
            /* A client that stopped reading our output. */
            if (now - c->last_io_ms >= s->keepalive_timeout_ms) cc__conn_close(c);
            continue;
        }
        if (c->deferred) continue; /* waiting for us, not the client: defer_timeout_ms bounds it */
        bool in_request = (c->parser.flags & CC_PF_STARTED) != 0 || (c->proto == CC_PROTO_SNIFF && c->rlen > c->rstart);
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
