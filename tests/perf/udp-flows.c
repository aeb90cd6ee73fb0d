/* udp-flows: fills the IPVS connection table for tests/bench --conns. Sends one datagram to
 * DST:DPORT from each source port FIRST..FIRST+COUNT-1 of SRC: through a UDP service, each is
 * a flow of its own, so one connection entry each (kept for the UDP timeout).
 *
 *   udp-flows SRC FIRST COUNT DST DPORT
 *
 * Prints the number of datagrams sent; exits 1 when none could be. Build: gcc -O2 -o udp-flows
 * udp-flows.c. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: udp-flows SRC FIRST COUNT DST DPORT\n");
    return 2;
  }
  struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
  long first = atol(argv[2]), count = atol(argv[3]);
  if (inet_pton(AF_INET, argv[1], &src.sin_addr) != 1 || inet_pton(AF_INET, argv[4], &dst.sin_addr) != 1 ||
      first < 1 || count < 1 || first + count > 65536) {
    fprintf(stderr, "udp-flows: bad arguments\n");
    return 2;
  }
  dst.sin_port = htons((unsigned short)atoi(argv[5]));
  long sent = 0;
  for (long p = first; p < first + count; p++) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) {
      perror("socket");
      return 1;
    }
    src.sin_port = htons((unsigned short)p);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) == 0 &&
        sendto(fd, "x", 1, 0, (struct sockaddr *)&dst, sizeof dst) == 1)
      sent++;
    close(fd);
  }
  printf("%ld\n", sent);
  return sent > 0 ? 0 : 1;
}
