/*
 * The threaded stack's server side of TLS over OpenSSL: one context per
 * listener, one session per connection on a blocking socket.
 *
 * Threading: a context is shared by every thread (SSL_new on it is safe); a
 * session is used by one thread at a time -- whichever thread owns its
 * connection (a worker while serving it, the acceptor while it is parked).
 *
 * Blocking: the socket stays blocking, as in a sync server, and writes block
 * (bounded by the socket's SO_SNDTIMEO). Reads never wait: the poller waits
 * for readability, and a record, a handshake message or a request that is
 * not all there yet parks the connection instead of holding a worker.
 */
#ifndef CTLSSERVERSHIM_H
#define CTLSSERVERSHIM_H

#include <stddef.h>

typedef struct ctlss_context ctlss_context;
typedef struct ctlss_session ctlss_session;

typedef enum ctlss_status {
    CTLSS_OK = 0,
    /* The socket has no more bytes for now: wait for it to become readable. */
    CTLSS_AGAIN = 1,
    /* The peer closed: close_notify, or a bare EOF. */
    CTLSS_CLOSED = 2,
    /* Not TLS, a failed negotiation, a reset, or a send that timed out. */
    CTLSS_FAILED = 3,
} ctlss_status;

/* A server context: TLS 1.2 or 1.3, ALPN "http/1.1" only, the leaf
 * certificate and the chain after it from `chain_pem`, the key from
 * `key_pem`. NULL on failure, with a message for the user in err. */
ctlss_context *ctlss_context_new(const char *chain_pem, const char *key_pem, char *err, size_t err_len);
void ctlss_context_free(ctlss_context *ctx);

/* A session on a connected socket, in the server role; NULL when out of
 * memory. The caller keeps owning (and closes) the fd. */
ctlss_session *ctlss_session_new(ctlss_context *ctx, int fd);
void ctlss_session_free(ctlss_session *s);

/* Advances the handshake with the bytes the socket has now: OK once it is
 * done, AGAIN while the client's next flight is not all there. */
ctlss_status ctlss_handshake(ctlss_session *s);
int ctlss_established(const ctlss_session *s);

/* Decrypted bytes into buf (at most len, at most one record): OK with *got
 * set, AGAIN, CLOSED or FAILED. */
ctlss_status ctlss_read(ctlss_session *s, void *buf, size_t len, size_t *got);

/* Writes all of buf: OK or FAILED. `wait` 0 makes one attempt that never
 * blocks (the acceptor's 408 to a parked connection). */
ctlss_status ctlss_write(ctlss_session *s, const void *buf, size_t len, int wait);

/* Decrypted bytes OpenSSL holds that no read has taken yet (SSL_pending).
 * The socket will not become readable for them. */
size_t ctlss_pending(const ctlss_session *s);

/* Whether OpenSSL holds bytes of a record it has not finished reading: the
 * client has started sending something. */
int ctlss_has_partial_record(const ctlss_session *s);

/* Sends close_notify once, without blocking; nothing after a failure or
 * before the handshake is done. */
void ctlss_close_notify(ctlss_session *s);

#endif
