/*
 * ChallengeResponse of RFC 2759 §8.5: three single-DES encryptions of an 8-octet challenge under
 * keys cut from the 16-octet NT hash padded to 21 octets.
 *
 * OpenSSL 3's default provider has no single DES, so through node:crypto each of the three is a
 * des-ede3-ecb cipher object of its own (K1 = K2 = K3): about 8 µs of CPU each, 2 % of a TEAP +
 * EAP-MSCHAPv2 authentication. DES_ecb_encrypt is libcrypto's low-level single DES, deprecated in
 * OpenSSL 3 but exported by the node binary; it needs no context and no provider.
 *
 * Node loads addons with lazy binding: a libcrypto built without the deprecated DES calls would
 * let the addon load and end the process at the first call ("symbol lookup error", exit 127), out
 * of reach of any fallback. So the three functions are looked up once, at registration, and
 * challengeResponse is exported only when all three are there.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_DEFAULT */
#endif
#include <node_api.h>
#include <openssl/des.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <string.h>
#ifndef _WIN32
#include <dlfcn.h>
#endif

#include "des.h"

typedef void (*des_set_key_fn)(const_DES_cblock *, DES_key_schedule *);
typedef void (*des_ecb_fn)(const_DES_cblock *, DES_cblock *, DES_key_schedule *, int);
typedef void (*cleanse_fn)(void *, size_t);

static des_set_key_fn set_key;
static des_ecb_fn ecb_encrypt;
static cleanse_fn cleanse;

static int bytes_of(napi_env env, napi_value v, size_t want, uint8_t **data) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *p = NULL;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, v, &type, &length, &p, NULL, NULL) != napi_ok ||
      type != napi_uint8_array || length != want) {
    napi_throw_type_error(env, NULL, "challengeResponse(passwordHash: 16 octets, challenge: 8 octets, out: 24 octets)");
    return 0;
  }
  *data = p;
  return 1;
}

/* 56 key bits, 7 per octet, into the 8-octet DES key; DES_set_key_unchecked ignores the parity bits. */
static void spread_key(const uint8_t k[7], DES_cblock out) {
  out[0] = k[0];
  out[1] = (uint8_t)((k[0] << 7) | (k[1] >> 1));
  out[2] = (uint8_t)((k[1] << 6) | (k[2] >> 2));
  out[3] = (uint8_t)((k[2] << 5) | (k[3] >> 3));
  out[4] = (uint8_t)((k[3] << 4) | (k[4] >> 4));
  out[5] = (uint8_t)((k[4] << 3) | (k[5] >> 5));
  out[6] = (uint8_t)((k[5] << 2) | (k[6] >> 6));
  out[7] = (uint8_t)(k[6] << 1);
}

/* challengeResponse(passwordHash, challenge, out): RFC 2759 §8.5 into out; returns undefined. */
static napi_value challenge_response(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) {
    napi_throw_type_error(env, NULL, "challengeResponse(passwordHash, challenge, out)");
    return NULL;
  }
  uint8_t *hash, *challenge, *out;
  if (!bytes_of(env, argv[0], 16, &hash) || !bytes_of(env, argv[1], 8, &challenge) || !bytes_of(env, argv[2], 24, &out)) return NULL;
  uint8_t z[21] = { 0 };
  memcpy(z, hash, 16);
  DES_cblock clear, key, cipher;
  memcpy(clear, challenge, 8);
  DES_key_schedule schedule;
  for (int i = 0; i < 3; i++) {
    spread_key(z + 7 * i, key);
    set_key(&key, &schedule);
    ecb_encrypt(&clear, &cipher, &schedule, DES_ENCRYPT);
    memcpy(out + 8 * i, cipher, 8);
  }
  /* The NT hash and what was derived from it stay on this stack frame only until here. */
  cleanse(z, sizeof z);
  cleanse(key, sizeof key);
  cleanse(&schedule, sizeof schedule);
  return NULL;
}

int register_des(napi_env env, napi_value exports) {
#ifdef _WIN32
  return 0;
#else
  /* The same pointers in every thread that loads the addon: a benign race of equal writes. */
  set_key = (des_set_key_fn)dlsym(RTLD_DEFAULT, "DES_set_key_unchecked");
  ecb_encrypt = (des_ecb_fn)dlsym(RTLD_DEFAULT, "DES_ecb_encrypt");
  cleanse = (cleanse_fn)dlsym(RTLD_DEFAULT, "OPENSSL_cleanse");
  if (!set_key || !ecb_encrypt || !cleanse) return 0;
  const napi_property_descriptor fns[] = {
    { "challengeResponse", NULL, challenge_response, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, 1, fns) == napi_ok;
#endif
}
