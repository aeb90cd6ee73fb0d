/* vm-costs: what the test VM charges apart from instructions (tests/perf/vm-costs).
 *   vm-costs pages N   first touch of N fresh pages (mmap, malloc), and MAP_POPULATE's cost
 *   vm-costs code      first and second run of the NEW_CODE generated functions
 * Prints microseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

volatile unsigned long v;
#ifdef NEW_CODE
#include "vm-costs-code.h" /* defines F(i) functions f0..f(NEW_CODE-1) and run_all() */
#endif

static int pages(size_t n) {
  size_t len = n * 4096;
  double a = now();
  char *p = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (size_t i = 0; i < len; i += 4096) p[i] = 1;
  double b = now();
  char *q = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (q == MAP_FAILED) return 1;
  q[0] = 1;
  double c = now();
  char *s = malloc(len);
  if (!s) return 1;
  for (size_t i = 0; i < len; i += 4096) s[i] = 1;
  double d = now();
  printf("pages %zu: touch %.0f us (%.1f a page), populate %.0f us (%.1f), malloc and touch %.0f us (%.1f)\n",
         n, b - a, (b - a) / n, c - b, (c - b) / n, d - c, (d - c) / n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "pages") == 0) return pages(strtoul(argv[2], 0, 10));
#ifdef NEW_CODE
  if (argc == 2 && strcmp(argv[1], "code") == 0) {
    double a = now();
    run_all();
    double b = now();
    run_all();
    double c = now();
    printf("code: %d functions: first run %.0f us, second %.0f us\n", NEW_CODE, b - a, c - b);
    return 0;
  }
#endif
  fprintf(stderr, "usage: vm-costs pages N | vm-costs code\n");
  return 2;
}
