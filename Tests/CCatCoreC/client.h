/* A blocking HTTP/1.1 client for the C core's test programs: connect to
 * 127.0.0.1, send raw bytes, read one response (by Content-Length). */
#ifndef CCATCORE_TEST_CLIENT_H
#define CCATCORE_TEST_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline int connect_to(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static inline void send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR) continue;
            return; /* the server may have closed; the reads will tell */
        }
        c += w;
        n -= (size_t)w;
    }
}

static inline void send_str(int fd, const char *s) { send_all(fd, s, strlen(s)); }

typedef struct reader {
    int fd;
    char *buf;
    size_t len, cap;
} reader;

typedef struct resp {
    int status;
    char head[8192];
    char *body;
    size_t blen;
} resp;

static inline reader rd_open(int fd) { return (reader){fd, malloc(1 << 16), 0, 1 << 16}; }
static inline void rd_close(reader *r) {
    close(r->fd);
    free(r->buf);
}

/* 1 data, 0 EOF/reset, -1 timeout */
static inline int rd_fill(reader *r, int timeout_ms) {
    struct pollfd p = {r->fd, POLLIN, 0};
    int pr = poll(&p, 1, timeout_ms);
    if (pr == 0) return -1;
    if (r->len == r->cap) {
        r->cap *= 2;
        r->buf = realloc(r->buf, r->cap);
    }
    ssize_t n = recv(r->fd, r->buf + r->len, r->cap - r->len, 0);
    if (n <= 0) return 0;
    r->len += (size_t)n;
    return 1;
}

static inline const char *header_value(const resp *rs, const char *name, char *out, size_t outlen) {
    size_t nl = strlen(name);
    for (const char *p = strstr(rs->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ') v++;
            const char *e = strstr(v, "\r\n");
            size_t n = (size_t)(e - v);
            if (n >= outlen) n = outlen - 1;
            memcpy(out, v, n);
            out[n] = 0;
            return out;
        }
    }
    return NULL;
}

/* Reads one response. 1 ok, 0 EOF before one, -1 timeout. */
static inline int read_response(reader *r, resp *out, bool head_request) {
    memset(out, 0, sizeof *out);
    char *end;
    for (;;) {
        end = r->len ? memmem(r->buf, r->len, "\r\n\r\n", 4) : NULL;
        if (end) break;
        int f = rd_fill(r, 5000);
        if (f <= 0) return f;
    }
    size_t hl = (size_t)(end - r->buf) + 4;
    if (hl >= sizeof out->head) hl = sizeof out->head - 1;
    memcpy(out->head, r->buf, hl);
    out->head[hl] = 0;
    out->status = atoi(out->head + 9);
    char v[64];
    size_t cl = 0;
    if (!head_request && out->status >= 200 && out->status != 204 && out->status != 304 &&
        header_value(out, "Content-Length", v, sizeof v))
        cl = strtoul(v, NULL, 10);
    while (r->len < hl + cl) {
        int f = rd_fill(r, 5000);
        if (f <= 0) return f;
    }
    out->body = malloc(cl + 1);
    memcpy(out->body, r->buf + hl, cl);
    out->body[cl] = 0;
    out->blen = cl;
    memmove(r->buf, r->buf + hl + cl, r->len - hl - cl);
    r->len -= hl + cl;
    return 1;
}

static inline void resp_free(resp *rs) {
    free(rs->body);
    rs->body = NULL;
}

/* True when the server closed the connection (within timeout). */
static inline bool closed_by_server(reader *r, int timeout_ms) {
    double until = now_s() + timeout_ms / 1000.0;
    while (now_s() < until) {
        size_t before = r->len;
        int f = rd_fill(r, 100);
        if (f == 0) return true;
        if (f == 1 && r->len > before) continue; /* unexpected data; keep waiting for EOF */
    }
    return false;
}

/* One request on a fresh connection. */
static inline int request_once(uint16_t port, const char *raw, resp *out, bool head) {
    reader r = rd_open(connect_to(port));
    send_str(r.fd, raw);
    int rc = read_response(&r, out, head);
    rd_close(&r);
    return rc;
}

static inline bool has_header(const resp *rs, const char *name, const char *value) {
    char v[512];
    return header_value(rs, name, v, sizeof v) && (!value || strcmp(v, value) == 0);
}

#endif
