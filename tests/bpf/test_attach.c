/*
 * Loader tests: attaching and detaching the plugin's programs on a veth
 * pair in a private network namespace, next to other tools' qdiscs,
 * filters and XDP programs. Covers the clsact (pre-6.6) egress path on
 * every kernel, not only the tcx one the running kernel may prefer.
 *
 * Needs root; exits 77 (skip) otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

#include "expect.h"

/* Runs a shell command in the test's namespace; true if it succeeded. */
static bool sh(const char *cmd) {
  return system(cmd) == 0;
}

/* True if the command prints something matching the grep pattern. */
static bool shows(const char *cmd, const char *pattern) {
  char buf[512];

  snprintf(buf, sizeof(buf), "%s 2>/dev/null | grep -q -- '%s'", cmd, pattern);
  return sh(buf);
}

static bool has_clsact(void) {
  return shows("tc qdisc show dev itra", "clsact");
}

static bool has_foreign_filter(void) {
  return shows("tc filter show dev itra egress", "pref 7");
}

/* Egress through a clsact filter, as on kernels before 6.6. */
static void test_clsact(struct itr_loader *l, int ifindex) {
  struct itr_tc_attachment tc;
  int err;

  /* No qdisc yet: the plugin creates one and removes it again. */
  EXPECT(!has_clsact(), "clsact before the test");
  err = itr_tc_attach(l, ifindex, ITR_TC_EGRESS, false, &tc);
  EXPECT(err == 0, "tc attach: %s", strerror(-err));
  EXPECT(tc.legacy && tc.created_qdisc, "legacy %d created %d", tc.legacy,
         tc.created_qdisc);
  EXPECT(has_clsact(), "no clsact after attach");
  EXPECT(shows("tc filter show dev itra egress", "iptraffic_tc"),
         "no filter of the plugin");
  EXPECT(itr_tc_detach(&tc) == 0, "tc detach");
  EXPECT(!has_clsact(), "the plugin's clsact qdisc is left");

  /* Someone else's qdisc and filter: both stay. */
  EXPECT(
      sh("tc qdisc add dev itra clsact && tc filter add dev itra egress pref 7 "
         "protocol all u32 match u32 0 0 flowid 1:7"),
      "foreign filter setup");
  err = itr_tc_attach(l, ifindex, ITR_TC_EGRESS, false, &tc);
  EXPECT(err == 0 && !tc.created_qdisc, "attach next to a foreign filter");
  EXPECT(itr_tc_detach(&tc) == 0, "tc detach");
  EXPECT(has_clsact() && has_foreign_filter(),
         "foreign qdisc or filter removed");
  EXPECT(!shows("tc filter show dev itra egress", "iptraffic_tc"),
         "the plugin's filter is left");
  EXPECT(sh("tc qdisc del dev itra clsact"), "cleanup");

  /* The plugin's qdisc gets a foreign filter later: the qdisc stays. */
  err = itr_tc_attach(l, ifindex, ITR_TC_EGRESS, false, &tc);
  EXPECT(err == 0 && tc.created_qdisc, "attach on a bare interface");
  EXPECT(sh("tc filter add dev itra egress pref 7 protocol all u32 match u32 0 "
            "0 flowid 1:7"),
         "foreign filter on the plugin's qdisc");
  EXPECT(itr_tc_detach(&tc) == 0, "tc detach");
  EXPECT(has_clsact() && has_foreign_filter(),
         "a qdisc with a foreign filter was removed");
  EXPECT(sh("tc qdisc del dev itra clsact"), "cleanup");
}

/* Egress as a tcx link where the kernel has them (6.6). */
static void test_tcx(struct itr_loader *l, int ifindex) {
  struct itr_tc_attachment tc;
  int err = itr_tc_attach(l, ifindex, ITR_TC_EGRESS, true, &tc);

  EXPECT(err == 0, "tc attach: %s", strerror(-err));
  if (!tc.legacy) {
    EXPECT(tc.link_fd >= 0, "tcx without a link");
    EXPECT(!has_clsact(), "tcx created a qdisc");
  }
  EXPECT(itr_tc_detach(&tc) == 0, "tc detach");
  EXPECT(!shows("bpftool net show dev itra", "iptraffic_tc"),
         "egress program left");
  EXPECT(!has_clsact(), "qdisc left");
  printf("egress on this kernel: %s\n", tc.legacy ? "clsact" : "tcx");
}

static void test_xdp(struct itr_loader *l, int ifindex) {
  struct itr_xdp_attachment xdp;
  uint32_t id = 0;
  char name[64];
  int err;

  err = itr_xdp_attach(l, ifindex, ITR_XDP_GENERIC, &xdp);
  EXPECT(err == 0 && !xdp.native, "generic attach: %s", strerror(-err));
  EXPECT(itr_xdp_query(ifindex, &id, name, sizeof(name)) == 0 && id != 0,
         "query");
  EXPECT(strcmp(name, "iptraffic_xdp") == 0, "program name '%s'", name);

  /* A second attach finds the hook taken and replaces nothing. */
  {
    struct itr_xdp_attachment again;

    err = itr_xdp_attach(l, ifindex, ITR_XDP_GENERIC, &again);
    EXPECT(err == -EBUSY || err == -EEXIST, "second attach: %s",
           strerror(-err));
  }
  EXPECT(itr_xdp_detach(&xdp) == 0, "detach");
  EXPECT(itr_xdp_query(ifindex, &id, name, sizeof(name)) == 0 && id == 0,
         "program left after detach (id %u)", id);

  /* Detaching twice is harmless. */
  EXPECT(itr_xdp_detach(&xdp) == 0, "second detach");

  /* Native on veth, auto picks it. */
  err = itr_xdp_attach(l, ifindex, ITR_XDP_AUTO, &xdp);
  EXPECT(err == 0 && xdp.native, "auto attach on veth: %s native %d",
         strerror(-err), xdp.native);
  EXPECT(itr_xdp_detach(&xdp) == 0, "detach");
}

int main(void) {
  struct itr_loader *l;
  int ifindex, err;

  if (geteuid() != 0) {
    printf("SKIP: attaching programs needs root\n");
    return getenv("ITR_NO_SKIP") ? 1 : 77;
  }
  /* A private network namespace: gone with the process. */
  if (unshare(CLONE_NEWNET) != 0) {
    perror("unshare(CLONE_NEWNET)");
    return 1;
  }
  if (!sh("ip link add itra type veth peer name itrb && ip link set itra up && "
          "ip link set itrb up")) {
    fprintf(stderr, "cannot create the veth pair\n");
    return 1;
  }
  ifindex = (int)if_nametoindex("itra");
  err = itr_loader_open(&l, 64);
  if (err) {
    fprintf(stderr, "loading the BPF programs failed: %s\n", strerror(-err));
    return 1;
  }
  test_clsact(l, ifindex);
  test_tcx(l, ifindex);
  test_xdp(l, ifindex);
  itr_loader_close(l);
  printf("%d checks, %d failures\n", checks, failures);
  return failures ? 1 : 0;
}
