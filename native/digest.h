/* One-shot digests and HMACs (digest.c): adds digest() and hmac() to the addon's exports. */
#ifndef GANGWAY_DIGEST_H
#define GANGWAY_DIGEST_H
#include <node_api.h>

/*
 * Returns 0 when the exports could not be set up; the addon then loads without digest() and hmac(),
 * and src/util/digest.ts computes with node:crypto. Takes the environment's instance-data slot.
 */
int register_digest(napi_env env, napi_value exports);

#endif
