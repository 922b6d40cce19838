/*
 * Server smoke test: a real cc_server on 127.0.0.1 (port 0, 2 workers) with
 * C handlers, exercised over real sockets. Ends with a short wrk run when
 * /usr/bin/wrk exists (informational).
 */
#define _GNU_SOURCE
#include "ccatcore.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "client.h"

/* ------------------------------------------------------------------ */
/* Handlers                                                             */
/* ------------------------------------------------------------------ */

enum { H_HELLO = 1, H_USER, H_ECHO, H_SILENT, H_TWICE, H_HEADERS, H_BIG, H_WORKER, H_BROADCAST };

static atomic_int thread_started[8];
static atomic_int task_ran[8];
static char big_body[256 * 1024];
static cc_server *main_server; /* for the handler that broadcasts */
static atomic_int broadcast_ran[8];

static void mark_broadcast(void *ctx, int worker) {
    (void)ctx;
    if (worker >= 0 && worker < 8) atomic_fetch_add(&broadcast_ran[worker], 1);
}

static void on_thread_start(void *ctx, int worker) {
    (void)ctx;
    if (worker >= 0 && worker < 8) atomic_fetch_add(&thread_started[worker], 1);
}

static void on_request(void *ctx, cc_exchange *ex) {
    (void)ctx;
    const cc_match *m = cc_exchange_match(ex);
    const cc_request *req = cc_exchange_request(ex);
    static const char text[] = "text/plain", json[] = "application/json";
    char buf[256];
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
        check(cc_exchange_add_header(ex, "X-Test", 6, "yes", 3) == 0, "add_header");
        check(cc_exchange_add_header(ex, "Bad Name", 8, "v", 1) == -1, "add_header rejects a bad name");
        check(cc_exchange_add_header(ex, "X-Split", 7, "a\r\nInjected: 1", 15) == -1, "add_header rejects CRLF");
        cc_respond(ex, 204, NULL, 0, NULL, 0);
        break;
    case H_BIG: cc_respond(ex, 200, "application/octet-stream", 24, big_body, sizeof big_body); break;
    case H_WORKER: {
        int n = snprintf(buf, sizeof buf, "%d", cc_exchange_worker(ex));
        cc_respond(ex, 200, text, sizeof text - 1, buf, (size_t)n);
        break;
    }
    case H_BROADCAST:
        /* run_on_workers from inside a handler must not deadlock on our own loop */
        cc_server_run_on_workers(main_server, mark_broadcast, NULL);
        cc_respond(ex, 200, text, sizeof text - 1, "done", 4);
        break;
    default: cc_respond(ex, 500, NULL, 0, NULL, 0);
    }
}

static void mark_task(void *ctx, int worker) {
    (void)ctx;
    if (worker >= 0 && worker < 8) atomic_fetch_add(&task_ran[worker], 1);
}

/* ------------------------------------------------------------------ */
/* A small blocking HTTP client                                         */
/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */
/* Tests                                                                */
/* ------------------------------------------------------------------ */

static cc_router *make_router(void) {
    cc_router *r = cc_router_create();
    char err[256];
    struct {
        cc_method m;
        const char *p;
        int id;
    } routes[] = {
        {CC_METHOD_GET, "/hello", H_HELLO},     {CC_METHOD_GET, "/users/{id:int}", H_USER},
        {CC_METHOD_POST, "/echo", H_ECHO},      {CC_METHOD_PUT, "/echo", H_ECHO},
        {CC_METHOD_GET, "/silent", H_SILENT},   {CC_METHOD_GET, "/twice", H_TWICE},
        {CC_METHOD_GET, "/headers", H_HEADERS}, {CC_METHOD_GET, "/big", H_BIG},
        {CC_METHOD_GET, "/worker", H_WORKER},   {CC_METHOD_GET, "/broadcast", H_BROADCAST},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (cc_router_add(r, routes[i].m, routes[i].p, routes[i].id, err, sizeof err) != 0) {
            fprintf(stderr, "router: %s\n", err);
            exit(1);
        }
    return r;
}

static cc_server *start(const cc_router *router, uint16_t port, int workers, cc_server_config *tweak, char *err,
                        size_t err_len) {
    cc_server_config cfg = {0};
    if (tweak) cfg = *tweak;
    cfg.host = cfg.host ? cfg.host : "127.0.0.1";
    cfg.port = port;
    cfg.workers = workers;
    cfg.on_request = on_request;
    cfg.on_thread_start = on_thread_start;
    cc_server *s = NULL;
    if (cc_server_start(&cfg, router, &s, err, err_len) != 0) return NULL;
    return s;
}

static void test_get(uint16_t port) {
    int rc;
    resp rs;
    rc = request_once(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1, "GET /hello answered");
    check(rs.status == 200, "GET /hello status %d", rs.status);
    check(strncmp(rs.head, "HTTP/1.1 200 OK\r\n", 17) == 0, "status line: %.20s", rs.head);
    check(has_header(&rs, "Server", "catbench-smoke"), "Server header");
    check(has_header(&rs, "Content-Type", "text/plain"), "Content-Type header");
    check(has_header(&rs, "Content-Length", "13"), "Content-Length header");
    check(!has_header(&rs, "Connection", NULL), "no Connection header on a keep-alive 1.1 response");
    check(rs.blen == 13 && memcmp(rs.body, "Hello, World!", 13) == 0, "body: %s", rs.body);
    char date[64];
    bool date_ok = header_value(&rs, "Date", date, sizeof date) != NULL && strlen(date) == 29;
    if (date_ok) {
        struct tm tm = {0};
        char *end = strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        date_ok = end && *end == 0;
        if (date_ok) {
            time_t t = timegm(&tm);
            date_ok = labs((long)(t - time(NULL))) <= 5;
        }
    }
    check(date_ok, "Date is an IMF-fixdate close to now: %s", date);
    resp_free(&rs);

    rc = request_once(port, "GET /users/42 HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 200 && strcmp(rs.body, "{\"id\":42}") == 0 &&
              has_header(&rs, "Content-Type", "application/json"),
          "typed parameter reaches the handler: %s", rs.body);
    resp_free(&rs);
}

static void test_keep_alive(uint16_t port) {
    reader r = rd_open(connect_to(port));
    bool ok = true;
    for (int i = 0; i < 5 && ok; i++) {
        char req[128];
        snprintf(req, sizeof req, "GET /users/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        send_str(r.fd, req);
        resp rs;
        char want[32];
        snprintf(want, sizeof want, "{\"id\":%d}", i);
        ok = read_response(&r, &rs, false) == 1 && rs.status == 200 && strcmp(rs.body, want) == 0;
        resp_free(&rs);
    }
    check(ok, "five requests on one keep-alive connection");
    rd_close(&r);

    /* HTTP/1.0 keep-alive gets an explicit Connection: keep-alive */
    r = rd_open(connect_to(port));
    send_str(r.fd, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    resp rs;
    check(read_response(&r, &rs, false) == 1 && has_header(&rs, "Connection", "keep-alive"),
          "HTTP/1.0 keep-alive response says so");
    resp_free(&rs);
    send_str(r.fd, "GET /missing HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    check(read_response(&r, &rs, false) == 1 && rs.status == 404 && has_header(&rs, "Connection", "keep-alive"),
          "HTTP/1.0 keep-alive 404 from the core says so too");
    resp_free(&rs);
    send_str(r.fd, "GET /hello HTTP/1.0\r\n\r\n");
    check(read_response(&r, &rs, false) == 1 && has_header(&rs, "Connection", "close"),
          "HTTP/1.0 without keep-alive gets Connection: close");
    resp_free(&rs);
    check(closed_by_server(&r, 2000), "HTTP/1.0 connection closed after the response");
    rd_close(&r);
}

static void test_pipelining(uint16_t port) {
    reader r = rd_open(connect_to(port));
    send_str(r.fd, "GET /users/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /users/2 HTTP/1.1\r\nHost: t\r\n\r\n"
                   "GET /users/3 HTTP/1.1\r\nHost: t\r\n\r\n");
    bool ok = true;
    for (int i = 1; i <= 3; i++) {
        resp rs;
        char want[32];
        snprintf(want, sizeof want, "{\"id\":%d}", i);
        int rc = read_response(&r, &rs, false);
        ok = ok && rc == 1 && rs.status == 200 && strcmp(rs.body, want) == 0;
        if (rc == 1) resp_free(&rs);
    }
    check(ok, "three pipelined requests answered in order");
    rd_close(&r);

    /* Pipeline enough big responses to pass the output high-water mark
     * while the client is not reading yet. */
    r = rd_open(connect_to(port));
    int n = 24; /* 24 x 256 KiB = 6 MiB of responses */
    for (int i = 0; i < n; i++) send_str(r.fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    send_str(r.fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(200 * 1000);
    ok = true;
    for (int i = 0; i < n && ok; i++) {
        resp rs;
        ok = read_response(&r, &rs, false) == 1 && rs.status == 200 && rs.blen == sizeof big_body &&
             memcmp(rs.body, big_body, sizeof big_body) == 0;
        resp_free(&rs);
    }
    resp rs;
    ok = ok && read_response(&r, &rs, false) == 1 && rs.status == 200 && strcmp(rs.body, "Hello, World!") == 0;
    resp_free(&rs);
    check(ok, "24 pipelined 256 KiB responses (backpressure) then a small one");
    rd_close(&r);
}

static void test_bodies(uint16_t port) {
    int rc;
    resp rs;
    rc = request_once(port,
                      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5\r\nHello\r\n8;ext=1\r\n, chunks\r\n0\r\nX-Trailer: t\r\n\r\n",
                      &rs, false);
    check(rc == 1 && rs.status == 200 && strcmp(rs.body, "Hello, chunks") == 0, "chunked POST echoed: %s",
          rs.body ? rs.body : "(none)");
    resp_free(&rs);

    /* A 300 KiB chunked upload in 1000-byte chunks, sent in pieces. */
    reader r = rd_open(connect_to(port));
    send_str(r.fd, "PUT /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    size_t total = 0;
    char chunk[1100];
    for (int i = 0; i < 300; i++) {
        int h = snprintf(chunk, sizeof chunk, "3e8\r\n");
        memset(chunk + h, 'a' + i % 26, 1000);
        memcpy(chunk + h + 1000, "\r\n", 2);
        send_all(r.fd, chunk, (size_t)h + 1002);
        total += 1000;
    }
    send_str(r.fd, "0\r\n\r\n");
    bool ok = read_response(&r, &rs, false) == 1 && rs.status == 200 && rs.blen == total;
    for (size_t i = 0; ok && i < total; i++) ok = rs.body[i] == (char)('a' + (i / 1000) % 26);
    check(ok, "300 KiB chunked upload echoed intact (%zu bytes)", rs.blen);
    resp_free(&rs);
    rd_close(&r);

    /* Expect: 100-continue: the interim response comes before the body is sent. */
    r = rd_open(connect_to(port));
    send_str(r.fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    check(read_response(&r, &rs, true) == 1 && rs.status == 100 &&
              strcmp(rs.head, "HTTP/1.1 100 Continue\r\n\r\n") == 0,
          "100 Continue before the body: %s", rs.head);
    resp_free(&rs);
    send_str(r.fd, "ping");
    check(read_response(&r, &rs, false) == 1 && rs.status == 200 && strcmp(rs.body, "ping") == 0,
          "body after 100 Continue echoed");
    resp_free(&rs);
    rd_close(&r);
}

static void test_errors(uint16_t port) {
    int rc;
    reader r = rd_open(connect_to(port));
    send_str(r.fd, "GET /hello HTTP/1.1\r\nHost : t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    resp rs;
    check(read_response(&r, &rs, false) == 1 && rs.status == 400 && has_header(&rs, "Connection", "close") &&
              has_header(&rs, "Content-Type", "application/json") && strstr(rs.body, "\"error\""),
          "malformed request -> 400 JSON with Connection: close");
    resp_free(&rs);
    check(closed_by_server(&r, 3000), "connection closed after the 400");
    rd_close(&r);

    rc = request_once(port, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 200, "another connection still served after a 400");
    resp_free(&rs);

    rc = request_once(port, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 404 && strcmp(rs.body, "{\"error\":\"not found\"}") == 0 &&
              has_header(&rs, "Content-Type", "application/json"),
          "404 with JSON body: %s", rs.body);
    resp_free(&rs);

    rc = request_once(port, "DELETE /echo HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 405 && strcmp(rs.body, "{\"error\":\"method not allowed\"}") == 0 &&
              has_header(&rs, "Allow", "POST, PUT"),
          "405 with Allow: POST, PUT");
    resp_free(&rs);
    rc = request_once(port, "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 405 && has_header(&rs, "Allow", "GET, HEAD"), "405 Allow lists HEAD with GET");
    resp_free(&rs);

    rc = request_once(port, "GET /silent HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 500, "handler without cc_respond -> 500");
    resp_free(&rs);

    r = rd_open(connect_to(port));
    send_str(r.fd, "GET /twice HTTP/1.1\r\nHost: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    bool ok = read_response(&r, &rs, false) == 1 && rs.status == 201 && strcmp(rs.body, "first") == 0;
    resp_free(&rs);
    ok = ok && read_response(&r, &rs, false) == 1 && rs.status == 200;
    resp_free(&rs);
    check(ok, "second cc_respond ignored");
    rd_close(&r);

    rc = request_once(port, "GET /headers HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 204 && has_header(&rs, "X-Test", "yes") && !has_header(&rs, "Content-Length", NULL) &&
              !has_header(&rs, "Injected", NULL),
          "extra headers, 204 without Content-Length");
    resp_free(&rs);

    /* HEAD: headers only, with the GET body's length; the next response
     * must start right after them. */
    r = rd_open(connect_to(port));
    send_str(r.fd, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\nGET /users/9 HTTP/1.1\r\nHost: t\r\n\r\n");
    ok = read_response(&r, &rs, true) == 1 && rs.status == 200 && has_header(&rs, "Content-Length", "13");
    resp_free(&rs);
    ok = ok && read_response(&r, &rs, false) == 1 && rs.status == 200 && strcmp(rs.body, "{\"id\":9}") == 0;
    resp_free(&rs);
    check(ok, "HEAD has Content-Length 13 and no body");
    rd_close(&r);

    char big[20000];
    int n = snprintf(big, sizeof big, "GET /hello HTTP/1.1\r\nHost: t\r\n");
    for (int i = 0; i < 200; i++) n += snprintf(big + n, sizeof big - (size_t)n, "X-Fill-%03d: %060d\r\n", i, i);
    snprintf(big + n, sizeof big - (size_t)n, "\r\n");
    rc = request_once(port, big, &rs, false);
    check(rc == 1 && rs.status == 431 && has_header(&rs, "Connection", "close"),
          "oversized header block -> 431 (got %d)", rs.status);
    resp_free(&rs);

    rc = request_once(port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 413, "Content-Length over the limit -> 413");
    resp_free(&rs);
    /* 413 from the head while the client keeps uploading: the answer must
     * survive (the server drains instead of resetting the connection). */
    {
        reader u = rd_open(connect_to(port));
        send_str(u.fd, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\n");
        static char junk[64 * 1024];
        memset(junk, 'j', sizeof junk);
        for (int i = 0; i < 16; i++) send_all(u.fd, junk, sizeof junk);
        int urc = read_response(&u, &rs, false);
        check(urc == 1 && rs.status == 413 && has_header(&rs, "Connection", "close"),
              "413 readable while the upload goes on (rc %d, status %d)", urc, rs.status);
        if (urc == 1) resp_free(&rs);
        rd_close(&u);
    }
    rc = request_once(port, "GET / HTTP/2.0\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 505, "HTTP/2.0 -> 505");
    resp_free(&rs);
    rc = request_once(port, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 501, "unknown transfer coding -> 501");
    resp_free(&rs);
}

static void test_workers(cc_server *s, int workers) {
    for (int i = 0; i < workers; i++)
        check(atomic_load(&thread_started[i]) == 1, "on_thread_start ran once on worker %d", i);
    cc_server_run_on_workers(s, mark_task, NULL);
    for (int i = 0; i < workers; i++)
        check(atomic_load(&task_ran[i]) == 1, "run_on_workers ran on worker %d (%d)", i, atomic_load(&task_ran[i]));
    cc_server_run_on_workers(s, mark_task, NULL);
    resp rs;
    int rc = request_once(cc_server_port(s), "GET /broadcast HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    check(rc == 1 && rs.status == 200, "handler calling run_on_workers returns");
    resp_free(&rs);
    for (int i = 0; i < workers; i++)
        check(atomic_load(&broadcast_ran[i]) == 1, "run_on_workers from a handler ran on worker %d", i);
    int total = 0;
    for (int i = 0; i < workers; i++) total += atomic_load(&task_ran[i]);
    check(total == 2 * workers, "run_on_workers twice");
}

static void test_counter(cc_server *s, uint16_t port) {
    uint64_t before = cc_server_requests(s);
    reader r = rd_open(connect_to(port));
    for (int i = 0; i < 10; i++) send_str(r.fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    for (int i = 0; i < 10; i++) {
        resp rs;
        read_response(&r, &rs, false);
        resp_free(&rs);
    }
    rd_close(&r);
    resp rs;
    request_once(port, "GET /missing HTTP/1.1\r\nHost: t\r\n\r\n", &rs, false);
    resp_free(&rs);
    uint64_t after = cc_server_requests(s);
    check(after - before == 11, "cc_server_requests counted 11 responses (got %llu)",
          (unsigned long long)(after - before));
}

static void test_start_errors(const cc_router *router, uint16_t port) {
    char err[256] = "";
    cc_server *s2 = start(router, port, 1, NULL, err, sizeof err);
    check(s2 == NULL && strstr(err, "in use by another process") && strstr(err, "--port 0"),
          "second server on the same port refused: %s", err);
    if (s2) cc_server_stop(s2);

    cc_server_config bad = {.host = "localhost"};
    s2 = start(router, 0, 1, &bad, err, sizeof err);
    check(s2 == NULL && strstr(err, "invalid host"), "non-numeric host refused: %s", err);
    if (s2) cc_server_stop(s2);
    bad.host = "203.0.113.7"; /* TEST-NET-3: not an address of this machine */
    s2 = start(router, 0, 1, &bad, err, sizeof err);
    check(s2 == NULL && strstr(err, "not on this machine"), "foreign address refused: %s", err);
    if (s2) cc_server_stop(s2);
}

static void test_timeouts_and_limits(const cc_router *router) {
    char err[256];
    cc_server_config cfg = {.header_timeout_ms = 400, .keepalive_timeout_ms = 600, .max_connections = 2};
    cc_server *s = start(router, 0, 1, &cfg, err, sizeof err);
    check(s != NULL, "timeout server started: %s", err);
    if (!s) return;
    uint16_t port = cc_server_port(s);

    /* slowloris: one byte at a time, never finishing the head */
    reader r = rd_open(connect_to(port));
    const char *slow = "GET /hello HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    double t0 = now_s();
    for (size_t i = 0; slow[i] && now_s() - t0 < 0.9; i++) {
        send_all(r.fd, slow + i, 1);
        usleep(50 * 1000);
    }
    resp rs;
    int rc = read_response(&r, &rs, false);
    double took = now_s() - t0;
    check(rc == 1 && rs.status == 408 && took < 2.5, "slow head -> 408 after %.2fs", took);
    if (rc == 1) resp_free(&rs);
    check(closed_by_server(&r, 2000), "closed after 408");
    rd_close(&r);

    /* idle keep-alive connection is closed */
    r = rd_open(connect_to(port));
    send_str(r.fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    check(read_response(&r, &rs, false) == 1, "request before idling");
    resp_free(&rs);
    t0 = now_s();
    bool closed = closed_by_server(&r, 3000);
    took = now_s() - t0;
    check(closed && took > 0.3 && took < 2.0, "idle keep-alive closed after %.2fs", took);
    rd_close(&r);

    /* max_connections = 2: the third is closed at once */
    reader a = rd_open(connect_to(port)), b = rd_open(connect_to(port));
    send_str(a.fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    send_str(b.fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    bool both = read_response(&a, &rs, false) == 1;
    resp_free(&rs);
    both = both && read_response(&b, &rs, false) == 1;
    resp_free(&rs);
    check(both, "two connections within max_connections served");
    reader c = rd_open(connect_to(port));
    send_str(c.fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    check(read_response(&c, &rs, false) == 0, "third connection over max_connections closed");
    rd_close(&c);
    rd_close(&a);
    rd_close(&b);
    cc_server_stop(s);
}

static void run_wrk(uint16_t port) {
    if (access("/usr/bin/wrk", X_OK) != 0) {
        printf("wrk: /usr/bin/wrk not found, skipped\n");
        return;
    }
    char cmd[256];
    snprintf(cmd, sizeof cmd, "/usr/bin/wrk -t1 -c64 -d2s http://127.0.0.1:%u/hello 2>&1", port);
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[512];
    bool errors = false;
    while (fgets(line, sizeof line, p)) {
        if (strstr(line, "Requests/sec") || strstr(line, "requests in")) printf("wrk: %s", line);
        if (strstr(line, "Non-2xx") || strstr(line, "Socket errors")) {
            errors = true;
            printf("wrk: %s", line);
        }
    }
    pclose(p);
    check(!errors, "wrk saw no errors");
}

int main(void) {
    for (size_t i = 0; i < sizeof big_body; i++) big_body[i] = (char)('A' + i % 23);
    cc_router *router = make_router();
    char err[256] = "";
    cc_server_config cfg = {.server_name = "catbench-smoke"};
    cc_server *s = start(router, 0, 2, &cfg, err, sizeof err);
    if (!s) {
        fprintf(stderr, "cc_server_start: %s\n", err);
        return 1;
    }
    main_server = s;
    uint16_t port = cc_server_port(s);
    check(port != 0, "port picked");
    printf("server-smoke: listening on 127.0.0.1:%u with 2 workers\n", port);

    test_get(port);
    test_keep_alive(port);
    test_pipelining(port);
    test_bodies(port);
    test_errors(port);
    test_workers(s, 2);
    test_counter(s, port);
    test_start_errors(router, port);
    run_wrk(port);

    /* stop with an idle client connected (and one mid-request) */
    reader idle = rd_open(connect_to(port));
    reader partial = rd_open(connect_to(port));
    send_str(partial.fd, "GET /hello HTTP/1.1\r\nHo");
    usleep(50 * 1000);
    double t0 = now_s();
    cc_server_stop(s);
    double took = now_s() - t0;
    check(took < 1.0, "cc_server_stop with open connections took %.3fs", took);
    check(closed_by_server(&idle, 1000), "idle client sees the close");
    rd_close(&idle);
    rd_close(&partial);

    test_timeouts_and_limits(router);
    cc_router_destroy(router);

    printf("server-smoke: %d checks\n", passed + failed);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
