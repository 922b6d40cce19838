/*
 * The harness's self-signed certificate (see cselfsigned.h): catbench makes
 * the certificate a TLS run serves, so no stack under test makes its own.
 */
#include "cselfsigned.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* "what: OpenSSL's reason" into err, and the thread's error queue emptied. */
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

static bool add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value) {
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (!ext) return false;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1;
}

static bool add_dns(GENERAL_NAMES *gens, const char *name) {
    GENERAL_NAME *g = GENERAL_NAME_new();
    ASN1_IA5STRING *s = ASN1_IA5STRING_new();
    if (!g || !s || !ASN1_STRING_set(s, name, (int)strlen(name))) {
        GENERAL_NAME_free(g);
        ASN1_IA5STRING_free(s);
        return false;
    }
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    if (!sk_GENERAL_NAME_push(gens, g)) {
        GENERAL_NAME_free(g);
        return false;
    }
    return true;
}

static bool add_ip(GENERAL_NAMES *gens, const char *text) {
    ASN1_OCTET_STRING *ip = a2i_IPADDRESS(text);
    GENERAL_NAME *g = ip ? GENERAL_NAME_new() : NULL;
    if (!g) {
        ASN1_OCTET_STRING_free(ip);
        return false;
    }
    GENERAL_NAME_set0_value(g, GEN_IPADD, ip);
    if (!sk_GENERAL_NAME_push(gens, g)) {
        GENERAL_NAME_free(g);
        return false;
    }
    return true;
}

static bool is_ip(const char *s) {
    unsigned char a[16];
    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* The PEM text a writer produced, as a malloc'd NUL-terminated string. */
static char *bio_string(BIO *b) {
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    if (n <= 0) return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out) return NULL;
    memcpy(out, data, (size_t)n);
    out[n] = 0;
    return out;
}

int cs_make_self_signed(const char *common_name, char **cert_pem, char **key_pem, char *err, size_t err_len) {
    if (cert_pem) *cert_pem = NULL;
    if (key_pem) *key_pem = NULL;
    if (err && err_len) err[0] = 0;
    if (!cert_pem || !key_pem) {
        if (err && err_len) snprintf(err, err_len, "cs_make_self_signed needs cert_pem and key_pem");
        return -1;
    }
    const char *cn = common_name && common_name[0] ? common_name : "localhost";
    /* RFC 5280 Appendix A: ub-common-name 64. Printable ASCII only, so it can
     * also serve as a DNS name in subjectAltName. */
    size_t cn_len = strlen(cn);
    bool cn_ok = cn_len <= 64;
    for (size_t i = 0; cn_ok && i < cn_len; i++) cn_ok = cn[i] > 0x20 && cn[i] < 0x7f;
    if (!cn_ok) {
        if (err && err_len) snprintf(err, err_len, "common name: 1 to 64 printable ASCII characters without spaces");
        return -1;
    }

    int rc = -1;
    EVP_PKEY *key = NULL;
    X509 *x = NULL;
    BIGNUM *serial = NULL;
    GENERAL_NAMES *gens = NULL;
    BIO *cb = NULL, *kb = NULL;
    const char *what = "cannot generate the key";

    key = EVP_EC_gen("P-256");
    if (!key) goto done;
    what = "cannot build the certificate";
    x = X509_new();
    if (!x || !X509_set_version(x, 2)) goto done; /* 2 = X.509 v3 */
    /* RFC 5280 §4.1.2.2: a positive serial of at most 20 octets, unique per
     * issuer -- 126 random bits make a collision a non-issue. The top bit
     * clear keeps it positive, the next one set keeps it 16 octets long. */
    unsigned char rnd[16];
    if (RAND_bytes(rnd, sizeof rnd) != 1) goto done;
    rnd[0] = (unsigned char)((rnd[0] & 0x3f) | 0x40);
    serial = BN_bin2bn(rnd, sizeof rnd, NULL);
    if (!serial || !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x))) goto done;
    /* Valid from an hour ago (clock skew between machines) for a year. */
    if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) || !X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600))
        goto done;
    if (!X509_set_pubkey(x, key)) goto done;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
        !X509_set_issuer_name(x, name))
        goto done;

    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    /* An end-entity certificate for TLS servers. No keyUsage extension: a
     * self-signed leaf with keyUsage lacking keyCertSign cannot vouch for
     * itself in OpenSSL's chain building, and keyCertSign on a non-CA would
     * contradict RFC 5280 §4.2.1.3. */
    if (!add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") ||
        !add_ext(x, &v3, NID_ext_key_usage, "serverAuth") || !add_ext(x, &v3, NID_subject_key_identifier, "hash"))
        goto done;
    /* Built name by name rather than from a config string, so the common
     * name cannot smuggle in more entries with a comma. */
    gens = sk_GENERAL_NAME_new_null();
    if (!gens || !add_dns(gens, "localhost") || !add_ip(gens, "127.0.0.1") || !add_ip(gens, "::1")) goto done;
    if (strcmp(cn, "localhost") != 0 && strcmp(cn, "127.0.0.1") != 0 && strcmp(cn, "::1") != 0 &&
        !(is_ip(cn) ? add_ip(gens, cn) : add_dns(gens, cn)))
        goto done;
    if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) goto done;
    if (!X509_sign(x, key, EVP_sha256())) goto done;

    what = "cannot write the PEM text";
    cb = BIO_new(BIO_s_mem());
    kb = BIO_new(BIO_s_mem());
    if (!cb || !kb || !PEM_write_bio_X509(cb, x) || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
        goto done;
    *cert_pem = bio_string(cb);
    *key_pem = bio_string(kb);
    if (!*cert_pem || !*key_pem) {
        free(*cert_pem);
        free(*key_pem);
        *cert_pem = *key_pem = NULL;
        goto done;
    }
    rc = 0;

done:
    if (rc != 0) ssl_error(err, err_len, what);
    BIO_free(cb);
    BIO_free(kb);
    GENERAL_NAMES_free(gens);
    BN_free(serial);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

void cs_free(void *p) { free(p); }
