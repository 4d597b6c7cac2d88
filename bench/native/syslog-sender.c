/*
 * The benchmark's syslog sender: the same RFC 5424 messages as
 * benchMessage() in bench/syslog.ts, byte for byte, sent over UDP with
 * sendmmsg (64 a call). It stands in for the network's devices; on a
 * two-core machine every cycle it spends is taken from the receiver being
 * measured, so it spends as few as it can (a node sender paid a syscall and
 * a callback per message).
 *
 * usage: syslog-sender PORT COUNT RATE   (RATE messages/s, 0 = as fast as it goes)
 * prints {"sent":N,"seconds":S}
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 64
#define PACE_EVERY 500
#define MAX_LEN 512

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bench_message(char *out, long i) {
  long port = i % 48;
  return snprintf(out, MAX_LEN,
                  "<165>1 2026-11-23T12:00:00.%06ld+08:00 county-router-%ld.gov.example ifmgr 4242 LINK "
                  "[ifmgr@32473 ifIndex=\"%ld\" ifName=\"GigabitEthernet0/%ld\" seq=\"%ld\"] "
                  "Interface GigabitEthernet0/%ld changed state to %s",
                  i % 1000000, i % 17, port + 1, port, i, port, i % 2 ? "up" : "down");
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s PORT COUNT RATE\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]);
  long count = atol(argv[2]);
  double rate = atof(argv[3]);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) { perror("socket"); return 1; }
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0) { perror("connect"); return 1; }

  static char buffers[CHUNK][MAX_LEN];
  struct iovec iov[CHUNK];
  struct mmsghdr msgs[CHUNK];
  double started = now_seconds();
  long i = 0;
  while (i < count) {
    int n = 0;
    /* A chunk never crosses a pacing point, so pacing sees every 500th message. */
    long chunk_end = i + CHUNK;
    long pace_point = (i / PACE_EVERY + 1) * PACE_EVERY;
    if (chunk_end > pace_point) chunk_end = pace_point;
    if (chunk_end > count) chunk_end = count;
    for (long m = i; m < chunk_end; m++, n++) {
      int len = bench_message(buffers[n], m);
      iov[n].iov_base = buffers[n];
      iov[n].iov_len = (size_t)len;
      memset(&msgs[n], 0, sizeof msgs[n]);
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
    }
    int done = 0;
    while (done < n) {
      int r = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
      /* ECONNREFUSED (the receiver not up yet) and ENOBUFS lose messages: the receiver's count tells. */
      if (r < 0) { if (errno == EINTR) continue; done++; continue; }
      done += r;
    }
    i = chunk_end;
    if (rate > 0 && i % PACE_EVERY == 0) {
      double ahead = i / rate - (now_seconds() - started);
      if (ahead > 0.001) {
        struct timespec ts = { .tv_sec = (time_t)ahead, .tv_nsec = (long)((ahead - (time_t)ahead) * 1e9) };
        nanosleep(&ts, NULL);
      }
    }
  }
  printf("{\"sent\":%ld,\"seconds\":%.6f}\n", count, now_seconds() - started);
  return 0;
}
