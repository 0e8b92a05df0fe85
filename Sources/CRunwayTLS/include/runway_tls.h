// TLS for the runner's HTTP client (RunwayWire), over the system's OpenSSL: a context with the
// trusted CAs, and a blocking connection on a connected socket with the server's name checked.
// Each call returns 1 on success, 0 on failure with a message in `error`.
#ifndef RUNWAY_TLS_H
#define RUNWAY_TLS_H

#include <stddef.h>

typedef struct runway_tls_context runway_tls_context;
typedef struct runway_tls runway_tls;

/// A client context (TLS 1.2 or newer) trusting `ca_file`, else the PEM text `ca_pem`, else the
/// system's store. NULL on failure.
runway_tls_context *runway_tls_context_new(const char *ca_file, const char *ca_pem, char *error, size_t error_size);
void runway_tls_context_free(runway_tls_context *context);

/// The handshake on `fd` (connected, blocking; its timeouts bound each step), sending `host` as
/// SNI and checking the certificate names it. NULL on failure; `*certificate_problem` is set when
/// the server's certificate was not trusted.
runway_tls *runway_tls_connect(runway_tls_context *context, int fd, const char *host, int *certificate_problem, char *error, size_t error_size);
/// Bytes written (all of them), or -1.
long runway_tls_write(runway_tls *tls, const void *bytes, size_t count, char *error, size_t error_size);
/// Bytes read, 0 at the end of the stream, or -1.
long runway_tls_read(runway_tls *tls, void *bytes, size_t count, char *error, size_t error_size);
void runway_tls_free(runway_tls *tls);

#endif
