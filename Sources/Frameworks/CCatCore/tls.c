/*
 * TLS with OpenSSL: the server's SSL_CTX, one SSL object per connection over
 * our own socket BIO, the non-blocking handshake with ALPN, record I/O for
 * connection.c.
 *
 * One SSL_CTX serves every loop (SSL_new on it is thread-safe). Each
 * connection's SSL reads and writes the socket through a tiny BIO of ours
 * rather than OpenSSL's socket BIO, for one reason: OpenSSL's uses write(),
 * and a write to a peer that went away raises SIGPIPE, which would kill the
 * process; ours uses send(..., MSG_NOSIGNAL) like the cleartext path.
 *
 * The loop stays edge-triggered: SSL_ERROR_WANT_READ / WANT_WRITE mean the
 * socket returned EAGAIN, and the connection waits for the next edge exactly
 * as it does for a plain EAGAIN. SSL_read returns one record at a time and
 * may hold decrypted bytes back, so "a short read means drained" does not
 * hold here: cc__tls_read keeps calling SSL_read until OpenSSL itself says
 * it needs the socket (WANT_READ), which is the true "drained".
 */
#define _GNU_SOURCE
#include "core_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* ------------------------------------------------------------------ */
/* Errors                                                               */
/* ------------------------------------------------------------------ */

/* "what: OpenSSL's reason" into err, and the thread's error queue emptied
 * (SSL_get_error needs it empty before the next I/O call). */
static void ssl_error(char *err, size_t err_len, const char *what) {
    unsigned long e = ERR_peek_last_error();
    if (err && err_len) {
        if (e) {
            char reason[256];
            ERR_error_string_n(e, reason, sizeof reason);
            snprintf(err, err_len, "%s: %s", what, reason);
        } else {
            snprintf(err, err_len, "%s", what);
        }
    }
    ERR_clear_error();
}

/* ------------------------------------------------------------------ */
/* The socket BIO                                                       */
/* ------------------------------------------------------------------ */

/* The fd lives in the BIO's data pointer. */
static int bio_fd(BIO *b) { return (int)(intptr_t)BIO_get_data(b); }

static int bio_write(BIO *b, const char *data, int len) {
    BIO_clear_retry_flags(b);
    ssize_t n;
    do { n = send(bio_fd(b), data, (size_t)len, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
    return (int)n;
}

static int bio_read(BIO *b, char *out, int len) {
    BIO_clear_retry_flags(b);
    ssize_t n;
    do { n = recv(bio_fd(b), out, (size_t)len, 0); } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b;
    (void)num;
    (void)ptr;
    /* Writes go straight to the socket: nothing to flush. Everything else
     * (kTLS, peeking, DGRAM controls) is unsupported, which OpenSSL takes as
     * "not available". */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b) {
    (void)b; /* the connection closes its fd itself */
    return 1;
}

/* ------------------------------------------------------------------ */
/* Context                                                              */
/* ------------------------------------------------------------------ */

/*
 * RFC 7301 §3.2: the server selects one of the client's protocols, or
 * answers no_application_protocol. We prefer h2, then http/1.1; a client
 * offering neither gets no ALPN (not a fatal alert) and HTTP/1.1.
 */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg) {
    (void)ssl;
    (void)arg;
    /* protocol-name-list: length-prefixed names, in our order of preference */
    static const unsigned char ours[] = "\x02h2\x08http/1.1";
    unsigned char *sel = NULL;
    /* SSL_select_next_proto walks its first list and takes the first name
     * the second also has: our preference wins. */
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static bool load_pem(SSL_CTX *ctx, const char *cert_pem, const char *key_pem, char *err, size_t err_len) {
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *leaf = b ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
    if (!leaf || SSL_CTX_use_certificate(ctx, leaf) != 1) {
        X509_free(leaf);
        BIO_free(b);
        ssl_error(err, err_len, "tls_cert_pem holds no usable PEM certificate");
        return false;
    }
    X509_free(leaf);
    /* The rest of the PEM text is the chain, leaf's issuer first. */
    for (;;) {
        X509 *ca = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!ca) break;
        if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
            X509_free(ca);
            BIO_free(b);
            ssl_error(err, err_len, "cannot add a chain certificate");
            return false;
        }
    }
    ERR_clear_error(); /* the end of the PEM text reads as "no start line" */
    BIO_free(b);

    b = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!key) {
        ssl_error(err, err_len, "tls_key_pem holds no usable PEM private key");
        return false;
    }
    /* This also checks the key against the certificate. */
    int ok = SSL_CTX_use_PrivateKey(ctx, key);
    EVP_PKEY_free(key);
    if (ok != 1) {
        ssl_error(err, err_len, "the TLS private key does not match the certificate");
        return false;
    }
    return true;
}

static bool load_files(SSL_CTX *ctx, const char *cert_file, const char *key_file, char *err, size_t err_len) {
    char what[512];
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        snprintf(what, sizeof what, "cannot load the certificate chain from %s", cert_file);
        ssl_error(err, err_len, what);
        return false;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        /* unreadable, not a key, or not the certificate's key */
        snprintf(what, sizeof what, "cannot use the private key from %s", key_file);
        ssl_error(err, err_len, what);
        return false;
    }
    return true;
}

bool cc__tls_setup(cc_server *s, const cc_server_config *cfg, char *err, size_t err_len) {
    bool pem = cfg->tls_cert_pem || cfg->tls_key_pem, file = cfg->tls_cert_file || cfg->tls_key_file;
    if (!pem && !file) return true; /* cleartext */
    if (pem && file) {
        if (err && err_len)
            snprintf(err, err_len, "give the TLS certificate and key as PEM text or as files, not both");
        return false;
    }
    if (pem ? !(cfg->tls_cert_pem && cfg->tls_key_pem) : !(cfg->tls_cert_file && cfg->tls_key_file)) {
        if (err && err_len) snprintf(err, err_len, "TLS needs both a certificate and its private key");
        return false;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_error(err, err_len, "cannot create the TLS context");
        return false;
    }
    s->tls_ctx = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    /*
     * No renegotiation (a TLS 1.2 client could otherwise make SSL_write wait
     * for a read and cost us handshakes at will); our cipher order; an EOF
     * without close_notify is an ordinary EOF -- HTTP framing, not the TLS
     * close, tells us whether a message is complete.
     */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    /*
     * The output buffer is written from its unsent offset and may move
     * (realloc) or grow between a WANT_WRITE and the retry: the retry always
     * passes the same bytes first and at least as many, which is what these
     * two modes allow.
     */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* Resumption through stateless tickets only: the server-side session
     * cache is one lock all loops would take on every full handshake. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /*
     * RFC 9113 §9.2.2: HTTP/2 over TLS 1.2 needs an ephemeral key exchange
     * and an AEAD cipher; these are those (TLS 1.3 suites are all AEAD).
     */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                     "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                     "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        ssl_error(err, err_len, "cannot set the TLS 1.2 ciphers");
        return false;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    if (!(pem ? load_pem(ctx, cfg->tls_cert_pem, cfg->tls_key_pem, err, err_len)
              : load_files(ctx, cfg->tls_cert_file, cfg->tls_key_file, err, err_len)))
        return false;
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_error(err, err_len, "the TLS private key does not match the certificate");
        return false;
    }

    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ccatcore socket");
    if (!m || !BIO_meth_set_write(m, bio_write) || !BIO_meth_set_read(m, bio_read) || !BIO_meth_set_ctrl(m, bio_ctrl) ||
        !BIO_meth_set_create(m, bio_create) || !BIO_meth_set_destroy(m, bio_destroy)) {
        BIO_meth_free(m);
        ssl_error(err, err_len, "cannot create the socket BIO");
        return false;
    }
    s->tls_bio = m;
    return true;
}

void cc__tls_teardown(cc_server *s) {
    SSL_CTX_free(s->tls_ctx);
    s->tls_ctx = NULL;
    BIO_meth_free(s->tls_bio);
    s->tls_bio = NULL;
}

/* ------------------------------------------------------------------ */
/* Connections                                                          */
/* ------------------------------------------------------------------ */

bool cc__tls_attach(cc_conn *c) {
    const cc_server *s = c->loop->server;
    SSL *ssl = SSL_new(s->tls_ctx);
    BIO *b = ssl ? BIO_new(s->tls_bio) : NULL;
    if (!b) {
        SSL_free(ssl);
        ERR_clear_error();
        return false;
    }
    BIO_set_data(b, (void *)(intptr_t)c->fd);
    SSL_set_bio(ssl, b, b); /* one reference, owned by ssl from here */
    SSL_set_accept_state(ssl);
    c->ssl = ssl;
    c->tls_handshaking = true;
    return true;
}

int cc__tls_handshake(cc_conn *c) {
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->tls_handshaking = false;
        const unsigned char *p = NULL;
        unsigned len = 0;
        SSL_get0_alpn_selected(c->ssl, &p, &len);
        c->proto = (len == 2 && memcmp(p, "h2", 2) == 0) ? CC_PROTO_H2 : CC_PROTO_H1;
        c->last_io_ms = c->loop->now_ms;
        /* The client's first request may have come with its Finished and
         * sit decrypted-to-be in OpenSSL's buffer: no edge will announce it. */
        c->readable = true;
        return 1;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    /* Not TLS (a plain-text request, a scanner) or a failed negotiation.
     * No alert worth waiting for: the caller closes. */
    c->tls_fatal = true;
    ERR_clear_error();
    return -1;
}

int cc__tls_read(cc_conn *c, char *buf, size_t len, size_t *got) {
    size_t total = 0;
    int status = CC_TLS_OK;
    while (total < len) {
        size_t n = 0;
        int r = SSL_read_ex(c->ssl, buf + total, len - total, &n);
        if (r == 1) {
            total += n;
            continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
            status = CC_TLS_AGAIN;
        } else if (e == SSL_ERROR_WANT_WRITE) {
            /* A TLS 1.3 KeyUpdate answer (or similar) is stuck behind a
             * full socket: retry the read once it is writable. */
            c->tls_read_wants_write = true;
            status = CC_TLS_AGAIN;
        } else if (e == SSL_ERROR_ZERO_RETURN) {
            /* close_notify, or a bare EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
            status = CC_TLS_EOF;
        } else {
            c->tls_fatal = true;
            ERR_clear_error();
            status = CC_TLS_ERROR;
        }
        break;
    }
    *got = total;
    return status;
}

int cc__tls_write(cc_conn *c, const char *buf, size_t len, size_t *sent) {
    *sent = 0;
    int r = SSL_write_ex(c->ssl, buf, len, sent);
    if (r == 1) return CC_TLS_OK;
    int e = SSL_get_error(c->ssl, r);
    /* WANT_READ cannot come from renegotiation (disabled); treat it like
     * WANT_WRITE: every edge retries the flush. */
    if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return CC_TLS_AGAIN;
    c->tls_fatal = true;
    ERR_clear_error();
    return CC_TLS_ERROR;
}

void cc__tls_notify(cc_conn *c) {
    if (!c->ssl || c->tls_notified || c->tls_fatal || c->tls_handshaking || c->fd < 0) return;
    c->tls_notified = true;
    /* One attempt: 0 (sent, the peer's not yet seen) is all we want; if the
     * socket is full the alert is simply lost, as with any close. */
    if (SSL_shutdown(c->ssl) < 0) ERR_clear_error();
}

void cc__tls_free(cc_conn *c) {
    SSL_free(c->ssl); /* frees the BIO too */
    c->ssl = NULL;
}
