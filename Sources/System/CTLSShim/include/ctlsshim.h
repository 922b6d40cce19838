/* OpenSSL calls that are macros (and so invisible to Swift), wrapped as
 * functions, plus error text. */
#ifndef CTLSSHIM_H
#define CTLSSHIM_H

#include <stddef.h>
#include <openssl/ssl.h>

/* A client context: TLS 1.2 or later, ALPN offering `alpn` (wire format:
 * length-prefixed names), peer verification against the system's CAs (or
 * `ca_file`) unless `insecure`. NULL on failure, with a message in err. */
SSL_CTX *ctls_client_context(const unsigned char *alpn, unsigned alpn_len, int insecure, const char *ca_file, char *err,
                             size_t err_len);
/* A client connection on a connected non-blocking socket, with SNI and the
 * host name to verify (skipped for numeric addresses' SNI). */
SSL *ctls_client_connection(SSL_CTX *ctx, int fd, const char *server_name, int verify_host);
/* The protocol ALPN chose ("" when none), copied into out. */
void ctls_alpn_selected(const SSL *ssl, char *out, size_t out_len);
/* The last OpenSSL error (or the verify result) as text. */
void ctls_last_error(const SSL *ssl, char *out, size_t out_len);

#endif
