// nodelay_preload.so: an LD_PRELOAD shim for diagnosis only (bench/README.md, "Why").
// It sets TCP_NODELAY on every IPv4/IPv6 stream socket the process connects, so that a
// subject's latency can be measured with Nagle's algorithm off without changing its code.
//   cc -shared -fPIC -O2 -o nodelay_preload.so nodelay_preload.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  static int (*real_connect)(int, const struct sockaddr*, socklen_t) = 0;
  if (!real_connect) real_connect = (int (*)(int, const struct sockaddr*, socklen_t))dlsym(RTLD_NEXT, "connect");
  if (addr && (addr->sa_family == AF_INET || addr->sa_family == AF_INET6)) {
    int type = 0;
    socklen_t tlen = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 && type == SOCK_STREAM) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
  }
  return real_connect(fd, addr, len);
}
