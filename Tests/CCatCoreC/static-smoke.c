/*
 * Static files from the core: the path, range and date rules on their own,
 * then a real server with a mount over loopback sockets — whole files
 * (sendfile and inline), HEAD, ranges, the conditional answers, a file
 * changed on disk, pipelining behind a file body, a slow reader, and every
 * way out of the folder refused.
 */
#define _GNU_SOURCE
#include "ccatcore.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>

#include "check.h"
#include "client.h"

enum { H_STATIC = 1, H_HELLO };
static cc_static_mount *mount;

static void on_request(void *ctx, cc_exchange *ex) {
    (void)ctx;
    const cc_match *m = cc_exchange_match(ex);
    if (m->handler_id == H_STATIC) {
        cc_static_serve(ex, mount, m->params[0].value.at, m->params[0].value.len);
    } else {
        cc_respond(ex, 200, "text/plain", 10, "hello", 5);
    }
}

static char root[256], folder[300];
static char *small, *big;
static size_t small_len = 1000, big_len = 3 * 1024 * 1024 + 7;

static void write_file(const char *name, const char *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

static void setup(void) {
    snprintf(root, sizeof root, "/tmp/ccore-static-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        exit(1);
    }
    snprintf(folder, sizeof folder, "%s/public", root);
    mkdir(folder, 0755);
    char path[512];
    snprintf(path, sizeof path, "%s/sub", folder);
    mkdir(path, 0755);
    small = malloc(small_len);
    big = malloc(big_len);
    uint32_t x = 12345;
    for (size_t i = 0; i < big_len; i++) {
        x = x * 1103515245u + 12345u;
        big[i] = (char)(x >> 16);
        if (i < small_len) small[i] = (char)('a' + (x >> 20) % 26);
    }
    write_file("small.txt", small, small_len);
    write_file("big.bin", big, big_len);
    write_file("sub/inner.css", "body{}", 6);
    snprintf(path, sizeof path, "%s/secret", root);
    FILE *f = fopen(path, "w");
    fputs("SECRET-OUTSIDE", f);
    fclose(f);
    char link[512];
    snprintf(link, sizeof link, "%s/link", folder);
    if (symlink("../secret", link) != 0) perror("symlink");
    snprintf(link, sizeof link, "%s/outdir", folder);
    if (symlink("..", link) != 0) perror("symlink");
    snprintf(path, sizeof path, "%s/pipe", folder);
    if (mkfifo(path, 0644) != 0) perror("mkfifo");
}

static void test_rules(void) {
    char out[256];
    struct {
        const char *in;
        int want; /* >= 0: decoded length */
        const char *decoded;
    } paths[] = {
        {"a.txt", 5, "a.txt"},
        {"sub/inner.css", 13, "sub/inner.css"},
        {"with%20space", 10, "with space"},
        {".hidden", 7, ".hidden"},
        {"..", CC_STATIC_REFUSED, NULL},
        {"../secret", CC_STATIC_REFUSED, NULL},
        {"sub/../../secret", CC_STATIC_REFUSED, NULL},
        {"%2e%2e/secret", CC_STATIC_REFUSED, NULL},
        {"%2E%2E", CC_STATIC_REFUSED, NULL},
        {"..%2fsecret", CC_STATIC_REFUSED, NULL},
        {"sub%2F..%2F..%2Fsecret", CC_STATIC_REFUSED, NULL},
        {"..%5csecret", CC_STATIC_REFUSED, NULL},
        {"a\\b", CC_STATIC_REFUSED, NULL},
        {"/etc/passwd", CC_STATIC_REFUSED, NULL},
        {"sub//x", CC_STATIC_REFUSED, NULL},
        {"sub/", CC_STATIC_REFUSED, NULL},
        {"./a", CC_STATIC_REFUSED, NULL},
        {"", CC_STATIC_REFUSED, NULL},
        {"a%00b", CC_STATIC_MALFORMED, NULL},
        {"a%zz", CC_STATIC_MALFORMED, NULL},
        {"a%2", CC_STATIC_MALFORMED, NULL},
        {"a%", CC_STATIC_MALFORMED, NULL},
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int got = cc_static_path(paths[i].in, strlen(paths[i].in), out, sizeof out);
        check(got == paths[i].want, "path %s: %d, want %d", paths[i].in, got, paths[i].want);
        if (got >= 0 && paths[i].decoded)
            check(strcmp(out, paths[i].decoded) == 0, "path %s decoded to %s", paths[i].in, out);
    }
    char longest[300];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = 0;
    check(cc_static_path(longest, strlen(longest), out, sizeof out) == CC_STATIC_REFUSED, "a path over the buffer");

    struct {
        const char *v;
        int want;
        uint64_t first, last;
    } ranges[] = {
        {"bytes=0-99", CC_RANGE_OK, 0, 99},
        {"bytes=-500", CC_RANGE_OK, 500, 999},
        {"bytes=1000-", CC_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=990-", CC_RANGE_OK, 990, 999},
        {"bytes=5-5000", CC_RANGE_OK, 5, 999},
        {"bytes=-5000", CC_RANGE_OK, 0, 999},
        {"BYTES=1-2", CC_RANGE_OK, 1, 2},
        {"bytes=-0", CC_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=9-3", CC_RANGE_IGNORE, 0, 0},
        {"bytes=0-1,5-6", CC_RANGE_IGNORE, 0, 0},
        {"items=0-1", CC_RANGE_IGNORE, 0, 0},
        {"bytes=x-1", CC_RANGE_IGNORE, 0, 0},
        {"bytes=", CC_RANGE_IGNORE, 0, 0},
        {"bytes=99999999999999999999-", CC_RANGE_IGNORE, 0, 0},
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        uint64_t a = 0, b = 0;
        int got = cc_static_range(ranges[i].v, strlen(ranges[i].v), 1000, &a, &b);
        check(got == ranges[i].want, "range %s: %d, want %d", ranges[i].v, got, ranges[i].want);
        if (got == CC_RANGE_OK && ranges[i].want == CC_RANGE_OK)
            check(a == ranges[i].first && b == ranges[i].last, "range %s: %llu-%llu", ranges[i].v,
                  (unsigned long long)a, (unsigned long long)b);
    }

    const char *dates[] = {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994"};
    for (int i = 0; i < 3; i++) {
        int64_t t = 0;
        check(cc_static_parse_date(dates[i], strlen(dates[i]), &t) == 0 && t == 784111777, "date %s: %lld", dates[i],
              (long long)t);
    }
    const char *bad[] = {"Sun, 06 Nov 1994 08:49:37 UTC", "yesterday", "Sun, 32 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Nox 1994 08:49:37 GMT", ""};
    for (int i = 0; i < 5; i++) {
        int64_t t;
        check(cc_static_parse_date(bad[i], strlen(bad[i]), &t) == -1, "bad date %s accepted", bad[i]);
    }
}

static int last_status;

/* One request on a new connection: its status (also in last_status), or -1. */
static int get(uint16_t port, const char *target, const char *extra, resp *out, bool head) {
    char raw[1024];
    snprintf(raw, sizeof raw, "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", head ? "HEAD" : "GET", target, extra ? extra : "");
    memset(out, 0, sizeof *out);
    last_status = request_once(port, raw, out, head) == 1 ? out->status : -1;
    return last_status;
}

static void test_files(uint16_t port) {
    resp rs;
    char v[256], etag[128], modified[64];
    check(get(port, "/static/small.txt", NULL, &rs, false) == 200, "small: %d", last_status);
    check(rs.blen == small_len && memcmp(rs.body, small, small_len) == 0, "small's bytes");
    check(has_header(&rs, "Content-Type", "text/plain; charset=utf-8"), "small's type");
    check(has_header(&rs, "Accept-Ranges", "bytes"), "Accept-Ranges");
    check(header_value(&rs, "ETag", etag, sizeof etag) != NULL && etag[0] == '"', "an ETag");
    check(header_value(&rs, "Last-Modified", modified, sizeof modified) != NULL, "a Last-Modified");
    resp_free(&rs);

    check(get(port, "/static/big.bin", NULL, &rs, false) == 200, "big: %d", last_status);
    check(rs.blen == big_len && memcmp(rs.body, big, big_len) == 0, "big's bytes (sendfile)");
    check(has_header(&rs, "Content-Type", "application/octet-stream"), "big's type");
    resp_free(&rs);

    check(get(port, "/static/big.bin", NULL, &rs, true) == 200, "HEAD big");
    check(header_value(&rs, "Content-Length", v, sizeof v) && strtoull(v, NULL, 10) == big_len, "HEAD's length");
    resp_free(&rs);

    check(get(port, "/static/sub/inner.css", NULL, &rs, false) == 200 && rs.blen == 6, "a file in a folder");
    check(has_header(&rs, "Content-Type", "text/css; charset=utf-8"), "css type");
    resp_free(&rs);

    /* Ranges. */
    check(get(port, "/static/small.txt", "Range: bytes=0-99\r\n", &rs, false) == 206, "0-99: %d", last_status);
    check(rs.blen == 100 && memcmp(rs.body, small, 100) == 0, "0-99's bytes");
    check(has_header(&rs, "Content-Range", "bytes 0-99/1000"), "0-99's Content-Range");
    resp_free(&rs);
    check(get(port, "/static/small.txt", "Range: bytes=-500\r\n", &rs, false) == 206 && rs.blen == 500 &&
              memcmp(rs.body, small + 500, 500) == 0,
          "suffix -500");
    resp_free(&rs);
    check(get(port, "/static/big.bin", "Range: bytes=1000-\r\n", &rs, false) == 206 && rs.blen == big_len - 1000 &&
              memcmp(rs.body, big + 1000, big_len - 1000) == 0,
          "open 1000- of big (sendfile from an offset)");
    resp_free(&rs);
    check(get(port, "/static/small.txt", "Range: bytes=1000-\r\n", &rs, false) == 416, "416: %d", last_status);
    check(has_header(&rs, "Content-Range", "bytes */1000"), "416's Content-Range");
    resp_free(&rs);
    check(get(port, "/static/small.txt", "Range: bytes=0-1,5-6\r\n", &rs, false) == 200 && rs.blen == small_len,
          "several ranges: the whole file");
    resp_free(&rs);
    check(get(port, "/static/small.txt", "Range: bytes=0-99\r\n", &rs, true) == 200, "HEAD ignores Range");
    resp_free(&rs);

    /* Conditional requests. */
    char extra[512];
    snprintf(extra, sizeof extra, "If-None-Match: %s\r\n", etag);
    check(get(port, "/static/small.txt", extra, &rs, false) == 304, "If-None-Match: %d", last_status);
    check(!has_header(&rs, "Content-Length", NULL) && rs.blen == 0, "304 has no body");
    check(has_header(&rs, "ETag", etag), "304 carries the ETag");
    resp_free(&rs);
    snprintf(extra, sizeof extra, "If-None-Match: \"other\", W/%s\r\n", etag);
    check(get(port, "/static/small.txt", extra, &rs, false) == 304, "weak match in a list");
    resp_free(&rs);
    check(get(port, "/static/small.txt", "If-None-Match: *\r\n", &rs, false) == 304, "*");
    resp_free(&rs);
    check(get(port, "/static/small.txt", "If-None-Match: \"other\"\r\n", &rs, false) == 200, "no match: 200");
    resp_free(&rs);
    snprintf(extra, sizeof extra, "If-Modified-Since: %s\r\n", modified);
    check(get(port, "/static/small.txt", extra, &rs, false) == 304, "If-Modified-Since: %d", last_status);
    resp_free(&rs);
    check(get(port, "/static/small.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", &rs, false) == 200,
          "modified since 1994");
    resp_free(&rs);
    snprintf(extra, sizeof extra, "If-None-Match: \"other\"\r\nIf-Modified-Since: %s\r\n", modified);
    check(get(port, "/static/small.txt", extra, &rs, false) == 200, "If-None-Match decides before If-Modified-Since");
    resp_free(&rs);
    snprintf(extra, sizeof extra, "Range: bytes=0-9\r\nIf-Range: %s\r\n", etag);
    check(get(port, "/static/small.txt", extra, &rs, false) == 206 && rs.blen == 10, "If-Range with the ETag");
    resp_free(&rs);
    snprintf(extra, sizeof extra, "Range: bytes=0-9\r\nIf-Range: %s\r\n", modified);
    check(get(port, "/static/small.txt", extra, &rs, false) == 206, "If-Range with the date");
    resp_free(&rs);
    check(get(port, "/static/small.txt", "Range: bytes=0-9\r\nIf-Range: \"old\"\r\n", &rs, false) == 200 &&
              rs.blen == small_len,
          "If-Range with another ETag: the whole file");
    resp_free(&rs);
    check(get(port, "/static/small.txt", "If-Match: \"old\"\r\n", &rs, false) == 412, "If-Match fails: 412");
    resp_free(&rs);

    /* Changed on disk: a new ETag and the new bytes at the next request. */
    small[0] = small[0] == 'z' ? 'y' : 'z';
    write_file("small.txt", small, small_len);
    char path[512];
    snprintf(path, sizeof path, "%s/small.txt", folder);
    struct timespec later[2] = {{.tv_sec = time(NULL) + 10}, {.tv_sec = time(NULL) + 10}};
    utimensat(AT_FDCWD, path, later, 0);
    snprintf(extra, sizeof extra, "If-None-Match: %s\r\n", etag);
    check(get(port, "/static/small.txt", extra, &rs, false) == 200, "changed: %d", last_status);
    check(rs.blen == small_len && memcmp(rs.body, small, small_len) == 0, "the new bytes");
    check(header_value(&rs, "ETag", v, sizeof v) && strcmp(v, etag) != 0, "a new ETag");
    resp_free(&rs);
}

static void test_refusals(uint16_t port) {
    struct {
        const char *target;
        int status;
    } cases[] = {
        {"/static/../secret", 404},     {"/static/%2e%2e/secret", 404},
        {"/static/..%2fsecret", 404},   {"/static/sub/..%2F..%2Fsecret", 404},
        {"/static//etc/passwd", 404},   {"/static/link", 404},
        {"/static/outdir/secret", 404}, {"/static/pipe", 404},
        {"/static/sub", 404},           {"/static/missing", 404},
        {"/static/a%zz", 400},          {"/static/a%00", 400},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        resp rs;
        int status = get(port, cases[i].target, NULL, &rs, false);
        check(status == cases[i].status, "%s: %d, want %d", cases[i].target, status, cases[i].status);
        check(!rs.body || !memmem(rs.body, rs.blen, "SECRET", 6), "%s: read outside the folder", cases[i].target);
        resp_free(&rs);
    }
}

static void test_pipelining(uint16_t port) {
    /* A file body, then a handler's answer, then an inline file: in order. */
    reader r = rd_open(connect_to(port));
    send_str(r.fd, "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                   "HEAD /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /static/small.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    resp rs;
    check(read_response(&r, &rs, false) == 1 && rs.status == 200 && rs.blen == big_len &&
              memcmp(rs.body, big, big_len) == 0,
          "pipelined: the file first");
    resp_free(&rs);
    check(read_response(&r, &rs, false) == 1 && rs.blen == 5 && memcmp(rs.body, "hello", 5) == 0,
          "pipelined: then the handler");
    resp_free(&rs);
    check(read_response(&r, &rs, true) == 1 && rs.status == 200, "pipelined: HEAD");
    resp_free(&rs);
    check(read_response(&r, &rs, false) == 1 && rs.blen == small_len && memcmp(rs.body, small, small_len) == 0,
          "pipelined: then the small file");
    resp_free(&rs);
    rd_close(&r);
}

static void test_slow_reader(uint16_t port) {
    /* A small receive window and a pause: sendfile meets a full socket and resumes on EPOLLOUT. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int small_window = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small_window, sizeof small_window);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("connect");
        exit(1);
    }
    reader r = rd_open(fd);
    send_str(fd, "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(300 * 1000);
    resp rs;
    check(read_response(&r, &rs, false) == 1 && rs.blen == big_len && memcmp(rs.body, big, big_len) == 0,
          "slow reader: every byte");
    resp_free(&rs);
    check(read_response(&r, &rs, false) == 1 && rs.blen == 5, "slow reader: the next answer");
    resp_free(&rs);
    rd_close(&r);
}

int main(void) {
    setup();
    test_rules();
    char err[256];
    mount = cc_static_open(folder, err, sizeof err);
    if (!mount) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    check(cc_static_open("/nonexistent-ccore", err, sizeof err) == NULL && strstr(err, "cannot open"),
          "a missing folder is an error: %s", err);
    cc_router *router = cc_router_create();
    if (cc_router_add(router, CC_METHOD_GET, "/static/{path:path}", H_STATIC, err, sizeof err) != 0 ||
        cc_router_add(router, CC_METHOD_GET, "/hello", H_HELLO, err, sizeof err) != 0) {
        fprintf(stderr, "router: %s\n", err);
        return 1;
    }
    cc_server_config cfg = {.host = "127.0.0.1", .workers = 2, .on_request = on_request};
    cc_server *s = NULL;
    if (cc_server_start(&cfg, router, &s, err, sizeof err) != 0) {
        fprintf(stderr, "start: %s\n", err);
        return 1;
    }
    uint16_t port = cc_server_port(s);
    test_files(port);
    test_refusals(port);
    test_pipelining(port);
    test_slow_reader(port);
    cc_server_stop(s);
    cc_router_destroy(router);
    cc_static_close(mount);
    free(small);
    free(big);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    printf("static-smoke: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
