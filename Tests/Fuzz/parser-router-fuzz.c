/*
 * libFuzzer target for the C core's HTTP/1.1 parser and radix router
 * (scripts/fuzz builds and runs it).
 *
 * Input: one control byte, then bytes.
 *   control bits 0-1: limits (default, small header block, few headers, small body)
 *   control bit 2:    the bytes up to the first '\n' are a route pattern added
 *                     to a fresh router (errors are fine), the rest is the stream
 *   control bits 3-7: where the second feeding of each request is split
 *
 * The stream is parsed as pipelined requests, each one twice: fed whole, and
 * fed in two pieces (the parser must give the same verdict and fields either
 * way: it is resumable). Every complete request's slices must lie inside the
 * buffer, and its path is matched by a router with the suites' kind of routes.
 * A path routed to /static/ goes through the static server's path check
 * (static_rules.c), which must give a decoded path with no empty, "." or
 * ".." segment and no backslash; every Range header is resolved against a
 * few file sizes (a satisfiable range must lie inside the file), and every
 * date header parsed. Any violated invariant aborts, which libFuzzer reports
 * as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ccatcore.h"

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) abort();                                                                                          \
    } while (0)

static cc_router *fixed_router;

static void add(cc_router *r, cc_method m, const char *pattern, int32_t id) {
    char err[128];
    CHECK(cc_router_add(r, m, pattern, id, err, sizeof err) == 0);
}

static void build_fixed_router(void) {
    fixed_router = cc_router_create();
    add(fixed_router, CC_METHOD_GET, "/plaintext", 0);
    add(fixed_router, CC_METHOD_GET, "/json", 1);
    add(fixed_router, CC_METHOD_GET, "/users/{id:int}", 2);
    add(fixed_router, CC_METHOD_GET, "/users/{name}/posts/{post:int}", 3);
    add(fixed_router, CC_METHOD_GET, "/search", 4);
    add(fixed_router, CC_METHOD_POST, "/validate/user", 5);
    add(fixed_router, CC_METHOD_GET, "/static/{file:path}", 6);
    add(fixed_router, CC_METHOD_OPTIONS, "/mw10/hello", 7);
    add(fixed_router, CC_METHOD_GET, "/mw10/hello", 8);
}

static int inside(cc_slice s, const char *buf, size_t len) {
    if (s.len == 0) return 1;
    return s.at >= buf && s.at + s.len <= buf + len;
}

static void check_request(const cc_request *q, const char *buf, size_t len) {
    CHECK(inside(q->method_text, buf, len));
    CHECK(inside(q->target, buf, len));
    /* An absolute-form target with an empty path has the path "/", which is not in the buffer. */
    CHECK(inside(q->path, buf, len) || (q->path.len == 1 && q->path.at[0] == '/'));
    CHECK(inside(q->query, buf, len));
    CHECK(inside(q->body, buf, len));
    CHECK(q->num_headers <= CC_MAX_HEADERS_CAP);
    for (uint32_t i = 0; i < q->num_headers; i++) {
        CHECK(inside(q->headers[i].name, buf, len));
        CHECK(inside(q->headers[i].value, buf, len));
    }
    CHECK(q->version_minor <= 1);
}

/* The static server's path check on a routed /static/ path. */
static void static_path(cc_slice raw) {
    char out[256];
    int n = cc_static_path(raw.at, raw.len, out, sizeof out);
    CHECK(n == CC_STATIC_MALFORMED || n == CC_STATIC_REFUSED || (n >= 0 && (size_t)n < sizeof out));
    if (n < 0) return;
    CHECK(strlen(out) == (size_t)n && n > 0);
    CHECK(!memchr(out, '\\', (size_t)n));
    const char *seg = out;
    for (;;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        CHECK(len > 0);
        CHECK(!(len == 1 && seg[0] == '.') && !(len == 2 && seg[0] == '.' && seg[1] == '.'));
        if (!slash) break;
        seg = slash + 1;
    }
}

static void static_headers(const cc_request *q) {
    static const uint64_t sizes[] = {0, 1, 100, 1000, 1u << 20};
    for (uint32_t i = 0; i < q->num_headers; i++) {
        cc_slice name = q->headers[i].name, value = q->headers[i].value;
        if (name.len == 5 && strncasecmp(name.at, "range", 5) == 0) {
            for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
                uint64_t first = 0, last = 0;
                int r = cc_static_range(value.at, value.len, sizes[k], &first, &last);
                CHECK(r == CC_RANGE_OK || r == CC_RANGE_IGNORE || r == CC_RANGE_UNSATISFIABLE);
                if (r == CC_RANGE_OK) CHECK(first <= last && last < sizes[k]);
            }
        } else if (name.len > 6 && strncasecmp(name.at + name.len - 6, "-since", 6) == 0) {
            int64_t t = 0;
            (void)cc_static_parse_date(value.at, value.len, &t);
        }
    }
}

static void route(const cc_router *r, const cc_request *q) {
    static_headers(q);
    cc_match m;
    cc_route_result res = cc_router_match(r, q->method, q->path.at, q->path.len, &m);
    if (res == CC_ROUTE_FOUND) {
        CHECK(m.num_params <= CC_MAX_PARAMS);
        for (uint32_t i = 0; i < m.num_params; i++) {
            const cc_param *p = &m.params[i];
            if (p->value.len)
                CHECK(p->value.at >= q->path.at && p->value.at + p->value.len <= q->path.at + q->path.len);
        }
        if (r == fixed_router && m.handler_id == 6 && m.num_params == 1) static_path(m.params[0].value);
    }
}

/* Parses buf[0..len) from a fresh parser, feeding it in two pieces split at `split`. */
static int64_t parse_in_two(cc_limits limits, char *buf, size_t len, size_t split, cc_request *q) {
    cc_parser p;
    cc_parser_init(&p, limits);
    if (split > 0 && split < len) {
        int64_t first = cc_parse_request(&p, buf, split, q);
        if (first != CC_PARSE_INCOMPLETE) return first;
    }
    return cc_parse_request(&p, buf, len, q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fixed_router) build_fixed_router();
    if (size < 1) return 0;
    uint8_t control = data[0];
    data++;
    size--;

    static const cc_limits variants[4] = {
        {8192, 64, 1 << 20},
        {256, 64, 1 << 20},
        {8192, 4, 1 << 20},
        {8192, 64, 64},
    };
    cc_limits limits = variants[control & 3];

    cc_router *router = fixed_router;
    cc_router *own = NULL;
    if (control & 4) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t plen = nl ? (size_t)(nl - data) : size;
        char pattern[512];
        if (plen >= sizeof pattern) plen = sizeof pattern - 1;
        memcpy(pattern, data, plen);
        pattern[plen] = 0;
        own = cc_router_create();
        char err[128];
        (void)cc_router_add(own, CC_METHOD_GET, pattern, 1, err, sizeof err);
        router = own;
        size_t used = nl ? (size_t)(nl - data) + 1 : size;
        data += used;
        size -= used;
    }

    /* Two private copies: chunked bodies are decoded in place. */
    char *a = malloc(size ? size : 1);
    char *b = malloc(size ? size : 1);
    if (size) {
        memcpy(a, data, size);
        memcpy(b, data, size);
    }
    size_t offset = 0;
    for (int guard = 0; guard < 1000 && offset < size; guard++) {
        size_t left = size - offset;
        cc_request qa, qb;
        cc_parser pa;
        cc_parser_init(&pa, limits);
        int64_t ra = cc_parse_request(&pa, a + offset, left, &qa);
        int64_t rb = parse_in_two(limits, b + offset, left, (size_t)(control >> 3) * left / 32, &qb);
        CHECK(ra == rb);
        if (ra <= 0) break;
        CHECK((size_t)ra <= left);
        check_request(&qa, a + offset, left);
        check_request(&qb, b + offset, left);
        CHECK(qa.method == qb.method && qa.keep_alive == qb.keep_alive && qa.chunked == qb.chunked);
        CHECK(qa.num_headers == qb.num_headers && qa.body.len == qb.body.len);
        CHECK(qa.target.len == qb.target.len && memcmp(qa.target.at, qb.target.at, qa.target.len) == 0);
        if (qa.body.len) CHECK(memcmp(qa.body.at, qb.body.at, qa.body.len) == 0);
        route(router, &qa);
        offset += (size_t)ra;
    }
    free(a);
    free(b);
    if (own) cc_router_destroy(own);
    return 0;
}
