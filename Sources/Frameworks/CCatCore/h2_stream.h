/*
 * The state of an HTTP/2 connection and of its streams, shared by the
 * HTTP/2 files only: h2.c (the session, its callbacks, the stream pool) and
 * h2_response.c (answering a stream).
 */
#ifndef CCATCORE_H2_STREAM_H
#define CCATCORE_H2_STREAM_H

#include "core_internal.h"

struct cc_h2_stream {
    cc_h2_stream *next, *prev; /* the connection's streams; the loop's pool through next */
    int32_t id;
    uint16_t error;        /* status the core answers instead of routing (413, 431, 503); 0 if none */
    bool complete;         /* END_STREAM received: the whole request is here */
    bool answered;         /* a response was submitted, deferred, or the stream was given up */
    cc_deferred *deferred; /* the handler deferred: the answer comes later (defer.c) */
    bool has_method, has_path, has_authority, has_host, expect_continue;
    uint32_t head_bytes; /* field bytes counted against max_header_bytes */
    uint32_t method_at, method_len, path_at, path_len, authority_at, authority_len;
    int64_t content_length; /* -1 when absent */
    uint32_t nhdr;
    struct {
        uint32_t at, name_len, value_len; /* name at hbuf + at, the value right after it */
    } hdr[CC_MAX_HEADERS_CAP];
    /* buffers, kept across reuse */
    char *hbuf; /* field names and values */
    uint32_t hlen, hcap;
    char *body; /* request body */
    size_t blen, bcap;
    char *obuf; /* response body, until DATA frames have carried it */
    size_t olen, opos, ocap;
};

struct cc_h2 {
    nghttp2_session *session;
    cc_h2_stream *streams; /* every stream we hold state for */
    size_t buffered;       /* request body bytes held over all streams */
    cc_h2_guard guard;     /* the client's frame headers, read ahead of nghttp2 (h2_guard.c) */
};

#endif
