/*
 * The header fields of an HTTP/1.1 request head, one field line at a time:
 * their syntax, and the meaning of the few fields the core acts on itself.
 *
 * RFC 9112 §2.1:
 *   HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
 * RFC 9112 §5:
 *   field-line   = field-name ":" OWS field-value OWS
 *
 * parser.c's parse_head checks each line of the head with cc__parse_field_line,
 * then hands it to cc__field_semantics, which gathers in a cc_framing what
 * Host, Expect, Connection, Content-Length and Transfer-Encoding say; from
 * that parse_head decides how the body is framed (RFC 9112 §6.3) and whether
 * the connection persists. Every other field is only syntax-checked and
 * passed on. The chunked decoder (chunked.c) checks its trailer lines with
 * cc__parse_field_line too. No heap allocation anywhere in this file.
 */
#include "core_internal.h"

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
#define BAD CC_PARSE_BAD_REQUEST

/* Calls fn for every non-empty element of a comma list (RFC 9110 §5.6.1:
 *   #element => [ element ] *( OWS "," OWS [ element ] )
 * empty elements are ignored as the RFC asks). */
#define FOR_EACH_LIST_ELEMENT(v, n, el, el_len, body)                                                                  \
    do {                                                                                                               \
        size_t i_ = 0;                                                                                                 \
        while (i_ < (n)) {                                                                                             \
            size_t s_ = i_;                                                                                            \
            while (i_ < (n) && (v)[i_] != ',') i_++;                                                                   \
            size_t e_ = i_;                                                                                            \
            while (s_ < e_ && cc__is_ows((unsigned char)(v)[s_])) s_++;                                                \
            while (e_ > s_ && cc__is_ows((unsigned char)(v)[e_ - 1])) e_--;                                            \
            if (e_ > s_) {                                                                                             \
                const char *el = (v) + s_;                                                                             \
                size_t el_len = e_ - s_;                                                                               \
                body                                                                                                   \
            }                                                                                                          \
            i_++;                                                                                                      \
        }                                                                                                              \
    } while (0)

/*
 * RFC 9110 §8.6:  Content-Length = 1*DIGIT
 * "a recipient ... MAY either reject the message as invalid or replace that
 * invalid field value with a single instance of the decimal value" when it is
 * a list of identical values -- we accept identical repeats (also across
 * field lines, RFC 9112 §6.3 ¶5) and reject anything else.
 */
static int parse_content_length(const char *v, size_t n, cc_framing *f) {
    /* v is already OWS-trimmed. Empty list elements ("5,,5") are rejected:
     * stricter than the list rule, but no real client sends them here. */
    size_t i = 0;
    for (;;) {
        size_t s = i;
        uint64_t x = 0;
        for (; i < n && IS_DIGIT(v[i]); i++) {
            unsigned d = (unsigned)(v[i] - '0');
            if (x > ((uint64_t)INT64_MAX - d) / 10) return BAD; /* overflow */
            x = x * 10 + d;
        }
        if (i == s) return BAD;
        if (f->content_length >= 0 && (uint64_t)f->content_length != x) return BAD;
        f->content_length = (int64_t)x;
        while (i < n && cc__is_ows((unsigned char)v[i])) i++;
        if (i == n) return 0;
        if (v[i] != ',') return BAD;
        i++;
        while (i < n && cc__is_ows((unsigned char)v[i])) i++;
    }
}

/*
 * RFC 9112 §6.1:
 *   Transfer-Encoding = #transfer-coding
 *   transfer-coding   = token *( OWS ";" OWS transfer-parameter )
 * We implement chunked only: any other coding -> 501 (RFC 9112 §6.1 "A
 * server that receives a request message with a transfer coding it does not
 * understand SHOULD respond with 501"), chunked twice -> 400 (RFC 9112 §6.1
 * "MUST NOT apply the chunked transfer coding more than once").
 */
static int parse_transfer_encoding(const char *v, size_t n, cc_framing *f) {
    f->te_seen = true;
    int err = 0;
    FOR_EACH_LIST_ELEMENT(v, n, el, el_len, {
        size_t k = 0;
        while (k < el_len && (cc__char_class[(unsigned char)el[k]] & CC_C_TCHAR)) k++;
        if (k == 0) {
            err = BAD;
            break;
        }
        if (k == el_len && el_len == 7 && cc__ieq(el, "chunked", 7)) {
            if (f->te_chunked < 255) f->te_chunked++;
        } else {
            /* another coding, or chunked with parameters (it has none) */
            f->te_other = true;
        }
    });
    return err;
}

/* RFC 9110 §7.6.1:  Connection = #connection-option ; connection-option = token */
static void parse_connection(const char *v, size_t n, cc_framing *f) {
    FOR_EACH_LIST_ELEMENT(v, n, el, el_len, {
        if (el_len == 5 && cc__ieq(el, "close", 5))
            f->conn_close = true;
        else if (el_len == 10 && cc__ieq(el, "keep-alive", 10))
            f->conn_keep_alive = true;
    });
}

static inline bool name_is(const char *name, size_t n, const char *lit, size_t lit_len) {
    return n == lit_len && cc__ieq(name, lit, n);
}

int cc__field_semantics(const char *name, size_t nl, const char *v, size_t vl, cc_framing *f) {
    /* Dispatch on length first: most fields are none of these. */
    switch (nl) {
    case 4:
        if (name_is(name, nl, "host", 4)) f->hosts++;
        break;
    case 6:
        /* RFC 9110 §10.1.1:  Expect = #expectation ; only 100-continue is defined */
        if (name_is(name, nl, "expect", 6) && vl == 12 && cc__ieq(v, "100-continue", 12)) f->expect_continue = true;
        break;
    case 10:
        if (name_is(name, nl, "connection", 10)) parse_connection(v, vl, f);
        break;
    case 14:
        if (name_is(name, nl, "content-length", 14)) return parse_content_length(v, vl, f);
        break;
    case 17:
        if (name_is(name, nl, "transfer-encoding", 17)) return parse_transfer_encoding(v, vl, f);
        break;
    }
    return 0;
}

/*
 * RFC 9112 §5:
 *   field-line   = field-name ":" OWS field-value OWS
 *   field-name   = token
 * RFC 9112 §5.1: "No whitespace is allowed between the field name and colon
 * ... a server MUST reject, with a response status code of 400".
 * RFC 9112 §5.2: obs-fold = OWS CRLF RWS -- "A server that receives an
 * obs-fold in a request message ... MUST either reject the message by sending
 * a 400 (Bad Request)...". We reject. A first field line starting with
 * whitespace is rejected too (RFC 9112 §2.2).
 * [s, e) is the line without its terminator. On success h holds name and value.
 */
int cc__parse_field_line(const char *buf, size_t s, size_t e, cc_header *h) {
    if (cc__is_ows((unsigned char)buf[s])) return BAD;
    size_t n = s;
    while (n < e && (cc__char_class[(unsigned char)buf[n]] & CC_C_TCHAR)) n++;
    if (n == s || n >= e || buf[n] != ':') return BAD;
    size_t v = n + 1, ve = e;
    while (v < ve && cc__is_ows((unsigned char)buf[v])) v++;
    while (ve > v && cc__is_ows((unsigned char)buf[ve - 1])) ve--;
    for (size_t k = v; k < ve; k++)
        if (!(cc__char_class[(unsigned char)buf[k]] & CC_C_FVAL)) return BAD;
    h->name = (cc_slice){buf + s, (uint32_t)(n - s)};
    h->value = (cc_slice){buf + v, (uint32_t)(ve - v)};
    return 0;
}
