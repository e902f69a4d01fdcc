/*
 * One-shot digests and HMACs over several pieces, for the per-packet work of RADIUS (MD5 for the
 * Authenticators, HMAC-MD5 for Message-Authenticator) and the small HMACs of TEAP and EAP-NOOB.
 *
 * node:crypto builds a JavaScript object and an OpenSSL context per createHash/createHmac: about
 * 3 µs of CPU for an MD5 over a few hundred octets, most of it overhead. Here a call fetches
 * nothing: each thread (Node-API environment) keeps its fetched EVP_MDs and one EVP_MD_CTX, and
 * HMAC is built from the digest (RFC 2104) so that no MAC context is set up per call either.
 *
 * Every entry point leaves OpenSSL's per-thread error queue empty: node:crypto reads the same queue.
 * The per-thread state is the addon's Node-API instance data, its only slot: tls_engine.c uses none.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

/* Codes shared with src/util/digest.ts. */
enum { ALG_MD5 = 0, ALG_SHA1 = 1, ALG_SHA256 = 2, ALG_SHA384 = 3, ALG_COUNT = 4 };
static const char *const ALG_NAMES[ALG_COUNT] = { "MD5", "SHA1", "SHA256", "SHA384" };

/* Largest block (SHA-384) and digest (SHA-384) among ALG_NAMES. */
#define MAX_BLOCK 128
#define MAX_DIGEST 64
/* A call hashes at most this many pieces; the callers pass five or fewer. */
#define MAX_PARTS 16

typedef struct {
  EVP_MD *md[ALG_COUNT];
  EVP_MD_CTX *ctx;
} digest_thread;

static void digest_thread_free(napi_env env, void *data, void *hint) {
  digest_thread *t = data;
  if (!t) return;
  for (int i = 0; i < ALG_COUNT; i++) EVP_MD_free(t->md[i]);
  EVP_MD_CTX_free(t->ctx);
  free(t);
}

typedef struct {
  const uint8_t *data;
  size_t length;
} piece;

static int throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return 0;
}

static int bytes_of(napi_env env, napi_value v, piece *out) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return throw_type(env, "expected a Uint8Array");
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    return throw_type(env, "expected a Uint8Array");
  }
  out->data = data;
  out->length = length;
  return 1;
}

/*
 * The pieces of a JS array of Uint8Arrays; returns their count, or -1 with an exception pending.
 * For src/util/digest.ts only: an array with getters could detach a piece read earlier.
 */
static int pieces_of(napi_env env, napi_value array, piece *out) {
  bool is_array = false;
  uint32_t n = 0;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array) return throw_type(env, "expected an array of Uint8Arrays") - 1;
  if (napi_get_array_length(env, array, &n) != napi_ok) return -1;
  if (n > MAX_PARTS) return throw_type(env, "too many pieces") - 1;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, array, i, &v) != napi_ok) return -1;
    if (!bytes_of(env, v, &out[i])) return -1;
  }
  return (int)n;
}

static const EVP_MD *md_of(napi_env env, digest_thread *t, napi_value code) {
  int32_t alg = -1;
  if (napi_get_value_int32(env, code, &alg) != napi_ok || alg < 0 || alg >= ALG_COUNT) {
    throw_type(env, "unknown digest code");
    return NULL;
  }
  if (!t->md[alg]) {
    t->md[alg] = EVP_MD_fetch(NULL, ALG_NAMES[alg], NULL);
    if (!t->md[alg]) {
      ERR_clear_error();
      napi_throw_error(env, NULL, "OpenSSL has no such digest here");
      return NULL;
    }
  }
  return t->md[alg];
}

static digest_thread *thread_of(napi_env env) {
  void *data = NULL;
  if (napi_get_instance_data(env, &data) == napi_ok && data) return data;
  napi_throw_error(env, NULL, "digest state missing");
  return NULL;
}

/* Digest of pieces into out; 0 (error queue cleared) on an OpenSSL failure. */
static int digest_pieces(EVP_MD_CTX *ctx, const EVP_MD *md, const piece *head, size_t head_count, const piece *parts, int count, uint8_t *out) {
  unsigned int size = 0;
  if (EVP_DigestInit_ex(ctx, md, NULL) != 1) goto fail;
  for (size_t i = 0; i < head_count; i++) {
    if (EVP_DigestUpdate(ctx, head[i].data, head[i].length) != 1) goto fail;
  }
  for (int i = 0; i < count; i++) {
    if (EVP_DigestUpdate(ctx, parts[i].data, parts[i].length) != 1) goto fail;
  }
  if (EVP_DigestFinal_ex(ctx, out, &size) != 1) goto fail;
  return 1;
fail:
  ERR_clear_error();
  return 0;
}

/* Writes a digest into the caller's out; creating a Buffer here would cost 2 µs of Node-API, more than an MD5. */
static napi_value write_out(napi_env env, napi_value target, const uint8_t *bytes, size_t length) {
  piece dest;
  if (!bytes_of(env, target, &dest)) return NULL;
  if (dest.length != length) {
    throw_type(env, "output length differs from the digest length");
    return NULL;
  }
  memcpy((uint8_t *)dest.data, bytes, length);
  return NULL;
}

/* digest(code, pieces, out): the digest of the pieces' concatenation, written to out. */
static napi_value digest(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    throw_type(env, "digest(code, pieces, out)");
    return NULL;
  }
  digest_thread *t = thread_of(env);
  if (!t) return NULL;
  const EVP_MD *md = md_of(env, t, argv[0]);
  if (!md) return NULL;
  piece parts[MAX_PARTS];
  int count = pieces_of(env, argv[1], parts);
  if (count < 0) return NULL;
  uint8_t out[MAX_DIGEST];
  if (!digest_pieces(t->ctx, md, NULL, 0, parts, count, out)) {
    napi_throw_error(env, NULL, "digest failed");
    return NULL;
  }
  return write_out(env, argv[2], out, (size_t)EVP_MD_get_size(md));
}

/* hmac(code, key, pieces, out): HMAC (RFC 2104) of the pieces' concatenation under key, written to out. */
static napi_value hmac(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) {
    throw_type(env, "hmac(code, key, pieces, out)");
    return NULL;
  }
  digest_thread *t = thread_of(env);
  if (!t) return NULL;
  const EVP_MD *md = md_of(env, t, argv[0]);
  if (!md) return NULL;
  piece key;
  if (!bytes_of(env, argv[1], &key)) return NULL;
  piece parts[MAX_PARTS];
  int count = pieces_of(env, argv[2], parts);
  if (count < 0) return NULL;

  const size_t block = (size_t)EVP_MD_get_block_size(md);
  const size_t size = (size_t)EVP_MD_get_size(md);
  uint8_t k[MAX_BLOCK] = { 0 };
  uint8_t pad[MAX_BLOCK];
  uint8_t inner[MAX_DIGEST];
  uint8_t out[MAX_DIGEST];
  int ok = 1;
  if (block > MAX_BLOCK || size > MAX_DIGEST) ok = 0;
  /* RFC 2104 §2: a key longer than the block is replaced by its digest. */
  if (ok && key.length > block) ok = digest_pieces(t->ctx, md, &key, 1, NULL, 0, k);
  else if (ok && key.length > 0) memcpy(k, key.data, key.length);
  if (ok) {
    for (size_t i = 0; i < block; i++) pad[i] = k[i] ^ 0x36;
    piece head = { pad, block };
    ok = digest_pieces(t->ctx, md, &head, 1, parts, count, inner);
  }
  if (ok) {
    for (size_t i = 0; i < block; i++) pad[i] = k[i] ^ 0x5c;
    piece outer[2] = { { pad, block }, { inner, size } };
    ok = digest_pieces(t->ctx, md, outer, 2, NULL, 0, out);
  }
  /* The key's derivatives stay on this stack frame only until here. */
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
  if (!ok) {
    napi_throw_error(env, NULL, "hmac failed");
    return NULL;
  }
  napi_value r = write_out(env, argv[3], out, size);
  OPENSSL_cleanse(out, sizeof out);
  return r;
}

int register_digest(napi_env env, napi_value exports) {
  digest_thread *t = calloc(1, sizeof *t);
  if (!t) return 0;
  t->ctx = EVP_MD_CTX_new();
  if (!t->ctx || napi_set_instance_data(env, t, digest_thread_free, NULL) != napi_ok) {
    digest_thread_free(env, t, NULL);
    return 0;
  }
  const napi_property_descriptor fns[] = {
    { "digest", NULL, digest, NULL, NULL, NULL, napi_default, NULL },
    { "hmac", NULL, hmac, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) == napi_ok;
}
