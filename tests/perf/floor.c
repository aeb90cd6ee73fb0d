/* ipvs-floor: the benchmark's floor (tests/bench). A minimal IPVS generic-netlink client that
 * does what a load or a listing cannot avoid, and nothing else: no parsing of text, no
 * formatting, no sorting.
 *
 *   ipvs-floor load SERVICES DESTS PATTERN FWDESTS
 *       adds SERVICES TCP services (wrr) with DESTS masquerading destinations each, and, when
 *       FWDESTS > 0, one fwmark service (mark 1, rr) with FWDESTS destinations: the objects
 *       tests/bench/gen.sh writes as ipvsadm lines, in the same order. PATTERN is "spread"
 *       (VIPs 10.0.0.1, 10.0.0.2, ...: the low byte varies) or "onechain" (VIPs 10.a.b.1: every
 *       service in one chain of the kernel's 256-bucket service hash). The messages go in
 *       sends of up to 32 KiB; only the last message of each send asks for an ACK.
 *   ipvs-floor list
 *       one GET_SERVICE dump, then one GET_DEST dump per service; walks the replies only far
 *       enough to find each service's key. Reads ask for a page (the kernel sizes each dump
 *       chunk from the largest read a socket made, and clears it) until a dump brings a second
 *       chunk of data; then 64 KiB, and after that dump a fresh socket: what ipvs-sys does.
 *
 * Exits 0, or 1 with a message when the kernel refused something. Build: gcc -O2 -o ipvs-floor
 * floor.c (Linux headers only). */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/genetlink.h>
#include <linux/ip_vs.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SEND_BYTES (32 * 1024)
#define RECV_BYTES (64 * 1024)

static int fd;
static uint16_t family;
static uint32_t seq;
static unsigned char sbuf[SEND_BYTES + 4096];
static size_t slen;
static unsigned char rbuf[RECV_BYTES];
static size_t rlen; /* what a read asks for */
static size_t small_recv(void) {
  long page = sysconf(_SC_PAGESIZE);
  return page < 4096 ? 4096 : page > 8192 ? 8192 : (size_t)page;
}

static void die(const char *what, int err) {
  fprintf(stderr, "ipvs-floor: %s: %s\n", what, strerror(err));
  exit(1);
}

/* Message building in sbuf at offset slen. */
static struct nlmsghdr *msg_start(uint16_t type, uint16_t flags, uint8_t cmd) {
  struct nlmsghdr *h = (struct nlmsghdr *)(sbuf + slen);
  struct genlmsghdr *g = (struct genlmsghdr *)(h + 1);
  h->nlmsg_len = NLMSG_HDRLEN + GENL_HDRLEN;
  h->nlmsg_type = type;
  h->nlmsg_flags = flags;
  h->nlmsg_seq = ++seq;
  h->nlmsg_pid = 0;
  g->cmd = cmd;
  g->version = IPVS_GENL_VERSION;
  g->reserved = 0;
  return h;
}
static void msg_end(struct nlmsghdr *h) { slen += NLMSG_ALIGN(h->nlmsg_len); }
static struct nlattr *put(struct nlmsghdr *h, uint16_t type, const void *data, uint16_t len) {
  struct nlattr *a = (struct nlattr *)((unsigned char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->nla_type = type;
  a->nla_len = NLA_HDRLEN + len;
  if (len) memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
  memset((unsigned char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + NLA_ALIGN(a->nla_len);
  return a;
}
static void put_u16(struct nlmsghdr *h, uint16_t t, uint16_t v) { put(h, t, &v, 2); }
static void put_u32(struct nlmsghdr *h, uint16_t t, uint32_t v) { put(h, t, &v, 4); }
static struct nlattr *nest(struct nlmsghdr *h, uint16_t t) { return put(h, t | NLA_F_NESTED, NULL, 0); }
static void nest_end(struct nlmsghdr *h, struct nlattr *a) {
  a->nla_len = (uint16_t)((unsigned char *)h + h->nlmsg_len - (unsigned char *)a);
}

static void send_all(void) {
  if (send(fd, sbuf, slen, 0) != (ssize_t)slen) die("send", errno);
  slen = 0;
}

/* Reads until the ACK or DONE of `want`; fails on any error message. Calls `data` for each
 * message of the family. Returns the number of data messages. */
static long recv_until(uint32_t want, int is_dump, void (*data)(struct nlmsghdr *)) {
  long n = 0;
  int chunks = 0;
  for (;;) {
    ssize_t r = recv(fd, rbuf, rlen, MSG_TRUNC);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("recv", errno);
    }
    if ((size_t)r > rlen) die("recv", EMSGSIZE);
    if (is_dump && r > 0 && ((struct nlmsghdr *)rbuf)->nlmsg_type != NLMSG_DONE && ++chunks >= 2)
      rlen = RECV_BYTES;
    for (struct nlmsghdr *h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, r); h = NLMSG_NEXT(h, r)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error) {
          fprintf(stderr, "ipvs-floor: message %u refused: %s\n", h->nlmsg_seq, strerror(-e->error));
          exit(1);
        }
        if (!is_dump && h->nlmsg_seq == want) return n;
      } else if (h->nlmsg_type == NLMSG_DONE) {
        if (is_dump && h->nlmsg_seq == want) return n;
      } else if (h->nlmsg_seq == want) {
        n++;
        if (data) data(h);
      }
    }
  }
}

static void resolve_family(void) {
  struct nlmsghdr *h = msg_start(GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY);
  put(h, CTRL_ATTR_FAMILY_NAME, IPVS_GENL_NAME, sizeof IPVS_GENL_NAME);
  msg_end(h);
  uint32_t s = seq;
  send_all();
  for (;;) {
    ssize_t r = recv(fd, rbuf, rlen, 0);
    if (r < 0) die("recv", errno);
    for (struct nlmsghdr *m = (struct nlmsghdr *)rbuf; NLMSG_OK(m, r); m = NLMSG_NEXT(m, r)) {
      if (m->nlmsg_seq != s) continue;
      if (m->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(m);
        if (e->error) die("IPVS family", -e->error);
        if (!family) die("IPVS family", ENOENT);
        return;
      }
      int len = (int)m->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
      struct nlattr *a = (struct nlattr *)((unsigned char *)NLMSG_DATA(m) + GENL_HDRLEN);
      for (; len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
           len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((unsigned char *)a + NLA_ALIGN(a->nla_len)))
        if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID)
          memcpy(&family, (unsigned char *)a + NLA_HDRLEN, 2);
    }
  }
}

/* The same addresses as tests/bench/gen.sh. */
static uint32_t vip(long i, int onechain) {
  if (onechain) return (10u << 24) | ((uint32_t)(i / 250 + 1) << 16 & 0xff0000) | ((uint32_t)(i % 250 + 1) << 8) | 1;
  return (10u << 24) + (uint32_t)i + 1;
}
static uint32_t rip(long n) { return (172u << 24 | 16u << 16) + (uint32_t)n + 1; }

static void put_addr(struct nlmsghdr *h, uint16_t t, uint32_t host) {
  unsigned char a[16] = {0};
  uint32_t be = htonl(host);
  memcpy(a, &be, 4);
  put(h, t, a, 16);
}
static void svc_key(struct nlmsghdr *h, uint32_t addr, uint32_t mark) {
  put_u16(h, IPVS_SVC_ATTR_AF, AF_INET);
  if (mark) {
    put_u32(h, IPVS_SVC_ATTR_FWMARK, mark);
  } else {
    put_u16(h, IPVS_SVC_ATTR_PROTOCOL, IPPROTO_TCP);
    put_addr(h, IPVS_SVC_ATTR_ADDR, addr);
    put_u16(h, IPVS_SVC_ATTR_PORT, htons(80));
  }
}

/* Appends one message; sends the pending ones first when it would not fit in 32 KiB. Every
 * message is built without NLM_F_ACK; the last one of a send gets it just before sending. */
static struct nlmsghdr *last;
static uint32_t sent_ok;
static void flush_batch(void) {
  if (!slen) return;
  last->nlmsg_flags |= NLM_F_ACK;
  uint32_t s = last->nlmsg_seq;
  send_all();
  recv_until(s, 0, NULL);
  sent_ok = s;
}
static void add_service(uint32_t addr, uint32_t mark, const char *sched) {
  size_t mark_len = slen;
  struct nlmsghdr *h = msg_start(family, NLM_F_REQUEST, IPVS_CMD_NEW_SERVICE);
  struct nlattr *n = nest(h, IPVS_CMD_ATTR_SERVICE);
  svc_key(h, addr, mark);
  put(h, IPVS_SVC_ATTR_SCHED_NAME, sched, (uint16_t)strlen(sched) + 1);
  struct ip_vs_flags fl = {0, ~0u};
  put(h, IPVS_SVC_ATTR_FLAGS, &fl, sizeof fl);
  put_u32(h, IPVS_SVC_ATTR_TIMEOUT, 0);
  put_u32(h, IPVS_SVC_ATTR_NETMASK, ~0u);
  nest_end(h, n);
  if (mark_len + NLMSG_ALIGN(h->nlmsg_len) > SEND_BYTES) {
    /* move it to the next send */
    unsigned char tmp[512];
    size_t len = NLMSG_ALIGN(h->nlmsg_len);
    memcpy(tmp, h, len);
    slen = mark_len;
    flush_batch();
    memcpy(sbuf, tmp, len);
    h = (struct nlmsghdr *)sbuf;
  }
  msg_end(h);
  last = h;
}
static void add_dest(uint32_t addr, uint32_t mark, uint32_t raddr, uint16_t rport) {
  size_t mark_len = slen;
  struct nlmsghdr *h = msg_start(family, NLM_F_REQUEST, IPVS_CMD_NEW_DEST);
  struct nlattr *n = nest(h, IPVS_CMD_ATTR_SERVICE);
  svc_key(h, addr, mark);
  nest_end(h, n);
  n = nest(h, IPVS_CMD_ATTR_DEST);
  put_u16(h, IPVS_DEST_ATTR_ADDR_FAMILY, AF_INET);
  put_addr(h, IPVS_DEST_ATTR_ADDR, raddr);
  put_u16(h, IPVS_DEST_ATTR_PORT, htons(rport));
  put_u32(h, IPVS_DEST_ATTR_FWD_METHOD, IP_VS_CONN_F_MASQ);
  put_u32(h, IPVS_DEST_ATTR_WEIGHT, 1);
  put_u32(h, IPVS_DEST_ATTR_U_THRESH, 0);
  put_u32(h, IPVS_DEST_ATTR_L_THRESH, 0);
  nest_end(h, n);
  if (mark_len + NLMSG_ALIGN(h->nlmsg_len) > SEND_BYTES) {
    unsigned char tmp[512];
    size_t len = NLMSG_ALIGN(h->nlmsg_len);
    memcpy(tmp, h, len);
    slen = mark_len;
    flush_batch();
    memcpy(sbuf, tmp, len);
    h = (struct nlmsghdr *)sbuf;
  }
  msg_end(h);
  last = h;
}

/* list: the keys of the dumped services, kept raw (the nested key attributes). */
struct key {
  unsigned char attrs[64];
  uint16_t len;
};
static struct key *keys;
static long nkeys, capkeys;
static void keep_key(struct nlmsghdr *h) {
  int len = (int)h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
  struct nlattr *a = (struct nlattr *)((unsigned char *)NLMSG_DATA(h) + GENL_HDRLEN);
  for (; len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
       len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((unsigned char *)a + NLA_ALIGN(a->nla_len))) {
    if ((a->nla_type & NLA_TYPE_MASK) != IPVS_CMD_ATTR_SERVICE) continue;
    if (nkeys == capkeys) {
      capkeys = capkeys ? 2 * capkeys : 1024;
      keys = realloc(keys, capkeys * sizeof *keys);
      if (!keys) die("realloc", ENOMEM);
    }
    struct key *k = &keys[nkeys++];
    k->len = 0;
    int n = a->nla_len - NLA_HDRLEN;
    struct nlattr *s = (struct nlattr *)((unsigned char *)a + NLA_HDRLEN);
    for (; n >= NLA_HDRLEN && s->nla_len >= NLA_HDRLEN && s->nla_len <= n;
         n -= NLA_ALIGN(s->nla_len), s = (struct nlattr *)((unsigned char *)s + NLA_ALIGN(s->nla_len))) {
      int t = s->nla_type & NLA_TYPE_MASK;
      if (t == IPVS_SVC_ATTR_AF || t == IPVS_SVC_ATTR_PROTOCOL || t == IPVS_SVC_ATTR_ADDR ||
          t == IPVS_SVC_ATTR_PORT || t == IPVS_SVC_ATTR_FWMARK) {
        if (k->len + NLA_ALIGN(s->nla_len) > (int)sizeof k->attrs) break;
        memcpy(k->attrs + k->len, s, NLA_ALIGN(s->nla_len));
        k->len += NLA_ALIGN(s->nla_len);
      }
    }
  }
}

static int usage(void) {
  fprintf(stderr, "usage: ipvs-floor load SERVICES DESTS spread|onechain FWDESTS | ipvs-floor list\n");
  return 2;
}

static void open_socket(void) {
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
  if (fd < 0) die("socket", errno);
  int one = 1, rcv = 4 << 20;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv);
  rlen = small_recv();
}
/* After a dump that needed big reads: a fresh socket, so that the next dumps get small chunks. */
static void renew(void) {
  if (rlen == small_recv()) return;
  close(fd);
  open_socket();
}

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  open_socket();
  resolve_family();
  if (!strcmp(argv[1], "load") && argc == 6) {
    long nsvc = atol(argv[2]), ndest = atol(argv[3]), nfw = atol(argv[5]);
    int onechain = !strcmp(argv[4], "onechain");
    for (long i = 0; i < nsvc; i++) {
      uint32_t v = vip(i, onechain);
      add_service(v, 0, "wrr");
      for (long j = 0; j < ndest; j++) add_dest(v, 0, rip(i * ndest + j), 8080);
    }
    if (nfw > 0) {
      add_service(0, 1, "rr");
      for (long j = 0; j < nfw; j++) add_dest(0, 1, rip(nsvc * ndest + j), 0);
    }
    flush_batch();
    return 0;
  }
  if (!strcmp(argv[1], "list") && argc == 2) {
    struct nlmsghdr *h = msg_start(family, NLM_F_REQUEST | NLM_F_DUMP, IPVS_CMD_GET_SERVICE);
    msg_end(h);
    send_all();
    recv_until(seq, 1, keep_key);
    renew();
    long dests = 0;
    for (long i = 0; i < nkeys; i++) {
      h = msg_start(family, NLM_F_REQUEST | NLM_F_DUMP, IPVS_CMD_GET_DEST);
      struct nlattr *n = nest(h, IPVS_CMD_ATTR_SERVICE);
      memcpy((unsigned char *)h + h->nlmsg_len, keys[i].attrs, keys[i].len);
      h->nlmsg_len += keys[i].len;
      nest_end(h, n);
      msg_end(h);
      send_all();
      dests += recv_until(seq, 1, NULL);
      renew();
    }
    printf("%ld services, %ld destinations\n", nkeys, dests);
    return 0;
  }
  return usage();
}
