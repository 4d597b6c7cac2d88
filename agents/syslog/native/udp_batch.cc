// A UDP syslog socket drained by its own thread, in batches.
//
// Why: node's dgram hands JavaScript one datagram per callback (a buffer, an
// address object, a trip through the event loop each): about 5 us of CPU
// per message before any parsing, and while a garbage collection or a busy
// loop holds the JS thread nobody reads the socket, so the kernel drops
// datagrams for good. Here a native thread reads with recvmmsg (64 at a
// call) into memory and hands JavaScript one batch at a time: FLUSH_MICROS
// after its first datagram, or when it is full. While JavaScript has not
// taken the last batch yet, the next one keeps growing instead (up to full):
// a busy JS thread gets fewer, larger batches, not a pile of small ones.
//
// Bounded: a batch holds at most MAX_BATCH_MESSAGES or MAX_BATCH_BYTES, and
// at most MAX_QUEUED_BATCHES wait for JavaScript (about 20 MiB in all). When
// that many wait, the thread stops reading and the kernel's buffer fills;
// what the kernel then drops is counted (SO_MEMINFO), as is a full batch
// that found no room. JavaScript learns the count with the next batch it
// gets ("overflow").
//
// JS API (loaded by agents/syslog/native-udp.ts):
//   open(host, port, ipv6, receiveBufferBytes) -> { handle, port }
//   start(handle, onBatch(data: Buffer, entries: Buffer, count, overflow))
//   close(handle)
// Each entry is ENTRY_BYTES: u32 offset, u32 length (little-endian), u8
// family (4 or 6), u8 address length, u16 unused, u32 IPv4 address
// (network order as read, i.e. big-endian bytes), then the IPv6 text.

#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr size_t SLOTS = 64;                  // datagrams per recvmmsg
constexpr size_t SLOT_BYTES = 65536;          // the largest UDP payload fits
constexpr size_t MAX_BATCH_MESSAGES = 4096;
constexpr size_t MAX_BATCH_BYTES = 1 << 20;
constexpr size_t MAX_QUEUED_BATCHES = 16;
constexpr long FLUSH_MICROS = 2000;
constexpr int OVERFLOW_RETRY_MS = 10;
constexpr size_t ENTRY_BYTES = 64;
constexpr size_t TEXT_OFFSET = 16;

struct Batch {
  std::vector<uint8_t> data;
  std::vector<uint8_t> entries;
  uint32_t count = 0;
  double overflow = 0;
};

struct Receiver {
  int fd = -1;
  int wake[2] = {-1, -1};
  std::thread thread;
  napi_threadsafe_function tsfn = nullptr;
  std::atomic<bool> stopping{false};
  /** Batches handed over that JavaScript has not taken yet. */
  std::atomic<int> queued{0};
  bool started = false;
  bool closed = false;
};

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
constexpr int SK_MEMINFO_DROPS_INDEX = 8;  // linux/sock_diag.h: SK_MEMINFO_DROPS

/** Datagrams the kernel dropped from this socket so far (its buffer full); 0 where it cannot say. */
uint32_t kernel_drop_count(int fd) {
  uint32_t info[16] = {0};
  socklen_t length = sizeof info;
  if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &length) != 0 || length < (SK_MEMINFO_DROPS_INDEX + 1) * sizeof(uint32_t)) return 0;
  return info[SK_MEMINFO_DROPS_INDEX];
}

long micros_since(const timespec& start) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000;
}

void append(Batch* batch, const uint8_t* bytes, size_t length, const sockaddr_storage& from) {
  uint8_t entry[ENTRY_BYTES] = {0};
  uint32_t offset = static_cast<uint32_t>(batch->data.size());
  uint32_t len = static_cast<uint32_t>(length);
  memcpy(entry, &offset, 4);
  memcpy(entry + 4, &len, 4);
  if (from.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&from);
    entry[8] = 4;
    memcpy(entry + 12, &in->sin_addr.s_addr, 4);
  } else if (from.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      entry[8] = 4;  // ::ffff:a.b.c.d is an IPv4 sender on a dual-stack socket
      memcpy(entry + 12, in6->sin6_addr.s6_addr + 12, 4);
    } else {
      entry[8] = 6;
      char text[INET6_ADDRSTRLEN] = {0};
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      size_t text_length = strnlen(text, ENTRY_BYTES - TEXT_OFFSET);
      entry[9] = static_cast<uint8_t>(text_length);
      memcpy(entry + TEXT_OFFSET, text, text_length);
    }
  }
  batch->data.insert(batch->data.end(), bytes, bytes + length);
  batch->entries.insert(batch->entries.end(), entry, entry + ENTRY_BYTES);
  batch->count++;
}

void run(Receiver* receiver) {
  std::vector<uint8_t> scratch(SLOTS * SLOT_BYTES);
  mmsghdr messages[SLOTS];
  iovec vectors[SLOTS];
  sockaddr_storage addresses[SLOTS];
  // What the kernel dropped from this socket (its buffer full), as last read.
  uint32_t kernel_drops = kernel_drop_count(receiver->fd);
  double overflow = 0;  // messages dropped since the last batch JavaScript got
  auto* batch = new Batch();
  timespec batch_started{};

  // An empty batch still goes when it carries an overflow count: JavaScript
  // must learn of the drops even if no datagram follows them.
  auto hand_off = [&]() {
    if (batch->count == 0 && overflow == 0) return;
    batch->overflow = overflow;
    uint32_t count = batch->count;
    receiver->queued.fetch_add(1);
    napi_status status = napi_call_threadsafe_function(receiver->tsfn, batch, napi_tsfn_nonblocking);
    if (status == napi_ok) {
      overflow = 0;
    } else {
      receiver->queued.fetch_sub(1);
      overflow += count;  // queue full (JavaScript is behind) or closing
      delete batch;
    }
    batch = new Batch();
  };

  auto count_kernel_drops = [&]() {
    uint32_t total = kernel_drop_count(receiver->fd);
    overflow += static_cast<uint32_t>(total - kernel_drops);  // wraps like the kernel's counter
    kernel_drops = total;
  };
  // Reads what the socket holds now, in calls of SLOTS datagrams.
  auto drain = [&]() {
    for (;;) {
      for (size_t i = 0; i < SLOTS; i++) {
        vectors[i] = {scratch.data() + i * SLOT_BYTES, SLOT_BYTES};
        memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof addresses[i];
      }
      int received = recvmmsg(receiver->fd, messages, SLOTS, MSG_DONTWAIT, nullptr);
      if (received <= 0) return;  // EAGAIN: drained (other errors: ICMP noise, try again on the next round)
      for (int i = 0; i < received; i++) {
        if (batch->count == 0) clock_gettime(CLOCK_MONOTONIC, &batch_started);
        append(batch, scratch.data() + i * SLOT_BYTES, messages[i].msg_len, addresses[i]);
        if (batch->count >= MAX_BATCH_MESSAGES || batch->data.size() >= MAX_BATCH_BYTES) hand_off();
      }
      if (static_cast<size_t>(received) < SLOTS) return;
    }
  };
  // Sleeps up to `ms`, waking early only to stop (the socket is not watched:
  // datagrams wait in the kernel's buffer and are read together after).
  auto nap = [&](int ms) {
    pollfd wake = {receiver->wake[0], POLLIN, 0};
    return poll(&wake, 1, ms) > 0;  // true: stop
  };

  while (!receiver->stopping.load()) {
    // Wait for the first datagram of a batch (or, with drops not yet
    // reported, at most OVERFLOW_RETRY_MS).
    pollfd fds[2] = {{receiver->fd, POLLIN, 0}, {receiver->wake[0], POLLIN, 0}};
    int ready = poll(fds, 2, overflow > 0 ? OVERFLOW_RETRY_MS : -1);
    if (ready < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) break;
    if (ready == 0 && overflow > 0 && receiver->queued.load() < static_cast<int>(MAX_QUEUED_BATCHES)) hand_off();  // quiet socket: report the drops alone
    if (ready <= 0) continue;
    // Gather: read now, sleep out the batch's FLUSH_MICROS, read what came
    // meanwhile, hand over. While JavaScript has not taken the last batch,
    // keep gathering in 1 ms steps (the batch grows, up to full).
    // With every slot of the queue taken, JavaScript is far behind: stop
    // reading (reading only to drop costs the CPU it needs) and let the
    // kernel hold, then drop, what comes; SO_MEMINFO counts those.
    auto full = [&]() { return receiver->queued.load() >= static_cast<int>(MAX_QUEUED_BATCHES); };
    bool stop = false;
    while (full() && !stop) stop = nap(1);
    if (stop) break;
    count_kernel_drops();
    drain();
    while (batch->count > 0 && !stop) {
      long left = FLUSH_MICROS - micros_since(batch_started);
      if (left > 0) {
        stop = nap(static_cast<int>((left + 999) / 1000));
      } else if (receiver->queued.load() == 0) {
        hand_off();
        break;
      } else {
        stop = nap(1);
      }
      if (!full()) drain();
    }
    count_kernel_drops();
    if (stop) break;
  }
  hand_off();
  delete batch;
}

void call_js(napi_env env, napi_value callback, void* context, void* data) {
  auto* batch = static_cast<Batch*>(data);
  if (env == nullptr || callback == nullptr) {
    delete batch;  // torn down (the receiver may be gone): nothing to count
    return;
  }
  static_cast<Receiver*>(context)->queued.fetch_sub(1);
  napi_value args[4];
  void* ignored;
  auto buffer_of = [&](const std::vector<uint8_t>& bytes, napi_value* out) {
    return bytes.empty() ? napi_create_buffer(env, 0, &ignored, out) : napi_create_buffer_copy(env, bytes.size(), bytes.data(), &ignored, out);
  };
  bool ok = buffer_of(batch->data, &args[0]) == napi_ok && buffer_of(batch->entries, &args[1]) == napi_ok &&
            napi_create_uint32(env, batch->count, &args[2]) == napi_ok && napi_create_double(env, batch->overflow, &args[3]) == napi_ok;
  delete batch;
  if (!ok) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, callback, 4, args, nullptr);
}

void stop(Receiver* receiver) {
  if (receiver->closed) return;
  receiver->closed = true;
  receiver->stopping.store(true);
  if (receiver->wake[1] >= 0) {
    char byte = 1;
    ssize_t ignored = write(receiver->wake[1], &byte, 1);
    (void)ignored;
  }
  if (receiver->thread.joinable()) receiver->thread.join();
  if (receiver->tsfn != nullptr) {
    napi_release_threadsafe_function(receiver->tsfn, napi_tsfn_abort);
    receiver->tsfn = nullptr;
  }
  for (int* fd : {&receiver->fd, &receiver->wake[0], &receiver->wake[1]}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void cleanup_hook(void* data) { stop(static_cast<Receiver*>(data)); }

void finalize_receiver(napi_env env, void* data, void* /*hint*/) {
  auto* receiver = static_cast<Receiver*>(data);
  stop(receiver);
  napi_remove_env_cleanup_hook(env, cleanup_hook, receiver);
  delete receiver;
}

napi_value throw_errno(napi_env env, const char* syscall, int error, const std::string& where) {
  std::string code = error == EADDRINUSE ? "EADDRINUSE" : error == EACCES ? "EACCES" : error == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : "E" + std::to_string(error);
  std::string message = std::string(syscall) + " " + code + " " + where + ": " + strerror(error);
  napi_throw_error(env, code.c_str(), message.c_str());
  return nullptr;
}

/** Reads `count` arguments into argv; false (a TypeError thrown, naming `usage`) when fewer came. */
bool read_args(napi_env env, napi_callback_info info, size_t count, napi_value* argv, const char* usage) {
  size_t argc = count;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= count) return true;
  napi_throw_type_error(env, nullptr, usage);
  return false;
}

Receiver* receiver_of(napi_env env, napi_value value) {
  void* data = nullptr;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == nullptr) {
    napi_throw_type_error(env, nullptr, "expected a receiver handle");
    return nullptr;
  }
  return static_cast<Receiver*>(data);
}

napi_value Open(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!read_args(env, info, 4, argv, "open(host, port, ipv6, receiveBufferBytes)")) return nullptr;
  char host[INET6_ADDRSTRLEN + 1] = {0};
  size_t host_length = 0;
  uint32_t port = 0;
  bool ipv6 = false;
  int64_t buffer_bytes = 0;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_length) != napi_ok || napi_get_value_uint32(env, argv[1], &port) != napi_ok ||
      napi_get_value_bool(env, argv[2], &ipv6) != napi_ok || napi_get_value_int64(env, argv[3], &buffer_bytes) != napi_ok || port > 65535) {
    napi_throw_type_error(env, nullptr, "open(host: string, port: 0-65535, ipv6: boolean, receiveBufferBytes: number)");
    return nullptr;
  }
  std::string where = std::string(host) + ":" + std::to_string(port);
  sockaddr_storage address{};
  socklen_t address_length;
  if (ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&address);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) return throw_errno(env, "bind", EINVAL, where);
    address_length = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&address);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host, &in->sin_addr) != 1) return throw_errno(env, "bind", EINVAL, where);
    address_length = sizeof(sockaddr_in);
  }
  int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno, where);
  if (ipv6) {
    int off = 0;  // dual stack, as node's udp6 sockets are
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (buffer_bytes > 0) {
    int size = buffer_bytes > (1 << 30) ? (1 << 30) : static_cast<int>(buffer_bytes);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);  // capped by net.core.rmem_max; a refusal leaves the default
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), address_length) != 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, "bind", error, where);
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_length);
  uint16_t bound_port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  auto* receiver = new Receiver();
  receiver->fd = fd;
  if (pipe2(receiver->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    int error = errno;
    stop(receiver);
    delete receiver;
    return throw_errno(env, "pipe", error, where);
  }
  napi_value handle;
  napi_create_external(env, receiver, finalize_receiver, nullptr, &handle);
  napi_add_env_cleanup_hook(env, cleanup_hook, receiver);
  napi_value result, port_value;
  napi_create_object(env, &result);
  napi_create_uint32(env, bound_port, &port_value);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "port", port_value);
  return result;
}

napi_value Start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!read_args(env, info, 2, argv, "start(handle, onBatch)")) return nullptr;
  Receiver* receiver = receiver_of(env, argv[0]);
  if (receiver == nullptr) return nullptr;
  if (receiver->started || receiver->closed) {
    napi_throw_error(env, nullptr, "the receiver was already started or is closed");
    return nullptr;
  }
  napi_value name;
  napi_create_string_utf8(env, "egov-ops syslog udp", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], nullptr, name, MAX_QUEUED_BATCHES, 1, nullptr, nullptr, receiver, call_js, &receiver->tsfn) != napi_ok) {
    napi_throw_error(env, nullptr, "cannot create the batch callback");
    return nullptr;
  }
  receiver->started = true;
  receiver->thread = std::thread(run, receiver);
  return nullptr;
}

napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!read_args(env, info, 1, argv, "close(handle)")) return nullptr;
  Receiver* receiver = receiver_of(env, argv[0]);
  if (receiver != nullptr) stop(receiver);
  return nullptr;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"open", nullptr, Open, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"start", nullptr, Start, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, Close, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, 3, properties);
  napi_value entry_bytes;
  napi_create_uint32(env, ENTRY_BYTES, &entry_bytes);
  napi_set_named_property(env, exports, "entryBytes", entry_bytes);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
