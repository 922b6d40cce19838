/*
 * Incremental, zero-copy HTTP/1.1 request parser (RFC 9112, with RFC 9110
 * for field semantics).
 *
 * The caller hands us the bytes of one request from its first byte, appending
 * between calls. Work is split so that feeding a request byte by byte costs
 * O(n) in total:
 *   1. scan_head: find the end of the head (the empty line), remembering how
 *      far it got (scan_pos / line_start). The method token and, as soon as
 *      its line ends, the request line are validated here, so garbage is
 *      rejected without waiting for a full head.
 *   2. parse_head: one pass over the complete head fills cc_request and the
 *      body framing. It runs again (same bytes, same answer) only when the
 *      body completes in a later call, because the caller may have moved the
 *      buffer in between and the slices must point into the current one.
 *   3. The body: Content-Length just waits for enough bytes; chunked bodies
 *      go through a resumable byte-level decoder (chunked.c) that moves data
 *      down in place so the decoded body is contiguous right after the head.
 *
 * Verdicts only depend on the bytes seen so far and every check happens at a
 * fixed position in the byte stream, so any split of the input gives the same
 * answer (the test harness checks exactly that).
 *
 * No heap allocation anywhere in this file.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <string.h>

/* ------------------------------------------------------------------ */
/* Character classes                                                    */
/* ------------------------------------------------------------------ */

/*
 * RFC 9110 §5.6.2:
 *   token = 1*tchar
 *   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
 */
#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define IS_TCHAR(c)                                                                                                    \
    (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' || (c) == '&' ||               \
     (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' || (c) == '^' || (c) == '_' || (c) == '`' ||  \
     (c) == '|' || (c) == '~')
/*
 * RFC 9110 §5.5:
 *   field-value = *field-content
 *   field-vchar = VCHAR / obs-text        ; obs-text = %x80-FF
 * plus SP / HTAB inside the value. Everything else (NUL, CR, LF, other CTLs,
 * DEL) is rejected: RFC 9110 §5.5 "Field values containing CR, LF, or NUL
 * characters are invalid and dangerous".
 */
#define IS_FVAL(c) ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f))
/* request-target bytes: anything visible; obs-text tolerated (raw UTF-8 paths). */
#define IS_TARGET(c) ((c) > 0x20 && (c) != 0x7f)
#define IS_HEX(c) (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
#define CLS(c)                                                                                                         \
    (uint8_t)((IS_TCHAR(c) ? CC_C_TCHAR : 0) | (IS_FVAL(c) ? CC_C_FVAL : 0) | (IS_TARGET(c) ? CC_C_TARGET : 0) |       \
              (IS_HEX(c) ? CC_C_HEX : 0))
#define R4(b) CLS(b), CLS((b) + 1), CLS((b) + 2), CLS((b) + 3)
#define R16(b) R4(b), R4((b) + 4), R4((b) + 8), R4((b) + 12)
#define R64(b) R16(b), R16((b) + 16), R16((b) + 32), R16((b) + 48)
/* The CC_C_* bits of every byte; the chunked decoder (chunked.c) reads them too. */
const uint8_t cc__char_class[256] = {R64(0), R64(64), R64(128), R64(192)};

#define BAD CC_PARSE_BAD_REQUEST

const char *const cc__method_names[CC_METHOD_COUNT] = {"", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

cc_method cc__method_from(const char *m, size_t n) {
    /* Methods are case-sensitive (RFC 9110 §9.1). */
    switch (n) {
    case 3:
        if (memcmp(m, "GET", 3) == 0) return CC_METHOD_GET;
        if (memcmp(m, "PUT", 3) == 0) return CC_METHOD_PUT;
        break;
    case 4:
        if (memcmp(m, "HEAD", 4) == 0) return CC_METHOD_HEAD;
        if (memcmp(m, "POST", 4) == 0) return CC_METHOD_POST;
        break;
    case 5:
        if (memcmp(m, "PATCH", 5) == 0) return CC_METHOD_PATCH;
        break;
    case 6:
        if (memcmp(m, "DELETE", 6) == 0) return CC_METHOD_DELETE;
        break;
    case 7:
        if (memcmp(m, "OPTIONS", 7) == 0) return CC_METHOD_OPTIONS;
        break;
    }
    return CC_METHOD_OTHER;
}

/* ------------------------------------------------------------------ */
/* Setup                                                                */
/* ------------------------------------------------------------------ */

cc_limits cc__normalize_limits(cc_limits l) {
    /* Zero means "default", so a zero-initialised config from Swift works. */
    if (l.max_header_bytes == 0) l.max_header_bytes = CC_DEFAULT_MAX_HEADER_BYTES;
    if (l.max_headers == 0) l.max_headers = CC_DEFAULT_MAX_HEADERS;
    if (l.max_headers > CC_MAX_HEADERS_CAP) l.max_headers = CC_MAX_HEADERS_CAP;
    if (l.max_body_bytes == 0) l.max_body_bytes = CC_DEFAULT_MAX_BODY_BYTES;
    return l;
}

void cc_parser_init(cc_parser *p, cc_limits limits) {
    memset(p, 0, sizeof *p);
    p->limits = cc__normalize_limits(limits);
    p->content_length = -1;
}

void cc_parser_reset(cc_parser *p) {
    cc_limits l = p->limits;
    memset(p, 0, sizeof *p);
    p->limits = l;
    p->content_length = -1;
}

static int64_t fail(cc_parser *p, int64_t verdict) {
    p->error = (int32_t)verdict;
    return verdict;
}

/* ------------------------------------------------------------------ */
/* Request line                                                         */
/* ------------------------------------------------------------------ */

typedef struct rline {
    cc_slice method, target, path, query;
    uint8_t minor;
} rline;

/*
 * RFC 9112 §3:
 *   request-line   = method SP request-target SP HTTP-version
 *   method         = token
 * RFC 9112 §3.2:
 *   request-target = origin-form / absolute-form / authority-form / asterisk-form
 *   origin-form    = absolute-path [ "?" query ]
 *   absolute-form  = absolute-URI
 *   authority-form = uri-host ":" port          ; CONNECT only
 *   asterisk-form  = "*"                        ; OPTIONS only
 * RFC 9112 §2.3:
 *   HTTP-version   = HTTP-name "/" DIGIT "." DIGIT
 *   HTTP-name      = %s"HTTP"
 *
 * We require exactly one SP between the parts (the strict grammar; the
 * lenient whitespace parsing RFC 9112 §3 permits invites smuggling). `lf` is
 * the index of the line's LF; a CR before it belongs to the terminator.
 */
static int parse_request_line(const char *buf, size_t s, size_t lf, rline *out) {
    size_t e = lf;
    if (e > s && buf[e - 1] == '\r') e--;

    size_t i = s;
    while (i < e && (cc__char_class[(unsigned char)buf[i]] & CC_C_TCHAR)) i++;
    if (i == s || i >= e || buf[i] != ' ') return BAD;
    out->method = (cc_slice){buf + s, (uint32_t)(i - s)};

    size_t t = i + 1, j = t;
    while (j < e && (cc__char_class[(unsigned char)buf[j]] & CC_C_TARGET)) j++;
    if (j == t || j >= e || buf[j] != ' ') return BAD;
    out->target = (cc_slice){buf + t, (uint32_t)(j - t)};

    /* The version is checked before the target's form so that an HTTP/2
     * connection preface ("PRI * HTTP/2.0") gets 505, not 400. */
    const char *v = buf + j + 1;
    if (e - (j + 1) != 8 || memcmp(v, "HTTP/", 5) != 0 || !IS_DIGIT(v[5]) || v[6] != '.' || !IS_DIGIT(v[7])) return BAD;
    if (v[5] != '1' || v[7] > '1') return CC_PARSE_VERSION_NOT_SUPPORTED;
    out->minor = (uint8_t)(v[7] - '0');

    const char *tg = buf + t;
    size_t tn = j - t;
    size_t p0 = 0; /* path start within the target */
    if (tg[0] == '/') {
        /* origin-form */
    } else if (tn == 1 && tg[0] == '*') {
        if (!(out->method.len == 7 && memcmp(out->method.at, "OPTIONS", 7) == 0)) return BAD;
    } else {
        /* absolute-URI = scheme ":" hier-part [ "?" query ] (RFC 3986 §4.3);
         * scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). We accept the
         * hierarchical "scheme://authority[path]" shape that HTTP clients
         * and proxies send and route on its path, as RFC 9112 §3.2.2 asks
         * ("MUST accept the absolute-form"). */
        size_t k = 0;
        if (IS_ALPHA(tg[0])) {
            k = 1;
            while (k < tn && (IS_ALPHA(tg[k]) || IS_DIGIT(tg[k]) || tg[k] == '+' || tg[k] == '-' || tg[k] == '.')) k++;
        }
        if (k > 0 && k + 3 <= tn && memcmp(tg + k, "://", 3) == 0) {
            size_t a = k + 3;
            while (a < tn && tg[a] != '/' && tg[a] != '?') a++;
            p0 = a;
        } else if (out->method.len == 7 && memcmp(out->method.at, "CONNECT", 7) == 0) {
            /* authority-form: there is no path; expose the authority as is. */
        } else {
            return BAD;
        }
    }
    const char *q = memchr(tg + p0, '?', tn - p0);
    size_t pend = q ? (size_t)(q - tg) : tn;
    if (pend == p0 && p0 > 0) {
        /* absolute-form with an empty path means "/" (RFC 9112 §3.2.1). */
        out->path = (cc_slice){"/", 1};
    } else {
        out->path = (cc_slice){tg + p0, (uint32_t)(pend - p0)};
    }
    out->query = q ? (cc_slice){q + 1, (uint32_t)(tn - pend - 1)} : (cc_slice){tg + tn, 0};
    return 0;
}

/* ------------------------------------------------------------------ */
/* Finding the end of the head                                          */
/* ------------------------------------------------------------------ */

/*
 * The request line is validated as soon as its LF is seen -- but only when
 * this call is about to return without the head's end. When the end is found
 * in the same call (the usual case: the whole head in one read), parse_head
 * checks it first anyway, so checking here too would parse it twice. Either
 * way the request line's verdict comes before anything found after it.
 */
static int check_pending_line(cc_parser *p, const char *buf, size_t len) {
    if ((p->flags & (CC_PF_LINE_SEEN | CC_PF_LINE_OK)) != CC_PF_LINE_SEEN) return 0;
    const char *lf = memchr(buf + p->skip, '\n', len - p->skip);
    rline rl;
    int r = parse_request_line(buf, p->skip, (size_t)(lf - buf), &rl);
    if (r) return r;
    p->flags |= CC_PF_LINE_OK;
    return 0;
}

/* Returns the head's end (> 0, just past the empty line), 0, or an error. */
static int64_t scan_head(cc_parser *p, const char *buf, size_t len) {
    size_t pos = p->scan_pos;

    if (!(p->flags & CC_PF_STARTED)) {
        /* RFC 9112 §2.2: "a server that is expecting to receive and parse a
         * request-line SHOULD ignore at least one empty line (CRLF) received
         * prior to the request-line." Bounded so a CRLF stream cannot pin a
         * connection forever. */
        for (;;) {
            if (pos >= len) {
                p->scan_pos = pos;
                return 0;
            }
            unsigned char c = (unsigned char)buf[pos];
            if (c == '\n') {
                pos++;
            } else if (c == '\r') {
                if (pos + 1 >= len) {
                    p->scan_pos = pos;
                    return 0;
                }
                if (buf[pos + 1] != '\n') return BAD; /* bare CR */
                pos += 2;
            } else {
                break;
            }
            if (pos > CC_MAX_LEADING_EMPTY) return BAD;
        }
        p->skip = pos;
        p->line_start = pos;
        p->flags |= CC_PF_STARTED;
    }

    const size_t start = p->skip;
    /* The whole head including its final LF must fit in max_header_bytes, so
     * only that window is ever searched. */
    const size_t window_end = start + p->limits.max_header_bytes;
    const size_t end = len < window_end ? len : window_end;

    if (!(p->flags & CC_PF_METHOD_OK)) {
        /* method = token, validated as it arrives: a TLS ClientHello or other
         * binary junk is answered with 400 right away. */
        for (; pos < end; pos++) {
            unsigned char c = (unsigned char)buf[pos];
            if (c == ' ') {
                if (pos == start) return BAD;
                p->flags |= CC_PF_METHOD_OK;
                break;
            }
            if (!(cc__char_class[c] & CC_C_TCHAR)) return BAD;
        }
    }

    /* RFC 9112 §2.1:
     *   HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
     * RFC 9112 §2.2: "a recipient MAY recognize a single LF as a line
     * terminator and ignore any preceding CR" -- we do. */
    while (pos < end) {
        const char *lf = memchr(buf + pos, '\n', end - pos);
        if (!lf) {
            pos = end;
            break;
        }
        size_t i = (size_t)(lf - buf);
        if (!(p->flags & CC_PF_LINE_SEEN)) {
            if (!(p->flags & CC_PF_METHOD_OK)) return BAD;
            p->flags |= CC_PF_LINE_SEEN;
        } else if (i == p->line_start || (i == p->line_start + 1 && buf[i - 1] == '\r')) {
            p->scan_pos = i + 1;
            return (int64_t)(i + 1); /* parse_head validates everything */
        } else if (buf[p->line_start] == '\r') {
            /* "\r\r\n" and the like: a bare CR where the empty line should
             * be. Caught here, since the search would otherwise go on. */
            int r = check_pending_line(p, buf, len);
            return r ? r : BAD;
        }
        p->line_start = i + 1;
        pos = i + 1;
    }
    p->scan_pos = pos;
    int r = check_pending_line(p, buf, len);
    if (r) return r;
    if (len >= window_end) {
        /* The window is full and no end is in sight. If the request line did
         * not end inside it, it alone is longer than the limit. */
        return (p->flags & CC_PF_LINE_SEEN) ? CC_PARSE_HEADERS_TOO_LARGE : CC_PARSE_URI_TOO_LONG;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* The head                                                             */
/* ------------------------------------------------------------------ */

/* One pass over the complete head [skip, header_len): fills req and the
 * parser's framing. */
static int parse_head(cc_parser *p, const char *buf, cc_request *req) {
    const size_t start = p->skip, end = p->header_len;
    const char *lf = memchr(buf + start, '\n', end - start);
    size_t pos = (size_t)(lf - buf);
    rline rl;
    int r = parse_request_line(buf, start, pos, &rl);
    if (r) return r;
    req->method_text = rl.method;
    req->method = cc__method_from(rl.method.at, rl.method.len);
    req->target = rl.target;
    req->path = rl.path;
    req->query = rl.query;
    req->version_minor = rl.minor;
    req->http_major = 1;
    req->num_headers = 0;
    req->body = (cc_slice){buf + end, 0};

    cc_framing f = {.content_length = -1};
    pos++;
    for (;;) {
        lf = memchr(buf + pos, '\n', end - pos);
        size_t i = (size_t)(lf - buf), e = i;
        if (e > pos && buf[e - 1] == '\r') e--;
        if (e == pos) break; /* the empty line */
        if (req->num_headers >= p->limits.max_headers) return CC_PARSE_HEADERS_TOO_LARGE;
        cc_header *h = &req->headers[req->num_headers];
        r = cc__parse_field_line(buf, pos, e, h);
        if (r) return r;
        req->num_headers++;
        r = cc__field_semantics(h->name.at, h->name.len, h->value.at, h->value.len, &f);
        if (r) return r;
        pos = i + 1;
    }

    /* RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
     * code to any HTTP/1.1 request message that lacks a Host header field and
     * to any request message that contains more than one Host header field
     * line". */
    if (f.hosts > 1 || (rl.minor == 1 && f.hosts == 0)) return BAD;
    if (f.te_seen) {
        /* RFC 9112 §6.1: a Transfer-Encoding in an HTTP/1.0 message means
         * faulty framing. RFC 9112 §6.3 ¶3: with both Transfer-Encoding and
         * Content-Length "such a message might indicate an attempt to perform
         * request smuggling ... or response splitting and ought to be handled
         * as an error" -- we answer 400 and close. */
        if (rl.minor == 0) return BAD;
        if (f.content_length >= 0) return BAD;
        if (f.te_chunked > 1) return BAD;
        if (f.te_other) return CC_PARSE_NOT_IMPLEMENTED;
        if (f.te_chunked == 0) return BAD; /* an empty Transfer-Encoding */
    }
    /* RFC 9112 §9.3: HTTP/1.1 defaults to persistent connections, HTTP/1.0
     * only with "keep-alive"; "close" always wins. */
    req->keep_alive = rl.minor == 1 ? !f.conn_close : (f.conn_keep_alive && !f.conn_close);
    /* RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in
     * an HTTP/1.0 request MUST ignore that expectation." */
    req->expect_continue = (uint8_t)(f.expect_continue && rl.minor == 1);
    req->chunked = f.te_seen;

    p->content_length = f.content_length;
    if (f.te_seen) p->flags |= CC_PF_CHUNKED;
    if (req->expect_continue) p->flags |= CC_PF_EXPECT_CONTINUE;
    /* Reject an oversized body as soon as the head announces it. */
    if (f.content_length > (int64_t)p->limits.max_body_bytes) return CC_PARSE_PAYLOAD_TOO_LARGE;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Entry point                                                          */
/* ------------------------------------------------------------------ */

int64_t cc_parse_request(cc_parser *p, char *buf, size_t len, cc_request *req) {
    if (p->error) return p->error;
    if (p->flags & CC_PF_DONE) cc_parser_reset(p); /* caller forgot the reset */

    bool head_parsed_now = false;
    if (!(p->flags & CC_PF_HEAD_DONE)) {
        int64_t r = scan_head(p, buf, len);
        if (r <= 0) return r < 0 ? fail(p, r) : 0;
        p->header_len = (size_t)r;
        int e = parse_head(p, buf, req);
        if (e) return fail(p, e);
        p->flags |= CC_PF_HEAD_DONE;
        head_parsed_now = true;
        if (p->flags & CC_PF_CHUNKED) cc__chunked_begin(p);
    }

    size_t end, body_len;
    if (p->flags & CC_PF_CHUNKED) {
        int64_t r = cc__chunked_decode(p, buf, len);
        if (r <= 0) return r < 0 ? fail(p, r) : 0;
        end = (size_t)r;
        body_len = p->chunk_write_pos - p->header_len;
    } else {
        uint64_t cl = p->content_length < 0 ? 0 : (uint64_t)p->content_length;
        if (len - p->header_len < cl) return 0;
        end = p->header_len + (size_t)cl;
        body_len = (size_t)cl;
    }
    /* The buffer may have moved since the head was parsed: refill the slices
     * from the current one. Same bytes, so this cannot fail now. */
    if (!head_parsed_now) (void)parse_head(p, buf, req);
    req->body = (cc_slice){buf + p->header_len, (uint32_t)body_len};
    p->flags |= CC_PF_DONE;
    return (int64_t)end;
}

const cc_header *cc_request_header(const cc_request *req, const char *name, size_t name_len) {
    for (uint32_t i = 0; i < req->num_headers; i++) {
        const cc_header *h = &req->headers[i];
        if (h->name.len == name_len && cc__ieq(h->name.at, name, name_len)) return h;
    }
    return NULL;
}
