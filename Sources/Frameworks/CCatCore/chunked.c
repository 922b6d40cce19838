/*
 * The chunked transfer coding of a request body: the HTTP/1.1 parser
 * (parser.c) hands over the bytes after a head that said
 * "Transfer-Encoding: chunked", and this decoder turns them into the body.
 *
 * RFC 9112 §7.1:
 *   chunked-body   = *chunk
 *                    last-chunk
 *                    trailer-section
 *                    CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF
 *                    chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *   chunk-data     = 1*OCTET ; a sequence of chunk-size octets
 * RFC 9112 §7.1.1:
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name
 *                       [ BWS "=" BWS chunk-ext-val ] )
 * RFC 9112 §7.1.2:
 *   trailer-section = *( field-line CRLF )
 *
 * Extensions are skipped (their bytes must be field-value characters and at
 * most CC_MAX_CHUNK_EXT per line); trailer fields are syntax-checked and
 * discarded, all of them together bounded by max_header_bytes (-> 431). As in
 * the head, a lone LF also ends a line and a bare CR is an error.
 *
 * The decoder is resumable at every byte (its state lives in cc_parser), so
 * any split of the input gives the same answer, and it moves chunk data down
 * in place: the decoded body ends up contiguous right after the head. No heap
 * allocation anywhere in this file.
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <string.h>

#define BAD CC_PARSE_BAD_REQUEST

static inline unsigned hexval(unsigned char c) {
    return c <= '9' ? (unsigned)(c - '0') : (unsigned)(cc__lower(c) - 'a' + 10);
}

enum {
    CH_SIZE_START = 0, /* expecting the first hex digit */
    CH_SIZE,           /* in the hex digits */
    CH_SIZE_WS,        /* BWS after the size, before ";" */
    CH_EXT,            /* in the extensions */
    CH_SIZE_LF,        /* CR seen at the end of the size line */
    CH_DATA,
    CH_DATA_END, /* expecting the CRLF after chunk data */
    CH_DATA_LF,
    CH_TRAILER /* at a trailer line starting at read_pos */
};

void cc__chunked_begin(cc_parser *p) {
    p->chunk_read_pos = p->chunk_write_pos = p->header_len;
    p->chunk_state = CH_SIZE_START;
}

int64_t cc__chunked_decode(cc_parser *p, char *buf, size_t len) {
    size_t r = p->chunk_read_pos, w = p->chunk_write_pos;
    const size_t body_start = p->header_len;
    const uint64_t max_body = p->limits.max_body_bytes;
    int64_t verdict = 0;

#define SIZE_LINE_DONE()                                                                                               \
    do {                                                                                                               \
        p->chunk_state = p->chunk_remaining == 0 ? CH_TRAILER : CH_DATA;                                               \
        p->chunk_aux = 0;                                                                                              \
    } while (0)

    while (r < len && verdict == 0) {
        unsigned char c = (unsigned char)buf[r];
        switch (p->chunk_state) {
        case CH_SIZE_START:
            if (!(cc__char_class[c] & CC_C_HEX)) {
                verdict = BAD;
                break;
            }
            p->chunk_remaining = hexval(c);
            p->chunk_state = CH_SIZE;
            r++;
            break;
        case CH_SIZE:
            if (cc__char_class[c] & CC_C_HEX) {
                if (p->chunk_remaining > (UINT64_MAX >> 4)) {
                    verdict = BAD; /* chunk-size overflows 64 bits */
                    break;
                }
                p->chunk_remaining = (p->chunk_remaining << 4) | hexval(c);
                r++;
                break;
            }
            /* The size is known: enforce the body limit before data arrives. */
            if (p->chunk_remaining > max_body - (w - body_start)) {
                verdict = CC_PARSE_PAYLOAD_TOO_LARGE;
                break;
            }
            p->chunk_aux = 0;
            r++;
            if (c == ';')
                p->chunk_state = CH_EXT;
            else if (cc__is_ows(c))
                p->chunk_state = CH_SIZE_WS;
            else if (c == '\r')
                p->chunk_state = CH_SIZE_LF;
            else if (c == '\n')
                SIZE_LINE_DONE();
            else
                verdict = BAD;
            break;
        case CH_SIZE_WS: /* BWS is only allowed before ";" */
            r++;
            if (c == ';')
                p->chunk_state = CH_EXT;
            else if (!cc__is_ows(c) || ++p->chunk_aux > CC_MAX_CHUNK_EXT)
                verdict = BAD;
            break;
        case CH_EXT:
            r++;
            if (c == '\r')
                p->chunk_state = CH_SIZE_LF;
            else if (c == '\n')
                SIZE_LINE_DONE();
            else if (!(cc__char_class[c] & CC_C_FVAL) || ++p->chunk_aux > CC_MAX_CHUNK_EXT)
                verdict = BAD;
            break;
        case CH_SIZE_LF:
            r++;
            if (c == '\n')
                SIZE_LINE_DONE();
            else
                verdict = BAD; /* bare CR */
            break;
        case CH_DATA: {
            size_t n = len - r;
            if (n > p->chunk_remaining) n = (size_t)p->chunk_remaining;
            /* Decode in place: the body ends up contiguous after the head. */
            if (w != r) memmove(buf + w, buf + r, n);
            w += n;
            r += n;
            p->chunk_remaining -= n;
            if (p->chunk_remaining == 0) p->chunk_state = CH_DATA_END;
            break;
        }
        case CH_DATA_END:
            r++;
            if (c == '\r')
                p->chunk_state = CH_DATA_LF;
            else if (c == '\n')
                p->chunk_state = CH_SIZE_START;
            else
                verdict = BAD;
            break;
        case CH_DATA_LF:
            r++;
            if (c == '\n')
                p->chunk_state = CH_SIZE_START;
            else
                verdict = BAD;
            break;
        case CH_TRAILER: {
            /* The trailer section (incl. its final empty line) must fit in
             * max_header_bytes: search only that window, like the head. */
            size_t budget = p->limits.max_header_bytes - p->trailer_bytes;
            size_t window_end = r + budget;
            size_t end = len < window_end ? len : window_end;
            size_t from = r + p->chunk_aux;
            const char *lf = from < end ? memchr(buf + from, '\n', end - from) : NULL;
            if (!lf) {
                /* remember the scan; read_pos stays at the line's start */
                p->chunk_aux = end - r;
                if (len >= window_end) verdict = CC_PARSE_HEADERS_TOO_LARGE;
                goto out;
            }
            size_t i = (size_t)(lf - buf), e = i;
            if (e > r && buf[e - 1] == '\r') e--;
            if (e == r) {
                /* the final CRLF: done */
                p->chunk_read_pos = i + 1;
                p->chunk_write_pos = w;
                return (int64_t)(i + 1);
            }
            cc_header scratch;
            if (cc__parse_field_line(buf, r, e, &scratch)) {
                verdict = BAD;
                break;
            }
            p->trailer_bytes += i + 1 - r;
            p->chunk_aux = 0;
            r = i + 1;
            break;
        }
        }
    }
out:
#undef SIZE_LINE_DONE
    p->chunk_read_pos = r;
    p->chunk_write_pos = w;
    return verdict;
}

size_t cc__parser_compact(cc_parser *p, char *buf, size_t len) {
    if ((p->flags & (CC_PF_HEAD_DONE | CC_PF_CHUNKED | CC_PF_DONE)) != (CC_PF_HEAD_DONE | CC_PF_CHUNKED)) return len;
    size_t r = p->chunk_read_pos, w = p->chunk_write_pos;
    if (r <= w || r > len) return len;
    memmove(buf + w, buf + r, len - r);
    p->chunk_read_pos = w;
    return len - (r - w);
}
