{
  # The batched UDP syslog socket (udp_batch.cc): a native thread reads with
  # recvmmsg and hands JavaScript one batch at a time. Linux only; without it
  # the receiver falls back to node's dgram (agents/syslog/udp.ts).
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["udp_batch.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-pthread"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
