#include "ctlsshim.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

SSL_CTX *ctls_client_context(const unsigned char *alpn, unsigned alpn_len, int insecure, const char *ca_file, char *err,
                             size_t err_len) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, err_len, "SSL_CTX_new failed");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx,
                     SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    if (alpn_len > 0 && SSL_CTX_set_alpn_protos(ctx, alpn, alpn_len) != 0) {
        snprintf(err, err_len, "cannot set ALPN");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            snprintf(err, err_len, "cannot load CA certificates%s%s", ca_file ? " from " : "", ca_file ? ca_file : "");
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    return ctx;
}

SSL *ctls_client_connection(SSL_CTX *ctx, int fd, const char *server_name, int verify_host) {
    SSL *ssl = SSL_new(ctx);
    if (!ssl) return NULL;
    SSL_set_fd(ssl, fd);
    SSL_set_connect_state(ssl);
    unsigned char addr[16];
    int numeric = inet_pton(AF_INET, server_name, addr) == 1 || inet_pton(AF_INET6, server_name, addr) == 1;
    /* RFC 6066 §3: literal IP addresses are not sent as SNI. */
    if (!numeric) SSL_set_tlsext_host_name(ssl, server_name);
    if (verify_host) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        if (numeric) {
            X509_VERIFY_PARAM_set1_ip_asc(param, server_name);
        } else {
            X509_VERIFY_PARAM_set1_host(param, server_name, 0);
        }
    }
    return ssl;
}

void ctls_alpn_selected(const SSL *ssl, char *out, size_t out_len) {
    const unsigned char *proto = NULL;
    unsigned len = 0;
    SSL_get0_alpn_selected(ssl, &proto, &len);
    if (len >= out_len) len = (unsigned)out_len - 1;
    if (proto) memcpy(out, proto, len);
    out[len] = 0;
}

void ctls_last_error(const SSL *ssl, char *out, size_t out_len) {
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    unsigned long e = ERR_get_error();
    if (verify != X509_V_OK) {
        snprintf(out, out_len, "certificate verification failed: %s (pass --insecure for a self-signed certificate)",
                 X509_verify_cert_error_string(verify));
    } else if (e) {
        ERR_error_string_n(e, out, out_len);
    } else {
        snprintf(out, out_len, "TLS error");
    }
    ERR_clear_error();
}
