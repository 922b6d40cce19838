/*
 * Server lifecycle: listeners, loop threads, cross-thread tasks and stop.
 *
 * Every worker owns a loop thread with its own epoll set, its own
 * SO_REUSEPORT listener on the shared port (the kernel spreads new
 * connections across them, so loops never contend on an accept queue), an
 * eventfd to be woken from other threads (posted tasks, deferred answers
 * completed elsewhere: defer.c), and its connections. Nothing on
 * the request path is shared between loops except the read-only router and
 * config, nghttp2's callback table and the TLS context (SSL_CTX is safe to
 * share, and its locking session cache is off).
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_WORKERS 1024
#define EVENTS_PER_WAIT 256

static _Thread_local cc_loop *tls_loop; /* the loop running on this thread, if any */

/* ------------------------------------------------------------------ */
/* Cross-thread tasks                                                   */
/* ------------------------------------------------------------------ */

void cc__loop_wake(cc_loop *L) {
    uint64_t one = 1;
    ssize_t n;
    do { n = write(L->wfd, &one, sizeof one); } while (n < 0 && errno == EINTR);
    /* EAGAIN means the counter is already non-zero: the loop will wake. */
}

/* Runs the task posted to L, if any. Called on L's thread. */
static void run_posted_task(cc_loop *L) {
    cc_server *s = L->server;
    pthread_mutex_lock(&s->mu);
    cc_worker_fn fn = L->task_fn;
    void *ctx = L->task_ctx;
    L->task_fn = NULL; /* claimed: runs exactly once */
    pthread_mutex_unlock(&s->mu);
    if (!fn) return;
    fn(ctx, L->index);
    pthread_mutex_lock(&s->mu);
    s->tasks_left--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void cc_server_run_on_workers(cc_server *s, cc_worker_fn fn, void *ctx) {
    if (!s || !fn) return;
    /* From a handler we must keep serving our own loop's slot while we wait,
     * or two loops doing this at once would wait on each other forever. */
    cc_loop *self = tls_loop && tls_loop->server == s ? tls_loop : NULL;
    if (self) {
        while (pthread_mutex_trylock(&s->run_mu) != 0) {
            run_posted_task(self);
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    } else {
        pthread_mutex_lock(&s->run_mu);
    }
    pthread_mutex_lock(&s->mu);
    s->tasks_left = 0;
    for (int i = 0; i < s->nloops; i++) {
        cc_loop *L = &s->loops[i];
        if (L->exited) continue; /* stopping: it would never run it */
        L->task_fn = fn;
        L->task_ctx = ctx;
        s->tasks_left++;
    }
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nloops; i++) cc__loop_wake(&s->loops[i]);
    if (self) run_posted_task(self);

    pthread_mutex_lock(&s->mu);
    while (s->tasks_left > 0) {
        if (self) {
            pthread_mutex_unlock(&s->mu);
            run_posted_task(self);
            pthread_mutex_lock(&s->mu);
            if (s->tasks_left == 0) break;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&s->cv, &s->mu, &ts);
        } else {
            pthread_cond_wait(&s->cv, &s->mu);
        }
    }
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->run_mu);
}

/* ------------------------------------------------------------------ */
/* The loop                                                             */
/* ------------------------------------------------------------------ */

static void accept_all(cc_loop *L) {
    const cc_server *s = L->server;
    L->accept_paused = false;
    for (;;) {
        int fd = accept4(L->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* The connection stays queued; with an edge-triggered
                 * listener no new edge may come, so retry at the next sweep. */
                L->accept_paused = true;
            }
            return; /* EAGAIN, or nothing we can do now */
        }
        if (L->nlive >= s->max_connections) {
            close(fd); /* over the per-worker limit: refuse at once */
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!cc__conn_open(L, fd)) close(fd);
    }
}

static void drain_wake(cc_loop *L) {
    uint64_t v;
    /* Reset the counter before looking at the queues: a completion posted
     * after this read wakes us again, none is missed. */
    while (read(L->wfd, &v, sizeof v) < 0 && errno == EINTR) {}
    run_posted_task(L);
    cc__defer_drain(L);
}

static void *loop_main(void *arg) {
    cc_loop *L = arg;
    cc_server *s = L->server;
    tls_loop = L;
    cc__loop_clock(L);
    L->last_sweep_ms = L->now_ms;
    if (s->cfg.on_thread_start) s->cfg.on_thread_start(s->cfg.ctx, L->index);
    pthread_mutex_lock(&s->mu);
    s->started++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);

    struct epoll_event evs[EVENTS_PER_WAIT];
    while (!atomic_load_explicit(&s->stopping, memory_order_acquire)) {
        int n = epoll_wait(L->epfd, evs, EVENTS_PER_WAIT, L->ready ? 0 : (int)CC_SWEEP_MS);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("ccatcore: epoll_wait");
            break;
        }
        cc__loop_clock(L);
        for (int i = 0; i < n; i++) {
            int tag = *(const int *)evs[i].data.ptr;
            if (tag == CC_TAG_CONN)
                cc__conn_event(evs[i].data.ptr, evs[i].events);
            else if (tag == CC_TAG_LISTEN)
                accept_all(L);
            else
                drain_wake(L);
        }
        if (L->ready) {
            cc_conn *c = L->ready;
            L->ready = NULL;
            while (c) {
                cc_conn *next = c->ready_next;
                c->in_ready = false;
                cc__conn_drive(c);
                c = next;
            }
        }
        if (L->now_ms - L->last_sweep_ms >= CC_SWEEP_MS) {
            L->last_sweep_ms = L->now_ms;
            cc__defer_sweep(L);
            cc__conn_sweep(L);
            if (L->accept_paused) accept_all(L);
        }
        cc__conn_reap(L);
    }

    cc__conn_free_all(L);
    pthread_mutex_lock(&s->mu);
    s->exited++;
    L->exited = true;
    if (L->task_fn) { /* never run: do not leave a run_on_workers caller waiting */
        L->task_fn = NULL;
        s->tasks_left--;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Binding                                                              */
/* ------------------------------------------------------------------ */

typedef struct addr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;
} addr;

static int parse_host(const char *host, uint16_t port, addr *a) {
    memset(a, 0, sizeof *a);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a->len = sizeof *v4;
        a->family = AF_INET;
        return 0;
    }
    /* IPv6, also in the bracketed URL form "[::1]". */
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = 0;
        host = buf;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a->len = sizeof *v6;
        a->family = AF_INET6;
        return 0;
    }
    return -1;
}

static void set_port(addr *a, uint16_t port) {
    if (a->family == AF_INET)
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

static void bind_error(char *err, size_t err_len, int e, const char *host, unsigned port) {
    if (!err || !err_len) return;
    if (e == EADDRINUSE)
        snprintf(err, err_len, "port %u on %s is in use by another process; pass --port 0 for a free one", port, host);
    else if (e == EACCES || e == EPERM)
        snprintf(err, err_len,
                 "permission denied binding port %u on %s (ports below 1024 need root or CAP_NET_BIND_SERVICE); "
                 "pass --port 0 for a free one",
                 port, host);
    else if (e == EADDRNOTAVAIL)
        snprintf(err, err_len, "cannot bind %s: the address is not on this machine", host);
    else
        snprintf(err, err_len, "cannot bind port %u on %s: %s", port, host, strerror(e));
}

/* Our listeners share the port through SO_REUSEPORT, which would just as
 * happily share it with another process of the same user. A probe socket
 * without SO_REUSEPORT fails with EADDRINUSE if anyone holds the port, even
 * with SO_REUSEPORT. SO_REUSEADDR keeps TIME_WAIT leftovers from counting. */
static int probe_port(const addr *a, const char *host, unsigned port, char *err, size_t err_len) {
    int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (err && err_len) snprintf(err, err_len, "cannot create a socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = bind(fd, (const struct sockaddr *)&a->ss, a->len);
    int e = errno;
    close(fd);
    if (rc != 0) {
        bind_error(err, err_len, e, host, port);
        return -1;
    }
    return 0;
}

static int open_listener(const addr *a, const char *host, unsigned port, char *err, size_t err_len) {
    int fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (err && err_len) snprintf(err, err_len, "cannot create a socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        if (err && err_len) snprintf(err, err_len, "SO_REUSEPORT is not available: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
        bind_error(err, err_len, errno, host, port);
        close(fd);
        return -1;
    }
    if (listen(fd, 4096) != 0) {
        if (err && err_len) snprintf(err, err_len, "cannot listen on port %u on %s: %s", port, host, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ------------------------------------------------------------------ */
/* Start and stop                                                       */
/* ------------------------------------------------------------------ */

static void free_server(cc_server *s) {
    for (int i = 0; i < s->nloops; i++) {
        cc_loop *L = &s->loops[i];
        /* The threads are gone; a cc_deferred_respond may still be queueing
         * (and waking through wfd): teardown waits for it before we close. */
        cc__defer_teardown(L);
        pthread_mutex_destroy(&L->dmu);
        if (L->lfd >= 0) close(L->lfd);
        if (L->wfd >= 0) close(L->wfd);
        if (L->epfd >= 0) close(L->epfd);
    }
    free(s->loops);
    cc__h2_teardown(s);
    cc__tls_teardown(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->run_mu);
    free(s);
}

static void join_all(cc_server *s) {
    atomic_store_explicit(&s->stopping, true, memory_order_release);
    for (int i = 0; i < s->nloops; i++)
        if (s->loops[i].thread_started) cc__loop_wake(&s->loops[i]);
    for (int i = 0; i < s->nloops; i++)
        if (s->loops[i].thread_started) pthread_join(s->loops[i].thread, NULL);
}

#define FAIL(...)                                                                                                      \
    do {                                                                                                               \
        if (err && err_len) snprintf(err, err_len, __VA_ARGS__);                                                       \
        goto fail;                                                                                                     \
    } while (0)

int cc_server_start(const cc_server_config *config, const cc_router *router, cc_server **out, char *err,
                    size_t err_len) {
    if (out) *out = NULL;
    if (err && err_len) err[0] = 0;
    if (!config || !router || !out || !config->on_request) {
        if (err && err_len) snprintf(err, err_len, "cc_server_start needs a config with on_request, a router and out");
        return -1;
    }
    if (config->workers < 1 || config->workers > MAX_WORKERS) {
        if (err && err_len)
            snprintf(err, err_len, "workers must be between 1 and %d (got %d)", MAX_WORKERS, config->workers);
        return -1;
    }
    const char *host = config->host ? config->host : "127.0.0.1";
    addr a;
    if (parse_host(host, config->port, &a) != 0) {
        if (err && err_len)
            snprintf(err, err_len,
                     "invalid host \"%s\": expected a numeric IPv4 or IPv6 address such as 127.0.0.1 or ::1", host);
        return -1;
    }
    const char *name = config->server_name ? config->server_name : "ccore";
    size_t name_len = strlen(name);
    for (size_t i = 0; i < name_len; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) name_len = 0;
    if (name_len == 0 || name_len > 128) {
        if (err && err_len) snprintf(err, err_len, "invalid server name: 1 to 128 printable characters");
        return -1;
    }

    cc_server *s = calloc(1, sizeof *s);
    if (!s) {
        if (err && err_len) snprintf(err, err_len, "out of memory");
        return -1;
    }
    s->cfg = *config;
    s->cfg.host = NULL; /* not kept: the caller's strings may not outlive start */
    s->cfg.server_name = NULL;
    s->cfg.tls_cert_pem = s->cfg.tls_key_pem = s->cfg.tls_cert_file = s->cfg.tls_key_file = NULL;
    s->h2c = config->h2c != 0;
    s->router = router;
    s->limits = cc__normalize_limits(config->limits);
    /* Head + body, plus room for a chunked upload's trailer and framing (see
     * cc__parser_compact) and leading empty lines. */
    s->rbuf_max = (size_t)s->limits.max_header_bytes * 2 + s->limits.max_body_bytes + CC_MAX_CHUNK_EXT + 4096;
    s->max_connections = config->max_connections ? config->max_connections : 10000;
    s->header_timeout_ms = config->header_timeout_ms ? config->header_timeout_ms : 10000;
    s->keepalive_timeout_ms = config->keepalive_timeout_ms ? config->keepalive_timeout_ms : 60000;
    s->defer_timeout_ms = config->defer_timeout_ms ? config->defer_timeout_ms : CC_DEFER_TIMEOUT_MS;
    s->server_hdr_len = (size_t)snprintf(s->server_hdr, sizeof s->server_hdr, "Server: %.*s\r\n", (int)name_len, name);
    atomic_init(&s->stopping, false);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->run_mu, NULL);
    s->loops = calloc((size_t)config->workers, sizeof *s->loops);
    if (!s->loops) {
        free_server(s);
        if (err && err_len) snprintf(err, err_len, "out of memory");
        return -1;
    }
    s->nloops = config->workers;
    for (int i = 0; i < s->nloops; i++) {
        cc_loop *L = &s->loops[i];
        L->tag_listen = CC_TAG_LISTEN;
        L->tag_wake = CC_TAG_WAKE;
        L->server = s;
        L->index = i;
        L->epfd = L->lfd = L->wfd = -1;
        atomic_init(&L->responses, 0);
        pthread_mutex_init(&L->dmu, NULL);
    }
    if (!cc__h2_setup(s, err, err_len) || !cc__tls_setup(s, config, err, err_len)) {
        free_server(s);
        return -1;
    }

    unsigned port = config->port;
    if (port != 0 && probe_port(&a, host, port, err, err_len) != 0) goto fail;
    for (int i = 0; i < s->nloops; i++) {
        cc_loop *L = &s->loops[i];
        L->lfd = open_listener(&a, host, port, err, err_len);
        if (L->lfd < 0) goto fail;
        if (i == 0 && port == 0) {
            /* The first listener picked a free port; the others join it. */
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (getsockname(L->lfd, (struct sockaddr *)&ss, &sl) != 0) FAIL("getsockname: %s", strerror(errno));
            port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                 : ((struct sockaddr_in6 *)&ss)->sin6_port);
            set_port(&a, (uint16_t)port);
        }
        L->epfd = epoll_create1(EPOLL_CLOEXEC);
        L->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (L->epfd < 0 || L->wfd < 0) FAIL("cannot create epoll/eventfd: %s", strerror(errno));
        struct epoll_event lev = {.events = EPOLLIN | EPOLLET, .data.ptr = &L->tag_listen};
        struct epoll_event wev = {.events = EPOLLIN, .data.ptr = &L->tag_wake};
        if (epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->lfd, &lev) != 0 ||
            epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->wfd, &wev) != 0)
            FAIL("epoll_ctl: %s", strerror(errno));
    }
    s->port = (uint16_t)port;

    for (int i = 0; i < s->nloops; i++) {
        int rc = pthread_create(&s->loops[i].thread, NULL, loop_main, &s->loops[i]);
        if (rc != 0) FAIL("cannot start worker thread %d: %s", i, strerror(rc));
        s->loops[i].thread_started = true;
    }
    /* Return only once every loop has run on_thread_start and serves. */
    pthread_mutex_lock(&s->mu);
    while (s->started < s->nloops) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    *out = s;
    return 0;

fail:
    join_all(s);
    free_server(s);
    return -1;
}

uint16_t cc_server_port(const cc_server *s) { return s ? s->port : 0; }

uint64_t cc_server_requests(const cc_server *s) {
    if (!s) return 0;
    uint64_t total = 0;
    for (int i = 0; i < s->nloops; i++) total += atomic_load_explicit(&s->loops[i].responses, memory_order_relaxed);
    return total;
}

void cc_server_stop(cc_server *s) {
    if (!s) return;
    if (tls_loop && tls_loop->server == s) {
        /* A loop cannot join itself; refuse rather than deadlock. */
        fprintf(stderr, "ccatcore: cc_server_stop called from a handler; ignored\n");
        return;
    }
    join_all(s);
    free_server(s);
}
