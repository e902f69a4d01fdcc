#ifndef GANGWAY_UDP_H
#define GANGWAY_UDP_H

#include <node_api.h>

/*
 * Adds udpOpen, udpSend, udpAddress and udpClose to the addon's exports (Linux); 0 when
 * it could not or on another system, where the RADIUS listeners use node:dgram.
 */
int register_udp(napi_env env, napi_value exports);

#endif
