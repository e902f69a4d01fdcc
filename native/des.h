/* MS-CHAPv2's ChallengeResponse (des.c): adds challengeResponse() to the addon's exports. */
#ifndef GANGWAY_DES_H
#define GANGWAY_DES_H
#include <node_api.h>

/* Returns 0 when the export could not be set up; src/eap-methods/mschapv2 then uses node:crypto. */
int register_des(napi_env env, napi_value exports);

#endif
