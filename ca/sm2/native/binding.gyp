{
  # SM2 signatures with a distinguishing ID (GM/T 0009), via the OpenSSL that is
  # statically linked into the node binary. Headers come from node's own include
  # dir (<nodedir>/include/node/openssl, added by node-gyp's addon.gypi), and the
  # symbols are resolved against the node executable at load time: we must NOT
  # link a system libcrypto (-lcrypto), or two OpenSSLs would end up in-process.
  "targets": [
    {
      "target_name": "sm2",
      "sources": ["sm2.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "defines": ["NAPI_VERSION=8", "OPENSSL_API_COMPAT=30000", "OPENSSL_NO_DEPRECATED"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O2"],
        "OTHER_LDFLAGS": ["-undefined", "dynamic_lookup"]
      }
    }
  ]
}
