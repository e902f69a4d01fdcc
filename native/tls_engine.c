/*
 * Gangway's synchronous TLS engine: OpenSSL driven over memory BIOs, as a Node-API addon.
 *
 * EAP carries TLS records, not a socket. One SSL_CTX is built per method configuration; each EAP
 * conversation gets one SSL whose network side is two memory BIOs. A call feeds the peer's records
 * in and returns at once with whatever OpenSSL produced: no streams, no event-loop turns.
 *
 * OpenSSL is the copy inside the node binary (its headers ship with Node). Node's own crypto code
 * reads the same per-thread error queue, so every entry point leaves that queue empty.
 */
#include <node_api.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/crypto.h>
#include <openssl/bn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "napi_values.h"
#include "udp.h"
#include "exit-watchdog.h"
#include "file-lock.h"
#include "des.h"

enum session_state { ST_HANDSHAKING = 0, ST_ESTABLISHED = 1, ST_FAILED = 2, ST_CLOSED = 3 };

/* What V8 is told one conversation holds natively, so that garbage collection sees it. */
#define SESSION_EXTERNAL_BYTES 32768
/* RFC 5705 lengths beyond this are no one's need, and the buffer is allocated before OpenSSL runs. */
#define MAX_EXPORT_LENGTH 4096
#define MAX_CHAIN_LENGTH 10

typedef struct {
  SSL_CTX *ctx;
  int server;
} engine_context;

typedef struct {
  SSL *ssl;
  BIO *network_out; /* records OpenSSL wrote, waiting for EAP */
  BIO *app_in;      /* decrypted application data, waiting for the method */
  int state;
  char failure[512];
  char alert[128];
  int alert_fatal;
} engine_session;

#define THROW(env, msg) do { napi_throw_error((env), NULL, (msg)); return NULL; } while (0)
#define CHECK(env, call) do { if ((call) != napi_ok) { napi_throw_error((env), NULL, "Node-API call failed: " #call); return NULL; } } while (0)


/*
 * Plain Uint8Arrays over a new ArrayBuffer: napi_create_buffer(_copy) makes a Buffer by changing the
 * new object's prototype, about 1.8 µs, and records are drained after every EAP message.
 */
static napi_value new_uint8_array(napi_env env, size_t len, void **data) {
  napi_value ab, v;
  if (napi_create_arraybuffer(env, len, data, &ab) != napi_ok) return NULL;
  if (napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &v) != napi_ok) return NULL;
  return v;
}

static napi_value uint8_array_copy(napi_env env, const void *data, size_t len) {
  void *out = NULL;
  napi_value v = new_uint8_array(env, len, &out);
  if (v && len > 0) memcpy(out, data, len);
  return v;
}

/* The earliest queued OpenSSL error as text, and an empty queue afterwards. */
static void take_openssl_error(char *out, size_t outlen, const char *fallback) {
  unsigned long code = ERR_get_error();
  if (code != 0) ERR_error_string_n(code, out, outlen);
  else snprintf(out, outlen, "%s", fallback);
  ERR_clear_error();
}

/* ---------------------------------------------------------------- option reading ------------- */

static int has_property(napi_env env, napi_value obj, const char *name, napi_value *out) {
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return 0;
  napi_valuetype t;
  napi_typeof(env, *out, &t);
  return t != napi_undefined && t != napi_null;
}

static int read_bool(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  bool b = false;
  if (!has_property(env, obj, name, &v)) return 0;
  if (napi_get_value_bool(env, v, &b) != napi_ok) return 0;
  return b ? 1 : 0;
}

static int read_int(napi_env env, napi_value obj, const char *name, int fallback) {
  napi_value v;
  int32_t i;
  if (!has_property(env, obj, name, &v)) return fallback;
  if (napi_get_value_int32(env, v, &i) != napi_ok) return fallback;
  return i;
}

/* A string property into a fresh NUL-terminated copy (caller frees), or NULL when absent. */
static char *read_string(napi_env env, napi_value obj, const char *name) {
  napi_value v;
  size_t len = 0;
  if (!has_property(env, obj, name, &v)) return NULL;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (!s) return NULL;
  if (napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

static int buffer_of(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  if (is_buffer) return napi_get_buffer_info(env, v, data, len) == napi_ok;
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return 0;
  napi_typedarray_type type;
  size_t length, offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &length, data, &ab, &offset) != napi_ok || type != napi_uint8_array) return 0;
  *len = length;
  return 1;
}

/* ---------------------------------------------------------------- PEM loading ----------------- */

static int no_passphrase(char *buf, int size, int rwflag, void *u) {
  return 0;
}

/* Adds every certificate of one PEM blob to the store (and, for a server, to the CA names it sends). */
static int load_ca(SSL_CTX *ctx, int server, const void *pem, size_t len, char *err, size_t errlen) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (!bio) return 0;
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  X509 *x;
  while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
    if (X509_STORE_add_cert(store, x) != 1 || (server && SSL_CTX_add_client_CA(ctx, x) != 1)) {
      X509_free(x);
      BIO_free(bio);
      take_openssl_error(err, errlen, "cannot add a CA certificate");
      return 0;
    }
    X509_free(x);
    count++;
  }
  ERR_clear_error(); /* the end of the PEM input queues "no start line" */
  BIO_free(bio);
  if (count == 0) {
    snprintf(err, errlen, "a CA entry holds no PEM certificate");
    return 0;
  }
  return 1;
}

static int load_crl(SSL_CTX *ctx, const void *pem, size_t len, char *err, size_t errlen) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (!bio) return 0;
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  X509_CRL *crl;
  while ((crl = PEM_read_bio_X509_CRL(bio, NULL, no_passphrase, NULL)) != NULL) {
    if (X509_STORE_add_crl(store, crl) != 1) {
      X509_CRL_free(crl);
      BIO_free(bio);
      take_openssl_error(err, errlen, "cannot add a CRL");
      return 0;
    }
    X509_CRL_free(crl);
    count++;
  }
  ERR_clear_error();
  BIO_free(bio);
  if (count == 0) {
    snprintf(err, errlen, "a CRL entry holds no PEM CRL");
    return 0;
  }
  /* As node:tls does with a crl option: every certificate of the chain needs its issuer's CRL. */
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  return 1;
}

/* The leaf first, then any intermediates sent along with it. */
static int load_cert_chain(SSL_CTX *ctx, const void *pem, size_t len, char *err, size_t errlen) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (!bio) return 0;
  X509 *leaf = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL);
  if (!leaf) {
    BIO_free(bio);
    take_openssl_error(err, errlen, "the certificate holds no PEM certificate");
    return 0;
  }
  int ok = SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  X509 *x;
  while (ok && (x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
    if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
      X509_free(x);
      ok = 0;
    }
  }
  BIO_free(bio);
  if (!ok) {
    take_openssl_error(err, errlen, "cannot use the certificate");
    return 0;
  }
  ERR_clear_error();
  return 1;
}

static int load_key(SSL_CTX *ctx, const void *pem, size_t len, char *err, size_t errlen) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (!bio) return 0;
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
  BIO_free(bio);
  if (!key) {
    take_openssl_error(err, errlen, "the key holds no unencrypted PEM private key");
    return 0;
  }
  int ok = SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  if (!ok) {
    take_openssl_error(err, errlen, "the key does not match the certificate");
    return 0;
  }
  return 1;
}

/* Each element of a JS array of PEM buffers, through `load`. */
static int load_each(napi_env env, napi_value opts, const char *name, SSL_CTX *ctx, int server, int crl, char *err, size_t errlen) {
  napi_value arr;
  if (!has_property(env, opts, name, &arr)) return 1;
  uint32_t n = 0;
  if (napi_get_array_length(env, arr, &n) != napi_ok) {
    snprintf(err, errlen, "%s must be an array of buffers", name);
    return 0;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    void *data;
    size_t len;
    if (napi_get_element(env, arr, i, &el) != napi_ok || !buffer_of(env, el, &data, &len)) {
      snprintf(err, errlen, "%s[%u] must be a buffer", name, i);
      return 0;
    }
    if (!(crl ? load_crl(ctx, data, len, err, errlen) : load_ca(ctx, server, data, len, err, errlen))) return 0;
  }
  return 1;
}

/* ---------------------------------------------------------------- context --------------------- */

/* When the method itself judges the certificate (TEAP policies), OpenSSL only records the result. */
static int record_verify_result(int preverify_ok, X509_STORE_CTX *store) {
  return 1;
}

static void context_finalize(napi_env env, void *data, void *hint) {
  engine_context *c = data;
  SSL_CTX_free(c->ctx);
  free(c);
}

/* Two certificates of one subject in the store: which of them issues is chosen per verification. */
static int store_has_alternative_issuers(X509_STORE *store) {
  STACK_OF(X509_OBJECT) *objects = X509_STORE_get0_objects(store);
  int n = sk_X509_OBJECT_num(objects);
  for (int i = 0; i < n; i++) {
    X509 *a = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
    if (a == NULL) continue;
    for (int j = i + 1; j < n; j++) {
      X509 *b = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, j));
      if (b != NULL && X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0) return 1;
    }
  }
  return 0;
}

static napi_value new_context(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts;
  CHECK(env, napi_get_cb_info(env, info, &argc, &opts, NULL, NULL));
  if (argc < 1) THROW(env, "newContext(options) needs options");

  int server = read_bool(env, opts, "server");
  char err[512] = "";
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx) {
    take_openssl_error(err, sizeof err, "SSL_CTX_new failed");
    THROW(env, err);
  }

  int ok = 1;
  napi_value v;
  void *data;
  size_t len;
  if (ok && has_property(env, opts, "cert", &v)) {
    ok = buffer_of(env, v, &data, &len) ? load_cert_chain(ctx, data, len, err, sizeof err) : (snprintf(err, sizeof err, "cert must be a buffer"), 0);
  }
  if (ok && has_property(env, opts, "key", &v)) {
    ok = buffer_of(env, v, &data, &len) ? load_key(ctx, data, len, err, sizeof err) : (snprintf(err, sizeof err, "key must be a buffer"), 0);
  }
  if (ok) ok = load_each(env, opts, "ca", ctx, server, 0, err, sizeof err);
  if (ok) ok = load_each(env, opts, "crl", ctx, server, 1, err, sizeof err);

  int min_version = read_int(env, opts, "minVersion", TLS1_2_VERSION);
  int max_version = read_int(env, opts, "maxVersion", TLS1_3_VERSION);
  if (ok && (SSL_CTX_set_min_proto_version(ctx, min_version) != 1 || SSL_CTX_set_max_proto_version(ctx, max_version) != 1)) {
    ok = 0;
    take_openssl_error(err, sizeof err, "unsupported TLS version bounds");
  }

  char *cipher_list = read_string(env, opts, "cipherList");
  char *cipher_suites = read_string(env, opts, "cipherSuites");
  if (ok && cipher_list && cipher_list[0] && SSL_CTX_set_cipher_list(ctx, cipher_list) != 1) {
    ok = 0;
    take_openssl_error(err, sizeof err, "no usable cipher in the TLS 1.2 cipher list");
  }
  if (ok && cipher_suites && SSL_CTX_set_ciphersuites(ctx, cipher_suites) != 1) {
    ok = 0;
    take_openssl_error(err, sizeof err, "no usable TLS 1.3 cipher suite");
  }
  free(cipher_list);
  free(cipher_suites);

  if (ok) {
    uint64_t options = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION;
    if (read_bool(env, opts, "noTickets")) {
      options |= SSL_OP_NO_TICKET;
      /* RFC 9427 §5.1 / RFC 9190 §2.1.2: no TLS 1.3 NewSessionTicket while resumption is not offered. */
      SSL_CTX_set_num_tickets(ctx, 0);
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_options(ctx, options);
    static const unsigned char sid_ctx[] = "gangway";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);

    int request_cert = server ? read_bool(env, opts, "requestCert") : 1;
    int reject_unauthorized = read_bool(env, opts, "rejectUnauthorized");
    if (request_cert) {
      if (reject_unauthorized) SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
      else SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, record_verify_result);
    } else {
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
  }

  /*
   * A certificate given without its chain has the chain built and verified from the trust store
   * at every handshake that sends it (ssl_add_cert_chain: X509_verify_cert, with its signature and
   * CRL checks): about a third of a TEAP handshake's server time here. The store is fixed once the
   * context is built, so the chain is built here once, as that would build it: root included,
   * verification errors ignored (what it found is what it sends). If building fails outright (a CA
   * below the security level), nothing is set and the handshake fails as it would have. Where the
   * store holds two certificates of one subject, which of them issues depends on the time of the
   * handshake (OpenSSL prefers the one valid then: a renewed CA replacing an expiring one), so
   * that chain is left to be built at each handshake, as before.
   */
  STACK_OF(X509) *given_chain = NULL;
  if (ok && SSL_CTX_get0_certificate(ctx) != NULL && SSL_CTX_get0_chain_certs(ctx, &given_chain) == 1 && given_chain == NULL
      && !store_has_alternative_issuers(SSL_CTX_get_cert_store(ctx))) {
    SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR);
    ERR_clear_error();
  }

  if (!ok) {
    SSL_CTX_free(ctx);
    ERR_clear_error();
    THROW(env, err[0] ? err : "cannot build the TLS context");
  }
  ERR_clear_error();

  engine_context *c = malloc(sizeof *c);
  if (!c) {
    SSL_CTX_free(ctx);
    THROW(env, "out of memory");
  }
  c->ctx = ctx;
  c->server = server;
  napi_value ext;
  if (napi_create_external(env, c, context_finalize, NULL, &ext) != napi_ok) {
    SSL_CTX_free(ctx);
    free(c);
    THROW(env, "cannot wrap the TLS context");
  }
  return ext;
}

/* ---------------------------------------------------------------- session --------------------- */

static void record_alert(const SSL *ssl, int where, int ret) {
  if (!(where & SSL_CB_ALERT)) return;
  engine_session *s = SSL_get_app_data(ssl);
  if (!s) return;
  /* The first fatal alert explains a failure; a later close_notify must not hide it. */
  if (s->alert_fatal) return;
  snprintf(s->alert, sizeof s->alert, "%s %s alert: %s", (where & SSL_CB_READ) ? "received" : "sent",
           SSL_alert_type_string_long(ret), SSL_alert_desc_string_long(ret));
  s->alert_fatal = strcmp(SSL_alert_type_string(ret), "F") == 0;
}

static void session_release(engine_session *s) {
  if (s->ssl) {
    SSL_free(s->ssl); /* frees both network BIOs */
    s->ssl = NULL;
    s->network_out = NULL;
  }
  if (s->app_in) {
    BIO_free(s->app_in);
    s->app_in = NULL;
  }
}

static void session_finalize(napi_env env, void *data, void *hint) {
  engine_session *s = data;
  int64_t ignored;
  if (s->ssl) napi_adjust_external_memory(env, -SESSION_EXTERNAL_BYTES, &ignored);
  session_release(s);
  free(s);
}

static engine_session *session_arg(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_error(env, NULL, "missing TLS session");
    return NULL;
  }
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "not a TLS session");
    return NULL;
  }
  engine_session *s = p;
  if (!s->ssl) {
    napi_throw_error(env, NULL, "TLS session already disposed");
    return NULL;
  }
  return s;
}

static napi_value new_session(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) THROW(env, "newSession(context, serverName?) needs a context");
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) THROW(env, "not a TLS context");
  engine_context *c = p;

  engine_session *s = calloc(1, sizeof *s);
  if (!s) THROW(env, "out of memory");
  ERR_clear_error();
  s->ssl = SSL_new(c->ctx); /* holds its own reference to the SSL_CTX */
  BIO *network_in = BIO_new(BIO_s_mem());
  s->network_out = BIO_new(BIO_s_mem());
  s->app_in = BIO_new(BIO_s_mem());
  if (!s->ssl || !network_in || !s->network_out || !s->app_in) {
    BIO_free(network_in);
    if (s->ssl) SSL_free(s->ssl);
    BIO_free(s->network_out);
    BIO_free(s->app_in);
    free(s);
    ERR_clear_error();
    THROW(env, "cannot allocate a TLS session");
  }
  /* An empty input means "wait for more", not end of stream. */
  BIO_set_mem_eof_return(network_in, -1);
  SSL_set_bio(s->ssl, network_in, s->network_out);
  SSL_set_app_data(s->ssl, s);
  SSL_set_info_callback(s->ssl, record_alert);
  if (c->server) {
    SSL_set_accept_state(s->ssl);
  } else {
    SSL_set_connect_state(s->ssl);
    if (argc >= 2) {
      napi_valuetype t;
      napi_typeof(env, argv[1], &t);
      if (t == napi_string) {
        char name[256];
        size_t len = 0;
        if (napi_get_value_string_utf8(env, argv[1], name, sizeof name, &len) == napi_ok && len > 0 && len < sizeof name - 1) {
          /* SNI, and the name the server's certificate must carry. */
          SSL_set_tlsext_host_name(s->ssl, name);
          SSL_set1_host(s->ssl, name);
        }
      }
    }
  }
  s->state = ST_HANDSHAKING;
  ERR_clear_error();

  napi_value ext;
  if (napi_create_external(env, s, session_finalize, NULL, &ext) != napi_ok) {
    session_release(s);
    free(s);
    THROW(env, "cannot wrap the TLS session");
  }
  int64_t ignored;
  napi_adjust_external_memory(env, SESSION_EXTERNAL_BYTES, &ignored);
  return ext;
}

static const char *verify_error_name(long code) {
  switch (code) {
#define NAME(n) case X509_V_ERR_##n: return #n;
    NAME(UNABLE_TO_GET_ISSUER_CERT) NAME(UNABLE_TO_GET_CRL) NAME(UNABLE_TO_DECRYPT_CERT_SIGNATURE)
    NAME(UNABLE_TO_DECRYPT_CRL_SIGNATURE) NAME(UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY) NAME(CERT_SIGNATURE_FAILURE)
    NAME(CRL_SIGNATURE_FAILURE) NAME(CERT_NOT_YET_VALID) NAME(CERT_HAS_EXPIRED) NAME(CRL_NOT_YET_VALID)
    NAME(CRL_HAS_EXPIRED) NAME(ERROR_IN_CERT_NOT_BEFORE_FIELD) NAME(ERROR_IN_CERT_NOT_AFTER_FIELD)
    NAME(ERROR_IN_CRL_LAST_UPDATE_FIELD) NAME(ERROR_IN_CRL_NEXT_UPDATE_FIELD) NAME(OUT_OF_MEM)
    NAME(DEPTH_ZERO_SELF_SIGNED_CERT) NAME(SELF_SIGNED_CERT_IN_CHAIN) NAME(UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
    NAME(UNABLE_TO_VERIFY_LEAF_SIGNATURE) NAME(CERT_CHAIN_TOO_LONG) NAME(CERT_REVOKED) NAME(INVALID_CA)
    NAME(PATH_LENGTH_EXCEEDED) NAME(INVALID_PURPOSE) NAME(CERT_UNTRUSTED) NAME(CERT_REJECTED)
    NAME(HOSTNAME_MISMATCH) NAME(EE_KEY_TOO_SMALL) NAME(CA_KEY_TOO_SMALL) NAME(CA_MD_TOO_WEAK)
    NAME(INVALID_EXTENSION) NAME(INVALID_NON_CA)
#undef NAME
    default: return NULL;
  }
}

static void fail(engine_session *s, int ssl_error, int state) {
  s->state = state;
  const char *fallback = ssl_error == SSL_ERROR_SYSCALL ? "TLS input ended unexpectedly" : "TLS failed";
  take_openssl_error(s->failure, sizeof s->failure, fallback);
  long verify = SSL_get_verify_result(s->ssl);
  if (verify != X509_V_OK) {
    size_t used = strlen(s->failure);
    const char *name = verify_error_name(verify);
    snprintf(s->failure + used, sizeof s->failure - used, " (%s: %s)", name ? name : "X509_V_ERR", X509_verify_cert_error_string(verify));
  }
}

/* Application data that arrived, into app_in, until OpenSSL wants more records. */
static void read_application_data(engine_session *s) {
  unsigned char buf[16384];
  for (;;) {
    int n = SSL_read(s->ssl, buf, sizeof buf);
    if (n > 0) {
      if (BIO_write(s->app_in, buf, n) != n) {
        snprintf(s->failure, sizeof s->failure, "out of memory for TLS application data");
        s->state = ST_FAILED;
        return;
      }
      continue;
    }
    int e = SSL_get_error(s->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    if (e == SSL_ERROR_ZERO_RETURN) {
      s->state = ST_CLOSED;
      snprintf(s->failure, sizeof s->failure, "peer closed the TLS connection (close_notify)");
      return;
    }
    fail(s, e, ST_FAILED);
    return;
  }
}

static void drive(engine_session *s) {
  if (s->state == ST_HANDSHAKING) {
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
      s->state = ST_ESTABLISHED;
    } else {
      int e = SSL_get_error(s->ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) fail(s, e, ST_FAILED);
    }
  }
  /* Records after the handshake (or in the same flight as its end) carry data or post-handshake messages. */
  if (s->state == ST_ESTABLISHED) read_application_data(s);
}

static napi_value state_value(napi_env env, engine_session *s) {
  napi_value v;
  napi_create_int32(env, s->state, &v);
  return v;
}

/* feed(session, records?) → state. Without records it only lets the client produce its ClientHello. */
static napi_value feed(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  engine_session *s = session_arg(env, info, 2, argv);
  if (!s) return NULL;
  if (s->state == ST_FAILED || s->state == ST_CLOSED) return state_value(env, s);
  ERR_clear_error();
  napi_valuetype t;
  napi_typeof(env, argv[1], &t);
  if (t != napi_undefined && t != napi_null) {
    void *data;
    size_t len;
    if (!buffer_of(env, argv[1], &data, &len)) THROW(env, "records must be a Uint8Array");
    if (len > 0x7fffffff) THROW(env, "records too long");
    if (len > 0 && BIO_write(SSL_get_rbio(s->ssl), data, (int)len) != (int)len) {
      ERR_clear_error();
      THROW(env, "out of memory for TLS records");
    }
  }
  drive(s);
  ERR_clear_error();
  return state_value(env, s);
}

static napi_value write_application_data(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  engine_session *s = session_arg(env, info, 2, argv);
  if (!s) return NULL;
  if (s->state != ST_ESTABLISHED) THROW(env, "cannot write application data before the handshake completes");
  void *data;
  size_t len;
  if (!buffer_of(env, argv[1], &data, &len)) THROW(env, "data must be a Uint8Array");
  if (len > 0x7fffffff) THROW(env, "data too long");
  ERR_clear_error();
  if (len > 0) {
    /* Memory BIOs never refuse a write, so one SSL_write takes it all (in as many records as needed). */
    int n = SSL_write(s->ssl, data, (int)len);
    if (n <= 0) fail(s, SSL_get_error(s->ssl, n), ST_FAILED);
  }
  ERR_clear_error();
  return state_value(env, s);
}

static napi_value drain(napi_env env, BIO *bio) {
  char *data = NULL;
  long len = BIO_get_mem_data(bio, &data);
  napi_value v = uint8_array_copy(env, data, len > 0 ? (size_t)len : 0);
  (void)BIO_reset(bio);
  ERR_clear_error();
  return v;
}

static napi_value take_outgoing(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  return drain(env, s->network_out);
}

static napi_value take_application_data(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  return drain(env, s->app_in);
}

/* failure(session) → { reason, alert } with undefined members when nothing happened. */
static napi_value failure(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  napi_value o;
  CHECK(env, napi_create_object(env, &o));
  if (s->failure[0]) napi_set_named_property(env, o, "reason", string_value(env, s->failure));
  if (s->alert[0]) napi_set_named_property(env, o, "alert", string_value(env, s->alert));
  return o;
}

/* session(session) → negotiated facts, once the handshake has completed. */
static napi_value session_facts(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  napi_value o;
  CHECK(env, napi_create_object(env, &o));
  napi_set_named_property(env, o, "protocol", string_value(env, SSL_get_version(s->ssl)));
  const SSL_CIPHER *c = SSL_get_current_cipher(s->ssl);
  if (c) {
    napi_set_named_property(env, o, "cipherName", string_value(env, SSL_CIPHER_get_name(c)));
    const char *std = SSL_CIPHER_standard_name(c);
    if (std) napi_set_named_property(env, o, "cipherStandardName", string_value(env, std));
    napi_set_named_property(env, o, "cipherVersion", string_value(env, SSL_CIPHER_get_version(c)));
  }
  napi_value reused;
  napi_get_boolean(env, SSL_session_reused(s->ssl) == 1, &reused);
  napi_set_named_property(env, o, "reused", reused);
  return o;
}

/*
 * verifyError(session) → undefined when the peer's certificate verified, else the X509_V_ERR name.
 * Without a certificate, UNABLE_TO_GET_ISSUER_CERT, which is what node:tls reports there.
 */
static napi_value verify_error(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  if (!SSL_get0_peer_certificate(s->ssl)) return string_value(env, "UNABLE_TO_GET_ISSUER_CERT");
  long v = SSL_get_verify_result(s->ssl);
  if (v == X509_V_OK) return undefined_value(env);
  const char *name = verify_error_name(v);
  if (name) return string_value(env, name);
  char text[64];
  snprintf(text, sizeof text, "X509_V_ERR_%ld", v);
  return string_value(env, text);
}

/* exportKeyingMaterial(session, length, label, context?) — an absent context is not an empty one (RFC 5705 §4). */
static napi_value export_keying_material(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc = 4;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  engine_session *s = session_arg(env, info, 4, argv);
  if (!s) return NULL;
  if (s->state != ST_ESTABLISHED) THROW(env, "the TLS handshake has not completed");
  int32_t length = 0;
  if (argc < 3 || napi_get_value_int32(env, argv[1], &length) != napi_ok || length <= 0 || length > MAX_EXPORT_LENGTH) {
    THROW(env, "exporter length must be 1..4096");
  }
  char label[256];
  size_t label_len = 0;
  if (napi_get_value_string_utf8(env, argv[2], label, sizeof label, &label_len) != napi_ok || label_len >= sizeof label - 1) {
    THROW(env, "exporter label must be a string shorter than 255 octets");
  }
  void *context = NULL;
  size_t context_len = 0;
  int use_context = 0;
  if (argc >= 4) {
    napi_valuetype t;
    napi_typeof(env, argv[3], &t);
    if (t != napi_undefined && t != napi_null) {
      if (!buffer_of(env, argv[3], &context, &context_len)) THROW(env, "exporter context must be a Uint8Array");
      use_context = 1;
    }
  }
  void *data = NULL;
  napi_value out = new_uint8_array(env, (size_t)length, &data);
  if (!out) THROW(env, "Node-API call failed: new_uint8_array");
  ERR_clear_error();
  int ok = SSL_export_keying_material(s->ssl, data, (size_t)length, label, label_len,
                                      use_context ? (context_len > 0 ? context : (void *)"") : NULL, context_len, use_context);
  if (ok != 1) {
    char err[256];
    take_openssl_error(err, sizeof err, "TLS exporter failed");
    THROW(env, err);
  }
  return out;
}

static napi_value finished_message(napi_env env, napi_callback_info info, int peer) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  unsigned char buf[EVP_MAX_MD_SIZE];
  size_t n = peer ? SSL_get_peer_finished(s->ssl, buf, sizeof buf) : SSL_get_finished(s->ssl, buf, sizeof buf);
  if (n == 0) return undefined_value(env);
  if (n > sizeof buf) n = sizeof buf;
  return uint8_array_copy(env, buf, n);
}

static napi_value get_finished(napi_env env, napi_callback_info info) {
  return finished_message(env, info, 0);
}

static napi_value get_peer_finished(napi_env env, napi_callback_info info) {
  return finished_message(env, info, 1);
}

static napi_value der_of(napi_env env, X509 *x) {
  int len = i2d_X509(x, NULL);
  if (len <= 0) {
    ERR_clear_error();
    return undefined_value(env);
  }
  void *data = NULL;
  napi_value out = new_uint8_array(env, (size_t)len, &data);
  if (!out) return undefined_value(env);
  unsigned char *p = data;
  i2d_X509(x, &p);
  return out;
}

static napi_value peer_certificate(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  X509 *leaf = SSL_get0_peer_certificate(s->ssl);
  return leaf ? der_of(env, leaf) : undefined_value(env);
}

/*
 * peerChain(session) → DER certificates, leaf first: the verified chain up to the trust anchor when
 * verification succeeded, else what the peer sent.
 */
static napi_value peer_chain(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  napi_value arr;
  CHECK(env, napi_create_array(env, &arr));
  X509 *leaf = SSL_get0_peer_certificate(s->ssl);
  if (!leaf) return arr;
  STACK_OF(X509) *chain = SSL_get_verify_result(s->ssl) == X509_V_OK ? SSL_get0_verified_chain(s->ssl) : NULL;
  uint32_t k = 0;
  if (chain && sk_X509_num(chain) > 0) {
    for (int i = 0; i < sk_X509_num(chain) && k < MAX_CHAIN_LENGTH; i++) napi_set_element(env, arr, k++, der_of(env, sk_X509_value(chain, i)));
    return arr;
  }
  napi_set_element(env, arr, k++, der_of(env, leaf));
  STACK_OF(X509) *sent = SSL_get_peer_cert_chain(s->ssl);
  for (int i = 0; sent && i < sk_X509_num(sent) && k < MAX_CHAIN_LENGTH; i++) {
    X509 *x = sk_X509_value(sent, i);
    if (X509_cmp(x, leaf) == 0) continue; /* a client's sent chain starts with its leaf */
    napi_set_element(env, arr, k++, der_of(env, x));
  }
  return arr;
}

/*
 * peerSubject(session) → [name, value, name, value, ...] of the leaf's subject in certificate order:
 * short names (numeric OIDs when OpenSSL has none), values as UTF-8, as node:tls gives them.
 */
static napi_value peer_subject(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  X509 *leaf = SSL_get0_peer_certificate(s->ssl);
  if (!leaf) return undefined_value(env);
  X509_NAME *name = X509_get_subject_name(leaf);
  napi_value arr;
  CHECK(env, napi_create_array(env, &arr));
  uint32_t k = 0;
  int n = X509_NAME_entry_count(name);
  for (int i = 0; i < n; i++) {
    X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
    ASN1_OBJECT *obj = X509_NAME_ENTRY_get_object(e);
    char key[128];
    int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) snprintf(key, sizeof key, "%s", OBJ_nid2sn(nid));
    else if (OBJ_obj2txt(key, sizeof key, obj, 1) <= 0) continue;
    unsigned char *utf8 = NULL;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (len < 0) {
      ERR_clear_error();
      continue;
    }
    napi_value value;
    if (napi_create_string_utf8(env, (const char *)utf8, (size_t)len, &value) == napi_ok) {
      napi_set_element(env, arr, k++, string_value(env, key));
      napi_set_element(env, arr, k++, value);
    }
    OPENSSL_free(utf8);
  }
  return arr;
}

/* peerSerial(session) → the leaf's serial number in hex, as node:crypto's X509Certificate#serialNumber gives it. */
static napi_value peer_serial(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  X509 *leaf = SSL_get0_peer_certificate(s->ssl);
  if (!leaf) return undefined_value(env);
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
  char *hex = bn ? BN_bn2hex(bn) : NULL;
  napi_value v = hex ? string_value(env, hex) : undefined_value(env);
  OPENSSL_free(hex);
  BN_free(bn);
  ERR_clear_error();
  return v;
}

static napi_value own_certificate(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  engine_session *s = session_arg(env, info, 1, argv);
  if (!s) return NULL;
  X509 *own = SSL_get_certificate(s->ssl);
  return own ? der_of(env, own) : undefined_value(env);
}

/* free(session): the conversation is over; OpenSSL's memory goes back now, not at the next GC. */
static napi_value free_session(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) THROW(env, "not a TLS session");
  engine_session *s = p;
  if (s->ssl) {
    int64_t ignored;
    napi_adjust_external_memory(env, -SESSION_EXTERNAL_BYTES, &ignored);
  }
  session_release(s);
  return undefined_value(env);
}

static napi_value openssl_version(napi_env env, napi_callback_info info) {
  return string_value(env, OpenSSL_version(OPENSSL_VERSION));
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
    { "newContext", NULL, new_context, NULL, NULL, NULL, napi_default, NULL },
    { "newSession", NULL, new_session, NULL, NULL, NULL, napi_default, NULL },
    { "feed", NULL, feed, NULL, NULL, NULL, napi_default, NULL },
    { "write", NULL, write_application_data, NULL, NULL, NULL, napi_default, NULL },
    { "takeOutgoing", NULL, take_outgoing, NULL, NULL, NULL, napi_default, NULL },
    { "takeApplicationData", NULL, take_application_data, NULL, NULL, NULL, napi_default, NULL },
    { "failure", NULL, failure, NULL, NULL, NULL, napi_default, NULL },
    { "session", NULL, session_facts, NULL, NULL, NULL, napi_default, NULL },
    { "verifyError", NULL, verify_error, NULL, NULL, NULL, napi_default, NULL },
    { "exportKeyingMaterial", NULL, export_keying_material, NULL, NULL, NULL, napi_default, NULL },
    { "getFinished", NULL, get_finished, NULL, NULL, NULL, napi_default, NULL },
    { "getPeerFinished", NULL, get_peer_finished, NULL, NULL, NULL, napi_default, NULL },
    { "peerCertificate", NULL, peer_certificate, NULL, NULL, NULL, napi_default, NULL },
    { "peerChain", NULL, peer_chain, NULL, NULL, NULL, napi_default, NULL },
    { "peerSubject", NULL, peer_subject, NULL, NULL, NULL, napi_default, NULL },
    { "peerSerial", NULL, peer_serial, NULL, NULL, NULL, napi_default, NULL },
    { "ownCertificate", NULL, own_certificate, NULL, NULL, NULL, napi_default, NULL },
    { "free", NULL, free_session, NULL, NULL, NULL, napi_default, NULL },
    { "opensslVersion", NULL, openssl_version, NULL, NULL, NULL, napi_default, NULL },
  };
  if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
  /* Without digest() and hmac() the TLS engine still loads; src/util/digest.ts then uses node:crypto. */
  (void)register_digest(env, exports);
  /* Without the udp* functions the RADIUS listeners use node:dgram (src/radius/udp-listener.ts). */
  (void)register_udp(env, exports);
  /* Without armExitWatchdog an exit held up by a stuck thread waits for the service manager's timeout. */
  (void)register_exit_watchdog(env, exports);
  /* Without tryLockFile `gangway pledge` takes no lock on its LDevID directories, and says so. */
  (void)register_file_lock(env, exports);
  /* Without challengeResponse EAP-MSCHAPv2 computes its DES with node:crypto. */
  (void)register_des(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
