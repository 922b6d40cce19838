/*
 * Deferred responses: the bridge from a handler, which runs synchronously on
 * its loop, to work that finishes later on some other thread.
 *
 * cc_exchange_defer (on the loop) takes a record from the loop's pool, ties
 * it to the exchange's connection (HTTP/1.1: the connection stops parsing)
 * or stream (HTTP/2), and links it at the tail of the loop's `dlive` list,
 * which is therefore ordered by deadline. The handle goes to whoever does
 * the work.
 *
 * cc_deferred_respond (any thread) copies the answer into the record's own
 * buffer -- no lock held for that -- then appends the record to the loop's
 * completion queue under loop->dmu, writing the loop's eventfd only when the
 * queue was empty: a burst of completions costs one wake-up, and the loop
 * takes the whole queue at once (read the eventfd, then swap the queue out).
 * The loop writes each answer to its exchange, kicks the connection (so one
 * flush covers the batch, and an HTTP/1.1 connection resumes parsing its
 * pipeline), and puts the record back in its pool. The mutex also publishes
 * the holder's writes to the loop.
 *
 * Whatever the exchange's fate, the record stays valid until its
 * cc_deferred_respond: the loop never frees a record it handed out before
 * that record comes back through the queue. When a connection closes or a
 * stream is reset, its records are orphaned (moved to `dorphans`, their
 * connection/stream pointers cleared -- the loop is the only one to read
 * those, so no generation check is needed); when a deadline passes, the
 * loop answers 504 and orphans the record. An orphan's answer is dropped on
 * arrival.
 *
 * cc_server_stop does not wait for the holders. After joining the loops
 * (their connections are closed, so every record out is an orphan) it
 * moves each HELD record to DETACHED with a compare-and-swap; a holder that
 * won the race (POSTING) is a few instructions from the queue, and stop
 * waits for that, then frees what is queued and pooled. A DETACHED record
 * belongs to its holder alone: its cc_deferred_respond just frees it, even
 * after cc_server_stop returned, without touching the (freed) loop.
 *
 * Steady state allocates nothing: records and their buffers come from the
 * loop's pool; a buffer grows (realloc) only for a bigger answer than it
 * has held, and large ones shrink back when pooled.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Records                                                              */
/* ------------------------------------------------------------------ */

static void record_destroy(cc_deferred *d) {
    free(d->buf);
    free(d);
}

/* A record whose buffer is never NULL (pointer arithmetic on it stays
 * defined even for an empty answer). */
static cc_deferred *record_get(cc_loop *L) {
    cc_deferred *d = L->dpool;
    if (d) {
        L->dpool = d->next;
        L->ndpool--;
        return d;
    }
    d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->buf = malloc(CC_DEFER_BUF_INIT);
    if (!d->buf) {
        free(d);
        return NULL;
    }
    d->cap = CC_DEFER_BUF_INIT;
    atomic_init(&d->state, CC_DS_FREE);
    return d;
}

static void record_put(cc_loop *L, cc_deferred *d) {
    atomic_store_explicit(&d->state, CC_DS_FREE, memory_order_relaxed);
    if (L->ndpool >= CC_DEFER_POOL_MAX) {
        record_destroy(d);
        return;
    }
    /* Memory follows the working set, as with connection buffers. */
    if (d->cap > CC_BUF_SHRINK) {
        char *b = realloc(d->buf, CC_DEFER_BUF_INIT);
        if (b) {
            d->buf = b;
            d->cap = CC_DEFER_BUF_INIT;
        }
    }
    d->next = L->dpool;
    L->dpool = d;
    L->ndpool++;
}

/* Room for need bytes in d->buf (contents kept); false when out of memory. */
static bool reserve(cc_deferred *d, size_t need) {
    if (need <= d->cap) return true;
    size_t cap = d->cap ? d->cap : CC_DEFER_BUF_INIT;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return false;
        cap *= 2;
    }
    char *b = realloc(d->buf, cap);
    if (!b) return false;
    d->buf = b;
    d->cap = cap;
    return true;
}

/* ------------------------------------------------------------------ */
/* The loop's lists                                                     */
/* ------------------------------------------------------------------ */

static void list_unlink(cc_loop *L, cc_deferred *d) {
    if (d->prev)
        d->prev->next = d->next;
    else if (d->on_live)
        L->dlive = d->next;
    else
        L->dorphans = d->next;
    if (d->next)
        d->next->prev = d->prev;
    else if (d->on_live)
        L->dlive_tail = d->prev;
    d->prev = d->next = NULL;
}

static void orphans_push(cc_loop *L, cc_deferred *d) {
    d->on_live = false;
    d->prev = NULL;
    d->next = L->dorphans;
    if (L->dorphans) L->dorphans->prev = d;
    L->dorphans = d;
}

void cc__defer_orphan(cc_deferred *d) {
    cc_loop *L = d->loop;
    if (d->conn) d->conn->ndeferred--;
    d->conn = NULL;
    d->stream = NULL;
    if (d->on_live) {
        list_unlink(L, d);
        orphans_push(L, d);
    }
}

/* ------------------------------------------------------------------ */
/* Writing a deferred answer (loop thread)                              */
/* ------------------------------------------------------------------ */

/* Writes d's answer -- or the core's 504 when timed_out -- to its exchange,
 * unties the two and kicks the connection. d->conn must be set. */
static void deliver(cc_loop *L, cc_deferred *d, bool timed_out) {
    cc_conn *c = d->conn;
    cc_h2_stream *st = d->stream;
    d->conn = NULL;
    d->stream = NULL;
    c->ndeferred--;
    if (!st) {
        c->deferred = NULL;
        /* Cannot happen (nothing closes an HTTP/1.1 connection that waits
         * for us without closing it); never write after a closing answer. */
        if (c->closing || c->lingering) return;
    }
    bool stopping = atomic_load_explicit(&L->server->stopping, memory_order_relaxed);
    /* The keep-alive decision made at parse time applies now, on the answer
     * that actually goes out (as on an immediate one). */
    bool close = !st && (d->close || stopping);
    cc_exchange ex = {
        .conn = c,
        .stream = st,
        .responded = true,
        .close = close,
        .send_body = d->send_body,
        .ka10 = d->ka10 && !close,
    };
    bool ok;
    if (timed_out) {
        ok = cc__answer_error(&ex, 504, NULL, 0);
    } else if (d->invalid) {
        ok = cc__answer_error(&ex, 500, NULL, 0);
    } else {
        const char *ctype = d->has_ctype ? d->buf + d->hdr_len : NULL;
        ok = cc__emit(&ex, d->status, ctype, d->ctype_len, d->buf, d->hdr_len, d->buf + d->hdr_len + d->ctype_len,
                      d->body_len);
    }
    if (st)
        cc__h2_deferred_done(c, st, ok);
    else if (!ok || close)
        c->closing = true;
    /* Flushed (with whatever else this batch adds) when the loop drives the
     * ready list; an HTTP/1.1 connection then parses what waited. */
    cc__conn_kick(c);
}

void cc__defer_drain(cc_loop *L) {
    pthread_mutex_lock(&L->dmu);
    cc_deferred *d = L->dq_head;
    L->dq_head = L->dq_tail = NULL;
    pthread_mutex_unlock(&L->dmu);
    while (d) {
        cc_deferred *next = d->qnext;
        list_unlink(L, d);
        if (d->conn) deliver(L, d, false); /* else orphaned: dropped */
        record_put(L, d);
        d = next;
    }
}

void cc__defer_sweep(cc_loop *L) {
    /* dlive is in deadline order: stop at the first one still in time. */
    cc_deferred *d;
    while ((d = L->dlive) && L->now_ms >= d->deadline_ms) {
        list_unlink(L, d);
        deliver(L, d, true);
        /* The holder still has it: its late answer finds an orphan. */
        orphans_push(L, d);
    }
}

void cc__defer_teardown(cc_loop *L) {
    cc_deferred *lists[2] = {L->dlive, L->dorphans};
    for (int i = 0; i < 2; i++) {
        cc_deferred *next;
        for (cc_deferred *d = lists[i]; d; d = next) {
            next = d->next; /* before the swap: a DETACHED record may be freed at once */
            int expect = CC_DS_HELD;
            if (atomic_compare_exchange_strong_explicit(&d->state, &expect, CC_DS_DETACHED, memory_order_acq_rel,
                                                        memory_order_acquire))
                continue; /* the holder's now */
            /* POSTING: its cc_deferred_respond is about to queue it (and
             * write our eventfd); let it finish before the queue and the
             * eventfd go away. POSTED: queued already. */
            while (atomic_load_explicit(&d->state, memory_order_acquire) == CC_DS_POSTING) sched_yield();
        }
    }
    L->dlive = L->dlive_tail = L->dorphans = NULL;
    pthread_mutex_lock(&L->dmu);
    cc_deferred *d = L->dq_head;
    L->dq_head = L->dq_tail = NULL;
    pthread_mutex_unlock(&L->dmu);
    while (d) {
        cc_deferred *next = d->qnext;
        record_destroy(d);
        d = next;
    }
    while (L->dpool) {
        cc_deferred *next = L->dpool->next;
        record_destroy(L->dpool);
        L->dpool = next;
    }
    L->ndpool = 0;
}

/* ------------------------------------------------------------------ */
/* Public API                                                           */
/* ------------------------------------------------------------------ */

cc_deferred *cc_exchange_defer(cc_exchange *ex) {
    if (!ex || ex->responded || ex->deferred) return NULL;
    cc_conn *c = ex->conn;
    cc_loop *L = c->loop;
    cc_deferred *d = record_get(L);
    if (!d) return NULL;
    /* Headers the handler added before deferring live in the loop's scratch,
     * which the next request reuses: the record keeps a copy. */
    if (!reserve(d, ex->extra_len)) {
        record_put(L, d);
        return NULL;
    }
    memcpy(d->buf, L->extra_headers, ex->extra_len);
    d->hdr_len = ex->extra_len;
    d->ctype_len = d->body_len = 0;
    d->status = 0;
    d->has_ctype = d->invalid = false;
    d->loop = L;
    d->worker = L->index;
    d->conn = c;
    d->stream = ex->stream;
    d->close = ex->close;
    d->send_body = ex->send_body;
    d->ka10 = ex->ka10;
    d->deadline_ms = L->now_ms + L->server->defer_timeout_ms;
    d->qnext = NULL;
    d->on_live = true;
    d->next = NULL;
    d->prev = L->dlive_tail;
    if (L->dlive_tail)
        L->dlive_tail->next = d;
    else
        L->dlive = d;
    L->dlive_tail = d;
    if (ex->stream)
        cc__h2_stream_defer(ex->stream, d);
    else
        c->deferred = d; /* process_input stops at it */
    c->ndeferred++;
    ex->deferred = d;
    ex->responded = true; /* no 500 for returning without an answer; cc_respond is ignored */
    atomic_store_explicit(&d->state, CC_DS_HELD, memory_order_release);
    return d;
}

int cc_deferred_worker(const cc_deferred *d) { return d ? d->worker : -1; }

int cc_deferred_add_header(cc_deferred *d, const char *name, size_t name_len, const char *value, size_t value_len) {
    if (!d || name_len > CC_EXTRA_HEADERS_MAX || value_len > CC_EXTRA_HEADERS_MAX) return -1;
    if (!cc__is_token(name, name_len) || !cc__is_field_value(value, value_len)) return -1;
    size_t need = name_len + 2 + value_len + 2;
    /* The same budget as an exchange's added headers (an HTTP/2 HEADERS
     * frame is sized for it). */
    if (need > CC_EXTRA_HEADERS_MAX - d->hdr_len) return -1;
    if (!reserve(d, d->hdr_len + need)) return -1;
    char *p = d->buf + d->hdr_len;
    memcpy(p, name, name_len);
    p += name_len;
    memcpy(p, ": ", 2);
    p += 2;
    memcpy(p, value, value_len);
    p += value_len;
    memcpy(p, "\r\n", 2);
    d->hdr_len += need;
    return 0;
}

/* Hands d to its loop. After the swap to POSTING the loop (or stop) will
 * not let go of the queue before we set POSTED, under the queue's lock --
 * the last time we touch d or the loop. */
static void post(cc_deferred *d) {
    int expect = CC_DS_HELD;
    if (!atomic_compare_exchange_strong_explicit(&d->state, &expect, CC_DS_POSTING, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        if (expect == CC_DS_DETACHED) {
            record_destroy(d); /* the server stopped: nobody else knows it */
        } else {
            /* A second call for the same handle: the record is the loop's
             * (or already someone else's). Touch nothing. */
            fprintf(stderr, "ccatcore: cc_deferred_respond called twice for one handle; ignored\n");
        }
        return;
    }
    cc_loop *L = d->loop;
    pthread_mutex_lock(&L->dmu);
    d->qnext = NULL;
    bool was_empty = L->dq_head == NULL;
    if (L->dq_tail)
        L->dq_tail->qnext = d;
    else
        L->dq_head = d;
    L->dq_tail = d;
    /* One wake-up per batch: a non-empty queue has one pending already.
     * Under the lock, so stop cannot close the eventfd under us. */
    if (was_empty) cc__loop_wake(L);
    atomic_store_explicit(&d->state, CC_DS_POSTED, memory_order_release);
    pthread_mutex_unlock(&L->dmu);
}

void cc_deferred_respond(cc_deferred *d, int status, const char *content_type, size_t content_type_len,
                         const void *body, size_t body_len) {
    if (!d) return;
    /* Nothing to copy for a server that is gone; and an obviously stale
     * handle (already posted or recycled) must not have its buffer
     * scribbled on: post() reports it without touching anything. */
    if (atomic_load_explicit(&d->state, memory_order_acquire) != CC_DS_HELD) {
        post(d);
        return;
    }
    /* As cc_respond: a final status only, nothing in the content type that
     * could split the header block. */
    bool invalid = status < 200 || status > 999 ||
                   (content_type && !cc__is_field_value(content_type, content_type_len)) || (!body && body_len);
    size_t ctype_len = content_type && !invalid ? content_type_len : 0;
    if (!invalid) {
        size_t at = d->hdr_len;
        if (ctype_len > SIZE_MAX - at || body_len > SIZE_MAX - at - ctype_len ||
            !reserve(d, at + ctype_len + body_len)) {
            invalid = true; /* out of memory: the core's 500 needs none */
            ctype_len = 0;
        } else {
            if (ctype_len) memcpy(d->buf + at, content_type, ctype_len);
            if (body_len) memcpy(d->buf + at + ctype_len, body, body_len);
        }
    }
    d->status = status;
    d->invalid = invalid;
    d->has_ctype = content_type && !invalid;
    d->ctype_len = ctype_len;
    d->body_len = invalid ? 0 : body_len;
    post(d);
}
