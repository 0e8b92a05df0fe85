#include "runway_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct runway_tls_context { SSL_CTX *ctx; };
struct runway_tls { SSL *ssl; };

static void describe(const char *what, char *error, size_t size) {
    unsigned long code = ERR_get_error();
    char reason[256] = "";
    if (code) ERR_error_string_n(code, reason, sizeof reason);
    snprintf(error, size, "%s%s%s", what, code ? ": " : "", reason);
    ERR_clear_error();
}

runway_tls_context *runway_tls_context_new(const char *ca_file, const char *ca_pem, char *error, size_t size) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) { describe("cannot make a TLS context", error, size); return NULL; }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);  // a close without close_notify ends the body
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int trusted = 0;
    if (ca_file) {
        trusted = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
        if (!trusted) { describe("cannot read the CA certificates", error, size); }
    } else if (ca_pem) {
        BIO *bio = BIO_new_mem_buf(ca_pem, -1);
        X509_STORE *store = SSL_CTX_get_cert_store(ctx);
        X509 *certificate;
        while (bio && (certificate = PEM_read_bio_X509(bio, NULL, NULL, NULL))) {
            trusted = X509_STORE_add_cert(store, certificate) || trusted;
            X509_free(certificate);
        }
        ERR_clear_error();  // the end of the PEM text reads as an error
        BIO_free(bio);
        if (!trusted) snprintf(error, size, "no CA certificate in the PEM text given");
    } else {
        trusted = SSL_CTX_set_default_verify_paths(ctx);
        if (!trusted) describe("cannot read the system's CA certificates", error, size);
    }
    if (!trusted) { SSL_CTX_free(ctx); return NULL; }
    runway_tls_context *context = malloc(sizeof *context);
    context->ctx = ctx;
    return context;
}

void runway_tls_context_free(runway_tls_context *context) {
    if (!context) return;
    SSL_CTX_free(context->ctx);
    free(context);
}

runway_tls *runway_tls_connect(runway_tls_context *context, int fd, const char *host, int *certificate_problem, char *error, size_t size) {
    *certificate_problem = 0;
    SSL *ssl = SSL_new(context->ctx);
    if (!ssl) { describe("cannot start TLS", error, size); return NULL; }
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, host);
    // The certificate must name the host: a DNS name, or an IP address for a literal address.
    X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
    if (!X509_VERIFY_PARAM_set1_ip_asc(param, host)) {
        ERR_clear_error();
        X509_VERIFY_PARAM_set1_host(param, host, 0);
    }
    if (SSL_connect(ssl) != 1) {
        long verified = SSL_get_verify_result(ssl);
        if (verified != X509_V_OK) {
            *certificate_problem = 1;
            snprintf(error, size, "the server's certificate is not trusted: %s", X509_verify_cert_error_string(verified));
            ERR_clear_error();
        } else {
            describe("the TLS handshake failed", error, size);
        }
        SSL_free(ssl);
        return NULL;
    }
    runway_tls *tls = malloc(sizeof *tls);
    tls->ssl = ssl;
    return tls;
}

long runway_tls_write(runway_tls *tls, const void *bytes, size_t count, char *error, size_t size) {
    size_t written = 0;
    while (written < count) {
        int n = SSL_write(tls->ssl, (const char *)bytes + written, (int)(count - written > 1 << 30 ? 1 << 30 : count - written));
        if (n <= 0) { describe("TLS write failed", error, size); return -1; }
        written += (size_t)n;
    }
    return (long)written;
}

long runway_tls_read(runway_tls *tls, void *bytes, size_t count, char *error, size_t size) {
    int n = SSL_read(tls->ssl, bytes, (int)(count > 1 << 30 ? 1 << 30 : count));
    if (n > 0) return n;
    int reason = SSL_get_error(tls->ssl, n);
    if (reason == SSL_ERROR_ZERO_RETURN) return 0;
    if (reason == SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        snprintf(error, size, "timed out");
        return -1;
    }
    describe("TLS read failed", error, size);
    return -1;
}

void runway_tls_free(runway_tls *tls) {
    if (!tls) return;
    SSL_shutdown(tls->ssl);
    SSL_free(tls->ssl);
    free(tls);
}
