/*
 * Static files served by the core itself (Catzilla's C-native static
 * server): the path checked and opened beneath the mount without following
 * a symbolic link, the HTTP rules of RFC 9110 (validators §8.8, conditional
 * requests §13, ranges §14) decided in C, and the body sent from the file
 * with sendfile(2) after the head (connection.c), or read into the answer
 * when small, over HTTP/2 and over TLS.
 *
 * Disk reads are not asynchronous: like nginx without aio, the loop relies
 * on the page cache (a benchmark's files are read once and stay cached).
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct cc_static_mount {
    int dirfd;
};

cc_static_mount *cc_static_open(const char *root, char *err, size_t err_len) {
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "cannot open the static folder %s: %s", root, strerror(errno));
        return NULL;
    }
    cc_static_mount *m = malloc(sizeof *m);
    if (!m) {
        close(fd);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    m->dirfd = fd;
    return m;
}

void cc_static_close(cc_static_mount *m) {
    if (!m) return;
    close(m->dirfd);
    free(m);
}

/* ------------------------------------------------------------------ */
/* The path                                                             */
/* ------------------------------------------------------------------ */

/* Opens `rel` (checked by cc_static_path) beneath the mount, one segment at
 * a time, following no symbolic link at any depth; a regular file only. */
static int open_beneath(const cc_static_mount *m, char *rel, struct stat *st) {
    int dir = m->dirfd;
    char *p = rel;
    for (;;) {
        char *slash = strchr(p, '/');
        if (slash) *slash = '\0';
        int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (slash ? O_DIRECTORY | O_PATH : O_NONBLOCK);
        int fd = openat(dir, p, flags);
        if (slash) *slash = '/';
        if (dir != m->dirfd) close(dir);
        if (fd < 0) return -1;
        if (!slash) {
            if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
                close(fd);
                return -1;
            }
            return fd;
        }
        dir = fd;
        p = slash + 1;
    }
}

/* ------------------------------------------------------------------ */
/* Validators and HTTP-dates                                            */
/* ------------------------------------------------------------------ */

/* A strong ETag from what a change of the file changes: its size and its
 * modification time to the nanosecond (nginx uses size and seconds). */
static size_t make_etag(char *out, size_t cap, const struct stat *st) {
    int n = snprintf(out, cap, "\"%llx-%llx%08lx\"", (unsigned long long)st->st_size,
                     (unsigned long long)st->st_mtim.tv_sec, (unsigned long)st->st_mtim.tv_nsec);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static size_t imf_fixdate(char *out, time_t t) {
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
                     months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return n > 0 ? (size_t)n : 0;
}

static const cc_header *header(const cc_request *req, const char *name) {
    return cc_request_header(req, name, strlen(name));
}

/* RFC 9110 §8.8.3.2: a list of entity-tags (or "*") matched against ours,
 * by weak comparison (If-None-Match) or strong (If-Match: neither weak). */
static bool etag_listed(cc_slice list, const char *etag, size_t etag_len, bool strong) {
    const char *p = list.at, *end = list.at + list.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) p++;
        if (p == end) break;
        if (*p == '*') return true;
        bool weak = false;
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
            weak = true;
            p += 2;
        }
        if (p == end || *p != '"') return false; /* not a list of entity-tags: no match */
        const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
        if (!q) return false;
        size_t len = (size_t)(q - p + 1);
        if (len == etag_len && memcmp(p, etag, len) == 0 && !(strong && weak)) return true;
        p = q + 1;
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Serving                                                              */
/* ------------------------------------------------------------------ */

static const char *content_type(const char *name, size_t len) {
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".gif", "image/gif"},
        {".webp", "image/webp"},
        {".wasm", "application/wasm"},
    };
    const char *dot = NULL;
    for (size_t i = len; i > 0 && name[i - 1] != '/'; i--)
        if (name[i - 1] == '.') {
            dot = name + i - 1;
            break;
        }
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

/* The exchange's own added headers, then ours. */
typedef struct {
    char buf[CC_EXTRA_HEADERS_MAX + 512];
    size_t len;
} header_block;

static void add(header_block *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(header_block *h, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(h->buf + h->len, sizeof h->buf - h->len, fmt, ap);
    va_end(ap);
    if (n > 0 && (size_t)n < sizeof h->buf - h->len) h->len += (size_t)n;
}

static void answer_error(cc_exchange *ex, int status, const char *extra, size_t extra_len) {
    ex->responded = true;
    if (!cc__answer_error(ex, status, extra, extra_len)) ex->failed = true;
}

/* The body [off, off+len) of fd after a head of `status`: from the file on
 * HTTP/1.1 (sendfile, or read into the answer when small), a copy over
 * HTTP/2. Takes fd. */
static void answer_file(cc_exchange *ex, int status, const char *ctype, const header_block *h, int fd, uint64_t off,
                        uint64_t len) {
    ex->responded = true;
    size_t ctype_len = strlen(ctype);
    bool ok;
    if (ex->stream || (len <= CC_FILE_INLINE && ex->send_body)) {
        char *body = len ? malloc((size_t)len) : NULL;
        ssize_t got = len ? pread(fd, body, (size_t)len, (off_t)off) : 0;
        close(fd);
        if ((len && !body) || got != (ssize_t)len) {
            free(body);
            answer_error(ex, 500, NULL, 0);
            return;
        }
        ok = cc__emit(ex, status, ctype, ctype_len, h->buf, h->len, body, (size_t)len);
        free(body);
    } else {
        cc_conn *c = ex->conn;
        ok = cc__write_response(c, status, ctype, ctype_len, h->buf, h->len, NULL, (size_t)len, false, ex->close,
                                ex->ka10);
        if (ok && ex->send_body && len) {
            c->file_active = true;
            c->file_fd = fd;
            c->file_off = off;
            c->file_left = len;
        } else {
            close(fd);
        }
    }
    if (!ok) ex->failed = true;
}

int cc_static_serve(cc_exchange *ex, const cc_static_mount *m, const char *rel, size_t rel_len) {
    if (ex->responded) return 0;
    const cc_request *req = ex->req;
    if (req->method != CC_METHOD_GET && req->method != CC_METHOD_HEAD) {
        static const char allow[] = "Allow: GET, HEAD\r\n";
        answer_error(ex, 405, allow, sizeof allow - 1);
        return 405;
    }
    char path[1024];
    int plen = cc_static_path(rel, rel_len, path, sizeof path);
    if (plen < 0) {
        answer_error(ex, plen == CC_STATIC_MALFORMED ? 400 : 404, NULL, 0);
        return plen == CC_STATIC_MALFORMED ? 400 : 404;
    }
    struct stat st;
    int fd = open_beneath(m, path, &st);
    if (fd < 0) {
        answer_error(ex, 404, NULL, 0);
        return 404;
    }
    uint64_t size = (uint64_t)st.st_size;
    char etag[64], modified[40];
    size_t etag_len = make_etag(etag, sizeof etag, &st);
    size_t modified_len = imf_fixdate(modified, st.st_mtim.tv_sec);
    header_block h;
    h.len = ex->extra_len;
    memcpy(h.buf, ex->conn->loop->extra_headers, h.len);
    add(&h, "ETag: %.*s\r\nLast-Modified: %.*s\r\n", (int)etag_len, etag, (int)modified_len, modified);

    /* RFC 9110 §13.2.2: the preconditions, in order. */
    const cc_header *if_match = header(req, "if-match");
    if (if_match && !etag_listed(if_match->value, etag, etag_len, true)) {
        close(fd);
        answer_error(ex, 412, NULL, 0);
        return 412;
    }
    const cc_header *if_unmodified = if_match ? NULL : header(req, "if-unmodified-since");
    int64_t since;
    if (if_unmodified && cc_static_parse_date(if_unmodified->value.at, if_unmodified->value.len, &since) == 0 &&
        st.st_mtim.tv_sec > since) {
        close(fd);
        answer_error(ex, 412, NULL, 0);
        return 412;
    }
    const cc_header *if_none = header(req, "if-none-match");
    bool not_modified = false;
    if (if_none) {
        not_modified = etag_listed(if_none->value, etag, etag_len, false);
    } else {
        const cc_header *ims = header(req, "if-modified-since");
        not_modified =
            ims && cc_static_parse_date(ims->value.at, ims->value.len, &since) == 0 && st.st_mtim.tv_sec <= since;
    }
    if (not_modified) {
        close(fd);
        ex->responded = true;
        if (!cc__emit(ex, 304, NULL, 0, h.buf, h.len, NULL, 0)) ex->failed = true;
        return 304;
    }
    add(&h, "Accept-Ranges: bytes\r\n");
    const char *ctype = content_type(path, (size_t)plen);
    const cc_header *range = header(req, "range");
    if (range && req->method == CC_METHOD_GET) {
        /* §13.1.5: If-Range with our ETag (strong comparison) or exactly our
         * Last-Modified date; anything else sends the whole file. */
        const cc_header *if_range = header(req, "if-range");
        bool honour = true;
        if (if_range) {
            cc_slice v = if_range->value;
            if (v.len && v.at[0] == '"')
                honour = v.len == etag_len && memcmp(v.at, etag, etag_len) == 0;
            else
                honour = v.len == modified_len && memcmp(v.at, modified, modified_len) == 0;
        }
        uint64_t first = 0, last = 0;
        int r = honour ? cc_static_range(range->value.at, range->value.len, size, &first, &last) : CC_RANGE_IGNORE;
        if (r == CC_RANGE_UNSATISFIABLE) {
            close(fd);
            header_block e;
            e.len = 0;
            add(&e, "Content-Range: bytes */%llu\r\n", (unsigned long long)size);
            answer_error(ex, 416, e.buf, e.len);
            return 416;
        }
        if (r == CC_RANGE_OK) {
            add(&h, "Content-Range: bytes %llu-%llu/%llu\r\n", (unsigned long long)first, (unsigned long long)last,
                (unsigned long long)size);
            answer_file(ex, 206, ctype, &h, fd, first, last - first + 1);
            return 206;
        }
    }
    answer_file(ex, 200, ctype, &h, fd, 0, size);
    return 200;
}
