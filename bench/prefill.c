/*
 * Fills the table of the plugin running in a real collectd: sends frames
 * with N distinct IPv4 source addresses through the XDP program attached
 * to IFACE, as if they had arrived there.
 *
 * Usage: itr-bench-prefill IFACE N   (root, in IFACE's network namespace)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int main(int argc, char **argv) {
  int err;

  if (argc != 3) {
    fprintf(stderr, "usage: %s IFACE N\n", argv[0]);
    return 2;
  }
  err = prefill_attached(argv[1], (uint32_t)strtoul(argv[2], NULL, 0));
  check(err == 0, "prefilling through the XDP program on %s: %s", argv[1],
        strerror(-err));
  return 0;
}
