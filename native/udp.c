/*
 * A UDP socket for the RADIUS listeners, read with recvmmsg(2) from libuv's loop.
 *
 * Why not node:dgram: for every datagram it allocates a 64 KiB buffer and shrinks it, builds a
 * sender-info object, emits through an EventEmitter, and each send goes through an address lookup
 * deferred to the next tick and a send request object. A RADIUS round trip is two datagrams; on
 * loopback these were about a fifth of the server's CPU for one exchange (docs/benchmarks.md).
 * Here a readable socket is drained in batches into buffers allocated once per socket, each
 * datagram is copied into a Buffer of its own size, and replies are sent with one sendto(2).
 *
 * RADIUS packets are at most 4096 octets (RFC 2865 section 3) and octets past a packet's Length
 * are ignored, so a longer datagram is handed on cut to 4096: the packet inside it, if any, is
 * complete.
 *
 * Linux only (recvmmsg, SOCK_NONBLOCK): elsewhere register_udp adds nothing and the listeners use
 * node:dgram, while the rest of the addon builds as before.
 */
#define _GNU_SOURCE
#include <node_api.h>

#include "napi_values.h"
#include "udp.h"

#ifndef __linux__
int register_udp(napi_env env, napi_value exports) {
  (void)env;
  (void)exports;
  return 0;
}
#else
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 16
#define SLOT_BYTES 4096
/* 32 datagrams per wake-up and socket, as libuv reads for node:dgram: a flood on one port cannot hold timers and replies back longer. */
#define BATCHES_PER_WAKEUP 2
/* Replies the kernel could not take at once (a full send buffer) wait, in order, up to this much. */
#define SEND_QUEUE_MAX_BYTES (4u << 20)

typedef struct queued_datagram {
  struct queued_datagram *next;
  size_t length;
  socklen_t to_length;
  struct sockaddr_storage to;
  unsigned char data[];
} queued_datagram;

typedef struct {
  uv_poll_t poll;
  int fd;
  int family;
  int closing;
  /* Freed when both have happened: the poll handle closed, and JavaScript let go of the handle. */
  int closed;
  int external_gone;
  int watching_writable;
  queued_datagram *queue_head;
  queued_datagram *queue_tail;
  size_t queued_bytes;
  napi_async_cleanup_hook_handle cleanup;
  napi_env env;
  napi_ref on_datagram;
  napi_ref on_error;
  napi_ref resource;
  napi_async_context async_context;
  unsigned char *slots;
  struct mmsghdr messages[BATCH];
  struct iovec vectors[BATCH];
  struct sockaddr_storage senders[BATCH];
} udp_endpoint;


/* Throws an Error whose code is libuv's name for the error (EADDRINUSE, ...), as node:dgram does; err is -errno. */
static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char message[128];
  snprintf(message, sizeof message, "%s %s", syscall, uv_err_name(err));
  napi_throw_error(env, uv_err_name(err), message);
  return NULL;
}

static int read_string(napi_env env, napi_value v, char *out, size_t size) {
  size_t length;
  if (napi_get_value_string_utf8(env, v, out, size, &length) != napi_ok) return 0;
  return length < size - 1;
}
static int parse_address(int family, const char *text, int port, struct sockaddr_storage *out, socklen_t *length) {
  memset(out, 0, sizeof *out);
  if (port < 0 || port > 65535) return 0;
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *length = sizeof *a;
    return inet_pton(AF_INET, text, &a->sin_addr) == 1;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons((uint16_t)port);
  *length = sizeof *a;
  /* A link-local sender is reported with its zone (fe80::1%eth0), and its reply needs it back. */
  const char *zone = strchr(text, '%');
  if (zone) {
    char bare[INET6_ADDRSTRLEN];
    size_t n = (size_t)(zone - text);
    if (n >= sizeof bare) return 0;
    memcpy(bare, text, n);
    bare[n] = 0;
    a->sin6_scope_id = if_nametoindex(zone + 1);
    if (a->sin6_scope_id == 0) {
      char *end;
      unsigned long id = strtoul(zone + 1, &end, 10);
      if (*end != 0 || zone[1] == 0 || id > 0xffffffffUL) return 0;
      a->sin6_scope_id = (uint32_t)id;
    }
    return inet_pton(AF_INET6, bare, &a->sin6_addr) == 1;
  }
  if (inet_pton(AF_INET6, text, &a->sin6_addr) == 1) return 1;
  struct in_addr v4;
  if (inet_pton(AF_INET, text, &v4) != 1) return 0;
  a->sin6_addr.s6_addr[10] = 0xff;
  a->sin6_addr.s6_addr[11] = 0xff;
  memcpy(&a->sin6_addr.s6_addr[12], &v4, 4);
  return 1;
}
static int format_address(const struct sockaddr_storage *sa, char *text, size_t size, int *port) {
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    *port = ntohs(a->sin_port);
    return inet_ntop(AF_INET, &a->sin_addr, text, size) != NULL;
  }
  if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    *port = ntohs(a->sin6_port);
    if (inet_ntop(AF_INET6, &a->sin6_addr, text, size) == NULL) return 0;
    if (a->sin6_scope_id != 0) {
      char zone[IF_NAMESIZE];
      size_t used = strlen(text);
      if (if_indextoname(a->sin6_scope_id, zone)) snprintf(text + used, size - used, "%%%s", zone);
      else snprintf(text + used, size - used, "%%%u", a->sin6_scope_id);
    }
    return 1;
  }
  return 0;
}

static void call_js(udp_endpoint *u, napi_ref fn_ref, size_t argc, napi_value *argv) {
  napi_env env = u->env;
  napi_value fn, resource, ignored;
  if (!fn_ref || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || napi_get_reference_value(env, u->resource, &resource) != napi_ok) return;
  /* make_callback, not call_function: process.nextTick and promise jobs run after it, as after any I/O callback. */
  if (napi_make_callback(env, u->async_context, resource, fn, argc, argv, &ignored) == napi_pending_exception) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok) napi_fatal_exception(env, exception);
  }
}

/* err is -errno, as libuv's error codes are. */
static void report_error(udp_endpoint *u, const char *syscall, int err) {
  if (u->closing) return;
  napi_handle_scope scope;
  if (napi_open_handle_scope(u->env, &scope) != napi_ok) return;
  char message[256];
  snprintf(message, sizeof message, "%s %s", syscall, uv_err_name(err));
  napi_value argv[2];
  if (napi_create_string_utf8(u->env, uv_err_name(err), NAPI_AUTO_LENGTH, &argv[0]) == napi_ok &&
      napi_create_string_utf8(u->env, message, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok)
    call_js(u, u->on_error, 2, argv);
  napi_close_handle_scope(u->env, scope);
}

static void deliver(udp_endpoint *u, int i) {
  napi_env env = u->env;
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
  int port;
  if (!format_address(&u->senders[i], text, sizeof text, &port)) return;
  size_t length = u->messages[i].msg_len;
  if (length > SLOT_BYTES) length = SLOT_BYTES;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[3];
  void *ignored;
  if (napi_create_buffer_copy(env, length, u->slots + (size_t)i * SLOT_BYTES, &ignored, &argv[0]) == napi_ok &&
      napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &argv[1]) == napi_ok &&
      napi_create_int32(env, port, &argv[2]) == napi_ok)
    call_js(u, u->on_datagram, 3, argv);
  napi_close_handle_scope(env, scope);
}

static void read_datagrams(udp_endpoint *u) {
  for (int round = 0; round < BATCHES_PER_WAKEUP && !u->closing; round++) {
    for (int i = 0; i < BATCH; i++) {
      u->vectors[i].iov_base = u->slots + (size_t)i * SLOT_BYTES;
      u->vectors[i].iov_len = SLOT_BYTES;
      memset(&u->messages[i].msg_hdr, 0, sizeof u->messages[i].msg_hdr);
      u->messages[i].msg_hdr.msg_iov = &u->vectors[i];
      u->messages[i].msg_hdr.msg_iovlen = 1;
      u->messages[i].msg_hdr.msg_name = &u->senders[i];
      u->messages[i].msg_hdr.msg_namelen = sizeof u->senders[i];
    }
    int n = recvmmsg(u->fd, u->messages, BATCH, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* A pending socket error (SO_ERROR) is returned here once and cleared; the socket stays. */
      if (errno != EAGAIN && errno != EWOULDBLOCK) report_error(u, "recvmmsg", -errno);
      return;
    }
    for (int i = 0; i < n && !u->closing; i++) deliver(u, i);
    if (n < BATCH) return;
  }
}

/* What a waiting reply holds of memory: the cap counts this, not the payload alone. */
static size_t queued_cost(size_t length) {
  return sizeof(queued_datagram) + length;
}

static void report_send_error(udp_endpoint *u, int err, const char *where) {
  char syscall[INET6_ADDRSTRLEN + IF_NAMESIZE + 64];
  snprintf(syscall, sizeof syscall, "sendto (a reply that waited for the send buffer) to %s:", where);
  report_error(u, syscall, err);
}

static void free_queue(udp_endpoint *u) {
  while (u->queue_head) {
    queued_datagram *q = u->queue_head;
    u->queue_head = q->next;
    free(q);
  }
  u->queue_tail = NULL;
  u->queued_bytes = 0;
}

/* Sends what waits, in order, until the kernel refuses again; then waits for writability again. */
static void flush_queue(udp_endpoint *u) {
  while (u->queue_head && !u->closing) {
    queued_datagram *q = u->queue_head;
    ssize_t r;
    do r = sendto(u->fd, q->data, q->length, MSG_DONTWAIT, (struct sockaddr *)&q->to, q->to_length);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) return;
    int err = r < 0 ? -errno : 0;
    char where[INET6_ADDRSTRLEN + IF_NAMESIZE + 32];
    int port = 0;
    if (err && format_address(&q->to, where, sizeof where - 8, &port)) {
      size_t used = strlen(where);
      snprintf(where + used, sizeof where - used, " port %d", port);
    } else if (err) {
      snprintf(where, sizeof where, "?");
    }
    u->queue_head = q->next;
    if (!u->queue_head) u->queue_tail = NULL;
    u->queued_bytes -= queued_cost(q->length);
    free(q);
    /* The send's own callback has returned already: the socket's error handler hears it, with the destination. */
    if (err) report_send_error(u, err, where);
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  udp_endpoint *u = handle->data;
  if (u->closing) return;
  if (status < 0) {
    /* libuv stops the handle on POLLERR. Take the socket's error (reading it clears it), say what it was, and go on. */
    int so_error = 0;
    socklen_t length = sizeof so_error;
    if (getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &so_error, &length) == 0 && so_error != 0) {
      report_error(u, "socket", -so_error);
    } else {
      /* Nothing pending: a POLLERR that stays comes from the error queue (never enabled here); empty it, or it spins. */
      unsigned char scratch[512];
      struct iovec v = { scratch, sizeof scratch };
      struct msghdr m;
      for (int i = 0; i < 64; i++) {
        memset(&m, 0, sizeof m);
        m.msg_iov = &v;
        m.msg_iovlen = 1;
        if (recvmsg(u->fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
      }
      report_error(u, "poll", status);
    }
    if (u->closing) return;
    int err = uv_poll_start(&u->poll, UV_READABLE | (u->watching_writable ? UV_WRITABLE : 0), on_poll);
    if (err != 0) report_error(u, "uv_poll_start", err);
    return;
  }
  if (events & UV_WRITABLE) {
    flush_queue(u);
    if (!u->queue_head && !u->closing) {
      u->watching_writable = 0;
      int err = uv_poll_start(&u->poll, UV_READABLE, on_poll);
      if (err != 0) report_error(u, "uv_poll_start", err);
    }
  }
  if ((events & UV_READABLE) && !u->closing) read_datagrams(u);
}

static void on_closed(uv_handle_t *handle) {
  udp_endpoint *u = handle->data;
  if (u->cleanup) {
    napi_remove_async_cleanup_hook(u->cleanup);
    u->cleanup = NULL;
  }
  u->closed = 1;
  if (u->external_gone) free(u);
}

static void on_external_finalized(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  udp_endpoint *u = data;
  u->external_gone = 1;
  if (u->closed) free(u);
}

static void release(udp_endpoint *u) {
  napi_env env = u->env;
  if (u->on_datagram) napi_delete_reference(env, u->on_datagram);
  if (u->on_error) napi_delete_reference(env, u->on_error);
  if (u->resource) napi_delete_reference(env, u->resource);
  if (u->async_context) napi_async_destroy(env, u->async_context);
  u->on_datagram = u->on_error = u->resource = NULL;
  u->async_context = NULL;
}

/*
 * uv_close takes a poll handle's descriptor out of epoll before it returns and never touches it
 * again, so the descriptor is closed here, at once: the port is free when close() returns, as
 * with node:dgram. Replies still waiting are dropped, as node:dgram cancels its pending sends.
 */
static void begin_close(udp_endpoint *u) {
  u->closing = 1;
  uv_close((uv_handle_t *)&u->poll, on_closed);
  close(u->fd);
  u->fd = -1;
  free(u->slots);
  u->slots = NULL;
  free_queue(u);
}

/* A worker thread's environment going away with the socket open: libuv's loop must not close with it. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  (void)hook;
  udp_endpoint *u = arg;
  if (u->closing) return;
  release(u);
  begin_close(u);
}

static int is_function(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_function;
}

/* udpOpen(host, port, onDatagram(buf, address, port), onError(code, message)) -> handle; throws on bind errors. */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 || !is_function(env, argv[2]) || !is_function(env, argv[3])) {
    napi_throw_type_error(env, NULL, "udpOpen(host, port, onDatagram, onError)");
    return NULL;
  }
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  int32_t port;
  if (!read_string(env, argv[0], host, sizeof host) || napi_get_value_int32(env, argv[1], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpOpen: host must be an IP address and port a number");
    return NULL;
  }
  struct sockaddr_storage address;
  socklen_t address_length;
  int family = strchr(host, ':') ? AF_INET6 : AF_INET;
  if (!parse_address(family, host, port, &address, &address_length)) {
    napi_throw_type_error(env, "EINVAL", "udpOpen: host must be an IP address and port 0..65535");
    return NULL;
  }
  /* IPV6_V6ONLY is left at the system's default (net.ipv6.bindv6only), as node:dgram leaves it. */
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", -errno);
  if (bind(fd, (struct sockaddr *)&address, address_length) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", -err);
  }
  udp_endpoint *u = calloc(1, sizeof *u);
  unsigned char *slots = malloc((size_t)BATCH * SLOT_BYTES);
  uv_loop_t *loop;
  if (!u || !slots || napi_get_uv_event_loop(env, &loop) != napi_ok) {
    free(u);
    free(slots);
    close(fd);
    return throw_errno(env, "udpOpen", -ENOMEM);
  }
  u->fd = fd;
  u->family = family;
  u->env = env;
  u->slots = slots;
  napi_value resource, name, handle;
  if (napi_create_object(env, &resource) != napi_ok || napi_create_string_utf8(env, "GangwayUdp", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_async_init(env, resource, name, &u->async_context) != napi_ok || napi_create_reference(env, resource, 1, &u->resource) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &u->on_datagram) != napi_ok || napi_create_reference(env, argv[3], 1, &u->on_error) != napi_ok) {
    release(u);
    free(slots);
    free(u);
    close(fd);
    return throw_errno(env, "udpOpen", -ENOMEM);
  }
  int err = uv_poll_init_socket(loop, &u->poll, fd);
  if (err != 0) {
    release(u);
    free(slots);
    free(u);
    close(fd);
    return throw_errno(env, "uv_poll_init_socket", err);
  }
  u->poll.data = u;
  if (napi_create_external(env, u, on_external_finalized, NULL, &handle) != napi_ok) {
    release(u);
    u->external_gone = 1;
    begin_close(u);
    return throw_errno(env, "udpOpen", -ENOMEM);
  }
  err = uv_poll_start(&u->poll, UV_READABLE, on_poll);
  if (err == 0 && napi_add_async_cleanup_hook(env, on_env_cleanup, u, &u->cleanup) != napi_ok) err = UV_ENOMEM;
  if (err != 0) {
    /* The external exists: its finalizer frees the endpoint once the handle has closed. */
    release(u);
    begin_close(u);
    return throw_errno(env, "uv_poll_start", err);
  }
  return handle;
}

static udp_endpoint *endpoint_arg(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "not a UDP handle");
    return NULL;
  }
  udp_endpoint *u = p;
  if (u->closing) {
    napi_throw_error(env, "ERR_SOCKET_DGRAM_NOT_RUNNING", "UDP socket is closed");
    return NULL;
  }
  return u;
}

static const char *enqueue(udp_endpoint *u, const void *data, size_t length, const struct sockaddr_storage *to, socklen_t to_length) {
  if (u->queued_bytes + queued_cost(length) > SEND_QUEUE_MAX_BYTES) return "ENOBUFS";
  queued_datagram *q = malloc(sizeof *q + length);
  if (!q) return "ENOMEM";
  q->next = NULL;
  q->length = length;
  q->to = *to;
  q->to_length = to_length;
  memcpy(q->data, data, length);
  if (!u->watching_writable) {
    int err = uv_poll_start(&u->poll, UV_READABLE | UV_WRITABLE, on_poll);
    if (err != 0) {
      /* Not queued: a reply that could never leave would block every later one behind it. */
      free(q);
      return uv_err_name(err);
    }
    u->watching_writable = 1;
  }
  if (u->queue_tail) u->queue_tail->next = q;
  else u->queue_head = q;
  u->queue_tail = q;
  u->queued_bytes += queued_cost(length);
  return NULL;
}

/*
 * udpSend(handle, bytes, port, address) -> undefined, or the error's code. A reply the kernel
 * cannot take now (EAGAIN, ENOBUFS: a full send buffer) waits in order and goes out when the socket
 * is writable, as node:dgram's do; beyond SEND_QUEUE_MAX_BYTES waiting it is dropped (ENOBUFS).
 */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_typedarray_type type;
  void *data;
  size_t length;
  int32_t port;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_typedarray_info(env, argv[1], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array ||
      napi_get_value_int32(env, argv[2], &port) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpSend(handle, Uint8Array, port, IP address)");
    return NULL;
  }
  udp_endpoint *u = endpoint_arg(env, argv[0]);
  if (!u) return NULL;
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  struct sockaddr_storage to;
  socklen_t to_length;
  if (!read_string(env, argv[3], text, sizeof text) || !parse_address(u->family, text, port, &to, &to_length)) return string_value(env, "EINVAL");
  if (!u->queue_head) {
    ssize_t r;
    do r = sendto(u->fd, data, length, MSG_DONTWAIT, (struct sockaddr *)&to, to_length);
    while (r < 0 && errno == EINTR);
    if (r >= 0) return undefined_value(env);
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) return string_value(env, uv_err_name(-errno));
  }
  const char *refused = enqueue(u, data, length, &to, to_length);
  return refused ? string_value(env, refused) : undefined_value(env);
}

/* The one argument of udpAddress and udpClose; a TypeError without it. */
static int handle_argument(napi_env env, napi_callback_info info, napi_value *arg) {
  size_t argc = 1;
  if (napi_get_cb_info(env, info, &argc, arg, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, NULL, "expected a UDP handle");
    return 0;
  }
  return 1;
}

/* udpAddress(handle) -> [address, port, family] */
static napi_value udp_address(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!handle_argument(env, info, argv)) return NULL;
  udp_endpoint *u = endpoint_arg(env, argv[0]);
  if (!u) return NULL;
  struct sockaddr_storage sa;
  socklen_t length = sizeof sa;
  if (getsockname(u->fd, (struct sockaddr *)&sa, &length) < 0) return throw_errno(env, "getsockname", -errno);
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
  int port;
  if (!format_address(&sa, text, sizeof text, &port)) return throw_errno(env, "getsockname", -EAFNOSUPPORT);
  napi_value out, a, p, f;
  if (napi_create_array_with_length(env, 3, &out) != napi_ok || napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &a) != napi_ok ||
      napi_create_int32(env, port, &p) != napi_ok || napi_create_string_latin1(env, sa.ss_family == AF_INET6 ? "IPv6" : "IPv4", NAPI_AUTO_LENGTH, &f) != napi_ok ||
      napi_set_element(env, out, 0, a) != napi_ok || napi_set_element(env, out, 1, p) != napi_ok || napi_set_element(env, out, 2, f) != napi_ok)
    return NULL;
  return out;
}

/* udpClose(handle): nothing is delivered after it returns, and the port is free. */
static napi_value udp_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!handle_argument(env, info, argv)) return NULL;
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "not a UDP handle");
    return NULL;
  }
  udp_endpoint *u = p;
  if (u->closing) return undefined_value(env);
  release(u);
  begin_close(u);
  return undefined_value(env);
}

int register_udp(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
    { "udpOpen", NULL, udp_open, NULL, NULL, NULL, napi_default, NULL },
    { "udpSend", NULL, udp_send, NULL, NULL, NULL, napi_default, NULL },
    { "udpAddress", NULL, udp_address, NULL, NULL, NULL, napi_default, NULL },
    { "udpClose", NULL, udp_close, NULL, NULL, NULL, napi_default, NULL },
  };
  return napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) == napi_ok;
}
#endif
