/*
 * TLS for the threaded stack's blocking sockets (see the header for the
 * threading and blocking contract).
 *
 * Each session talks to its socket through a small BIO of ours instead of
 * OpenSSL's socket BIO, for two reasons: OpenSSL's writes with write(), and a
 * write to a peer that went away raises SIGPIPE; and reads must not wait on
 * a blocking socket (MSG_DONTWAIT per call), or one slow client would hold a
 * worker thread for its whole timeout.
 *
 * read_ahead stays off, so OpenSSL takes from the socket only the record it
 * is reading: a later record stays in the kernel, where the poller sees it.
 * What OpenSSL can hold back is the rest of a record the caller read only
 * part of -- ctlss_pending says so, and the caller must not park then.
 */
#define _GNU_SOURCE
#include "ctlsservershim.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

struct ctlss_context {
    SSL_CTX *ctx;
    BIO_METHOD *bio;
};

struct ctlss_session {
    SSL *ssl;
    int fd;
    /* MSG_DONTWAIT while a write must not block; 0 otherwise. */
    int send_flags;
    bool established;
    bool failed;
    bool notified;
};

/* "what: OpenSSL's reason" into err; the thread's error queue emptied. */
static void context_error(char *err, size_t err_len, const char *what) {
    unsigned long e = ERR_peek_last_error();
    if (err && err_len) {
        char reason[256] = "";
        if (e) ERR_error_string_n(e, reason, sizeof reason);
        snprintf(err, err_len, "%s%s%s", what, e ? ": " : "", reason);
    }
    ERR_clear_error();
}

/* ------------------------------------------------------------------ */
/* The socket BIO; its data is the session.                             */
/* ------------------------------------------------------------------ */

static int bio_write(BIO *b, const char *data, int len) {
    ctlss_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do { n = send(s->fd, data, (size_t)len, MSG_NOSIGNAL | s->send_flags); } while (n < 0 && errno == EINTR);
    /* EAGAIN: a non-blocking attempt found the socket full, or SO_SNDTIMEO ran out. */
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *out, int len) {
    ctlss_session *s = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do { n = recv(s->fd, out, (size_t)len, MSG_DONTWAIT); } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b;
    (void)num;
    (void)ptr;
    /* Writes go straight to the socket, so a flush has nothing to do; every
     * other control (kTLS, peeking) is "not supported". */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b) {
    (void)b; /* the session and the fd belong to the caller */
    return 1;
}

/* ------------------------------------------------------------------ */
/* Context                                                              */
/* ------------------------------------------------------------------ */

/*
 * RFC 7301 §3.2: the server picks one of the client's protocols; when it
 * supports none of them it "SHALL respond with a fatal
 * no_application_protocol alert". This design speaks HTTP/1.1 only, so a
 * client offering h2 alone is refused rather than handed a protocol it did
 * not ask for. A client sending no ALPN never gets here and speaks HTTP/1.1.
 *
 *     ProtocolName protocol_name_list<2..2^16-1>;  opaque ProtocolName<1..2^8-1>;
 */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    static const unsigned char http11[] = "http/1.1";
    const size_t http11_len = sizeof http11 - 1;
    unsigned int i = 0;
    while (i < inlen) {
        unsigned int len = in[i];
        if (len == 0 || i + 1 + len > inlen) break; /* malformed: OpenSSL has checked, be safe anyway */
        if (len == http11_len && memcmp(in + i + 1, http11, http11_len) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)len;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + len;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* The leaf certificate, then its chain (issuer first), then the key. */
static bool load_identity(SSL_CTX *ctx, const char *chain_pem, const char *key_pem, char *err, size_t err_len) {
    BIO *b = BIO_new_mem_buf(chain_pem, -1);
    X509 *leaf = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
    if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
        X509_free(leaf);
        BIO_free(b);
        context_error(err, err_len, "the TLS certificate chain holds no usable PEM certificate");
        return false;
    }
    X509_free(leaf);
    X509 *ca;
    while ((ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) { /* takes ca on success */
            X509_free(ca);
            BIO_free(b);
            context_error(err, err_len, "cannot add a certificate of the TLS chain");
            return false;
        }
    }
    BIO_free(b);
    ERR_clear_error(); /* the end of the text reads as "no start line" */

    b = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!key) {
        context_error(err, err_len, "the TLS private key is not a usable PEM private key");
        return false;
    }
    int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        context_error(err, err_len, "the TLS private key does not belong to the certificate");
        return false;
    }
    return true;
}

ctlss_context *ctlss_context_new(const char *chain_pem, const char *key_pem, char *err, size_t err_len) {
    if (err && err_len) err[0] = 0;
    if (!chain_pem || !key_pem) {
        if (err && err_len) snprintf(err, err_len, "TLS needs a certificate chain and its private key");
        return NULL;
    }
    ctlss_context *c = calloc(1, sizeof *c);
    if (!c) {
        if (err && err_len) snprintf(err, err_len, "out of memory");
        return NULL;
    }
    c->ctx = SSL_CTX_new(TLS_server_method());
    if (!c->ctx) {
        context_error(err, err_len, "cannot create the TLS context");
        ctlss_context_free(c);
        return NULL;
    }
    SSL_CTX *ctx = c->ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    /*
     * No renegotiation (a client could make a write wait for a read, and ask
     * for handshakes at will); our cipher order; and an EOF without
     * close_notify read as an ordinary EOF: HTTP's framing, not TLS's close,
     * says whether a message is whole.
     */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Resumption by stateless tickets only: the session cache is a lock
     * every worker would take on each full handshake. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* The ccore stack's TLS 1.2 suites (forward secrecy, AEAD), so the two
     * are compared on equal ciphers; TLS 1.3's suites are all AEAD. */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        context_error(err, err_len, "cannot set the TLS 1.2 ciphers");
        ctlss_context_free(c);
        return NULL;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (!load_identity(ctx, chain_pem, key_pem, err, err_len)) {
        ctlss_context_free(c);
        return NULL;
    }
    c->bio = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "threaded socket");
    if (!c->bio || !BIO_meth_set_write(c->bio, bio_write) || !BIO_meth_set_read(c->bio, bio_read) ||
        !BIO_meth_set_ctrl(c->bio, bio_ctrl) || !BIO_meth_set_create(c->bio, bio_create) ||
        !BIO_meth_set_destroy(c->bio, bio_destroy)) {
        context_error(err, err_len, "cannot create the socket BIO");
        ctlss_context_free(c);
        return NULL;
    }
    return c;
}

void ctlss_context_free(ctlss_context *c) {
    if (!c) return;
    SSL_CTX_free(c->ctx);
    BIO_meth_free(c->bio);
    free(c);
}

/* ------------------------------------------------------------------ */
/* Sessions                                                             */
/* ------------------------------------------------------------------ */

ctlss_session *ctlss_session_new(ctlss_context *c, int fd) {
    ctlss_session *s = calloc(1, sizeof *s);
    SSL *ssl = s ? SSL_new(c->ctx) : NULL;
    BIO *b = ssl ? BIO_new(c->bio) : NULL;
    if (!b) {
        SSL_free(ssl);
        free(s);
        ERR_clear_error();
        return NULL;
    }
    s->ssl = ssl;
    s->fd = fd;
    BIO_set_data(b, s);
    SSL_set_bio(ssl, b, b); /* one reference, owned by ssl from here */
    SSL_set_accept_state(ssl);
    return s;
}

void ctlss_session_free(ctlss_session *s) {
    if (!s) return;
    SSL_free(s->ssl); /* frees the BIO too */
    free(s);
}

/* The status for a failed SSL call; the error queue emptied, since
 * SSL_get_error reads it and the next connection on this thread must not. */
static ctlss_status failure(ctlss_session *s, int r) {
    int e = SSL_get_error(s->ssl, r);
    ctlss_status status;
    if (e == SSL_ERROR_WANT_READ) {
        status = CTLSS_AGAIN;
    } else if (e == SSL_ERROR_ZERO_RETURN) {
        status = CTLSS_CLOSED;
    } else {
        /* WANT_WRITE on a blocking socket is a send timeout; the rest are
         * fatal, after which OpenSSL forbids even SSL_shutdown. */
        s->failed = true;
        status = CTLSS_FAILED;
    }
    ERR_clear_error();
    return status;
}

ctlss_status ctlss_handshake(ctlss_session *s) {
    if (s->established) return CTLSS_OK;
    if (s->failed) return CTLSS_FAILED;
    s->send_flags = 0;
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
        s->established = true;
        return CTLSS_OK;
    }
    ctlss_status status = failure(s, r);
    /* An EOF in the middle of the handshake is a failed handshake. */
    if (status == CTLSS_CLOSED) s->failed = true;
    return status == CTLSS_CLOSED ? CTLSS_FAILED : status;
}

int ctlss_established(const ctlss_session *s) { return s->established; }

ctlss_status ctlss_read(ctlss_session *s, void *buf, size_t len, size_t *got) {
    *got = 0;
    if (s->failed) return CTLSS_FAILED;
    s->send_flags = 0;
    int r = SSL_read_ex(s->ssl, buf, len, got);
    return r == 1 ? CTLSS_OK : failure(s, r);
}

ctlss_status ctlss_write(ctlss_session *s, const void *buf, size_t len, int wait) {
    if (s->failed || !s->established) return CTLSS_FAILED;
    if (len == 0) return CTLSS_OK;
    s->send_flags = wait ? 0 : MSG_DONTWAIT;
    size_t sent = 0;
    int r = SSL_write_ex(s->ssl, buf, len, &sent);
    s->send_flags = 0;
    if (r == 1) return CTLSS_OK;
    /* A write that did not finish leaves the TLS stream mid-record: the
     * connection cannot be used again. */
    failure(s, r);
    s->failed = true;
    return CTLSS_FAILED;
}

size_t ctlss_pending(const ctlss_session *s) {
    int n = SSL_pending(s->ssl);
    return n > 0 ? (size_t)n : 0;
}

int ctlss_has_partial_record(const ctlss_session *s) { return SSL_has_pending(s->ssl) && SSL_pending(s->ssl) <= 0; }

void ctlss_close_notify(ctlss_session *s) {
    if (!s->established || s->failed || s->notified) return;
    s->notified = true;
    /* One attempt: 0 (ours sent, the peer's not yet seen) is all a closing
     * server wants; a full socket loses the alert, as any close would. */
    s->send_flags = MSG_DONTWAIT;
    if (SSL_shutdown(s->ssl) < 0) ERR_clear_error();
    s->send_flags = 0;
}
