{
  # Built by `npm install` (package.json "install"). The OpenSSL headers come with Node's own headers
  # (include/node/openssl) and the symbols resolve against the OpenSSL linked into the node binary:
  # no second OpenSSL is linked, so nothing here names -lssl.
  "targets": [
    {
      "target_name": "gangway_tls",
      "sources": ["tls_engine.c", "digest.c", "udp.c", "exit-watchdog.c", "file-lock.c", "des.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-O2"],
      # Never unloaded (a worker thread's exit would otherwise unmap the code a watchdog thread sleeps in).
      "ldflags": ["-Wl,-z,nodelete"],
      "xcode_settings": { "OTHER_CFLAGS": ["-std=c11", "-O2"] }
    }
  ]
}
