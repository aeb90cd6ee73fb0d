// tests/perf/connect-floor.c: the floor under healthd's TCP checks (run by tests/perf/healthd.sh).
// As many nonblocking TCP connects as one thread can make for SECONDS, to ports nobody listens
// on (each answered by a reset), the way a tokio check makes them: socket, connect, epoll for
// the answer, SO_ERROR, close; up to 64 in flight. Prints "H floor_connects N MS USER_MS SYS_MS".
// usage: connect-floor ADDRESS FIRST_PORT PORTS SECONDS
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: connect-floor ADDRESS FIRST_PORT PORTS SECONDS\n");
    return 2;
  }
  struct sockaddr_in to = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    fprintf(stderr, "connect-floor: bad address %s\n", argv[1]);
    return 2;
  }
  int first = atoi(argv[2]), ports = atoi(argv[3]);
  double secs = atof(argv[4]);
  int ep = epoll_create1(0);
  if (ep < 0) {
    perror("epoll_create1");
    return 1;
  }
  long done = 0, next = 0;
  int inflight = 0;
  double t0 = now(), t1 = t0;
  struct epoll_event evs[64];
  while ((t1 = now()) - t0 < secs || inflight > 0) {
    while (inflight < 64 && t1 - t0 < secs) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        perror("socket");
        return 1;
      }
      to.sin_port = htons(first + next++ % ports);
      if (connect(fd, (struct sockaddr *)&to, sizeof to) == 0 || errno != EINPROGRESS) {
        close(fd);
        done++;
        continue;
      }
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLERR | EPOLLHUP, .data.fd = fd};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      inflight++;
    }
    int n = epoll_wait(ep, evs, 64, 100);
    for (int i = 0; i < n; i++) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(evs[i].data.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      close(evs[i].data.fd); // closing also takes it out of the epoll set
      inflight--;
      done++;
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("H floor_connects %ld %ld %ld %ld\n", done, (long)((t1 - t0) * 1000),
         ru.ru_utime.tv_sec * 1000 + ru.ru_utime.tv_usec / 1000,
         ru.ru_stime.tv_sec * 1000 + ru.ru_stime.tv_usec / 1000);
  return 0;
}
