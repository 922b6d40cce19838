/*
 * A self-signed certificate for local TLS runs, made by the harness (not by a
 * stack under test): an EC P-256 key, an X.509 v3 certificate valid from an
 * hour ago for 365 days, subject and issuer CN=common_name (NULL or "" =
 * "localhost"), subjectAltName DNS:localhost, IP:127.0.0.1, IP:::1 and the
 * common name (as an IP address when it parses as one, else as a DNS name),
 * extendedKeyUsage serverAuth. On success returns 0 with *cert_pem and
 * *key_pem set to NUL-terminated PEM text (the key unencrypted PKCS#8) that
 * the caller releases with cs_free; else -1 with a message in err and both
 * set to NULL.
 */
#ifndef CSELFSIGNED_H
#define CSELFSIGNED_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int cs_make_self_signed(const char *common_name, char **cert_pem, char **key_pem, char *err, size_t err_len);
/* Frees what cs_make_self_signed returned. */
void cs_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
