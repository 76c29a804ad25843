/*
 * Loading and attaching the BPF programs with libbpf.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/membarrier.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "dispatcher.h"
#include "iptraffic.h"
#include "loader.h"
#include "iptraffic.skel.h"

/* tcx attach types and link type (Linux 6.6); older headers lack them. */
#define ITR_BPF_TCX_INGRESS 46
#define ITR_BPF_TCX_EGRESS 47
#define ITR_BPF_LINK_TYPE_TCX 11

#define ITR_OWN_MAPS 4

struct itr_loader {
  struct iptraffic_bpf *skel;
  bool has_frags;
  bool has_merge;
  uint32_t own_maps[ITR_OWN_MAPS]; /* earlier tables (see itr_loader_own) */
  int own_maps_num;
  bool no_dispatcher; /* the kernel runs no libxdp dispatcher */
};

static itr_print_fn print_fn;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
                        va_list ap) {
  itr_print_va(print_fn, level == LIBBPF_WARN ? ITR_LOG_WARNING : ITR_LOG_DEBUG,
               fmt, ap);
  return 0;
}

void itr_loader_set_print(itr_print_fn fn) {
  print_fn = fn;
  libbpf_set_print(fn ? libbpf_print : NULL);
  itr_dispatcher_set_print(fn);
}

/* Fills the network trie from the <Network> blocks. */
static int load_networks(struct itr_loader *l, const struct itr_config *cfg) {
  int fd = bpf_map__fd(l->skel->maps.itr_networks);

  for (size_t i = 0; i < cfg->networks_num; i++) {
    const struct itr_network *n = &cfg->networks[i];
    struct iptraffic_net_key key = {.prefixlen = 8u + n->len, .kind = n->kind};
    struct iptraffic_net_value value = {.prefixlen = n->prefixlen,
                                        .ignore = n->ignore};

    memcpy(key.addr, n->addr, sizeof(key.addr));
    if (bpf_map_update_elem(fd, &key, &value, BPF_ANY) < 0)
      return -errno;
  }
  return 0;
}

int itr_loader_probe_privileges(void) {
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "itr_probe", sizeof(uint32_t),
                          sizeof(uint32_t), 1, NULL);

  if (fd < 0)
    return -errno;
  close(fd);
  return 0;
}

uint32_t itr_loader_hot_entries(const struct itr_loader_opts *opts) {
  return (uint32_t)(IPTRAFFIC_NUM_SPECIAL * opts->interfaces +
                    IPTRAFFIC_HOT_ADDRS);
}

/* The tables: what is pinned (the skeleton's internal maps are not state
 * and stay unpinned). */
#define TABLES 5
static void tables(struct iptraffic_bpf *skel, struct bpf_map **out) {
  out[0] = skel->maps.itr_addr4;
  out[1] = skel->maps.itr_addr6;
  out[2] = skel->maps.itr_hot;
  out[3] = skel->maps.itr_hot_filter;
  out[4] = skel->maps.itr_networks;
}

/* Each table's pin under dir, by its name: set as the path libbpf reuses
 * or pins at load (now false), or pinned there at once (now true). */
static int pin_tables(struct iptraffic_bpf *skel, const char *dir, bool now) {
  struct bpf_map *maps[TABLES];

  tables(skel, maps);
  for (size_t i = 0; i < TABLES; i++) {
    char path[320];
    int err;

    snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(maps[i]));
    err = now ? bpf_map__pin(maps[i], path)
              : bpf_map__set_pin_path(maps[i], path);
    if (err)
      return err;
  }
  return 0;
}

int itr_loader_pin(struct itr_loader *l, const char *dir) {
  return pin_tables(l->skel, dir, true);
}

void itr_loader_own(struct itr_loader *l, uint32_t map_id) {
  if (map_id && l->own_maps_num < ITR_OWN_MAPS)
    l->own_maps[l->own_maps_num++] = map_id;
}

int itr_loader_open_config(struct itr_loader **out,
                           const struct itr_loader_opts *opts,
                           const struct itr_config *cfg) {
  struct itr_loader *l;
  size_t networks = cfg ? cfg->networks_num : 0;
  int err;

  l = calloc(1, sizeof(*l));
  if (!l)
    return -ENOMEM;
  l->skel = iptraffic_bpf__open();
  if (!l->skel) {
    err = -errno;
    goto fail;
  }
  err = bpf_map__set_max_entries(l->skel->maps.itr_addr4, opts->ipv4);
  if (!err)
    err = bpf_map__set_max_entries(l->skel->maps.itr_addr6, opts->ipv6);
  if (!err)
    err = bpf_map__set_max_entries(l->skel->maps.itr_hot,
                                   itr_loader_hot_entries(opts));
  if (!err)
    err = bpf_map__set_max_entries(l->skel->maps.itr_networks,
                                   networks ? (uint32_t)networks : 1);
  if (!err && opts->pin_dir)
    err = pin_tables(l->skel, opts->pin_dir, false);
  if (err)
    goto fail;
  if (cfg) {
    l->skel->rodata->itr_ipv4_prefixlen = cfg->ipv4_prefixlen;
    l->skel->rodata->itr_ipv6_prefixlen = cfg->ipv6_prefixlen;
    l->skel->rodata->itr_has_networks = networks > 0;
  }
  /* Multi-buffer XDP came with bpf_xdp_get_buff_len() in 5.18. */
  l->has_frags = libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP,
                                         BPF_FUNC_xdp_get_buff_len, NULL) > 0;
  if (!l->has_frags)
    bpf_program__set_autoload(l->skel->progs.iptraffic_xdp_frags, false);
  /* Programs run from userspace (the merge) came in 5.14. */
  l->has_merge = !opts->no_merge &&
                 libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SYSCALL, NULL) > 0;
  if (!l->has_merge)
    bpf_program__set_autoload(l->skel->progs.iptraffic_merge, false);
  err = iptraffic_bpf__load(l->skel);
  if (!err && networks)
    err = load_networks(l, cfg);
  if (err)
    goto fail;
  *out = l;
  return 0;

fail:
  itr_loader_close(l);
  return err < 0 ? err : -EINVAL;
}

int itr_loader_open(struct itr_loader **out, uint32_t max_entries) {
  const struct itr_loader_opts opts = {.ipv4 = max_entries,
                                       .ipv6 = max_entries,
                                       .interfaces = ITR_LOADER_INTERFACES};

  return itr_loader_open_config(out, &opts, NULL);
}

void itr_loader_close(struct itr_loader *l) {
  if (!l)
    return;
  iptraffic_bpf__destroy(l->skel);
  free(l);
}

void itr_loader_maps(const struct itr_loader *l, struct itr_maps *m) {
  m->addr4 = bpf_map__fd(l->skel->maps.itr_addr4);
  m->addr6 = bpf_map__fd(l->skel->maps.itr_addr6);
  m->hot = bpf_map__fd(l->skel->maps.itr_hot);
  m->hot_filter = bpf_map__fd(l->skel->maps.itr_hot_filter);
}

uint32_t itr_loader_table_id(const struct itr_loader *l) {
  struct bpf_map_info info;
  uint32_t len = sizeof(info);

  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(itr_loader_map_fd(l), &info, &len) < 0)
    return 0;
  return info.id;
}

int itr_loader_map_fd(const struct itr_loader *l) {
  return bpf_map__fd(l->skel->maps.itr_addr4);
}

int itr_loader_xdp_fd(const struct itr_loader *l) {
  return bpf_program__fd(l->skel->progs.iptraffic_xdp);
}

int itr_loader_xdp_frags_fd(const struct itr_loader *l) {
  return l->has_frags ? bpf_program__fd(l->skel->progs.iptraffic_xdp_frags)
                      : -EOPNOTSUPP;
}

int itr_loader_tc_fd(const struct itr_loader *l) {
  return bpf_program__fd(l->skel->progs.iptraffic_tc);
}

bool itr_loader_has_frags(const struct itr_loader *l) {
  return l->has_frags;
}

bool itr_loader_has_merge(const struct itr_loader *l) {
  return l->has_merge;
}

/* XDP and tc programs run inside RCU read-side sections (a NAPI poll runs
 * a whole batch of frames with the program it found at its start), and
 * MEMBARRIER_CMD_GLOBAL (Linux 4.3) waits for an RCU grace period. Where
 * it is refused (CPUs in nohz_full mode) a pause far longer than any
 * batch stands in. */
void itr_loader_wait_programs(void) {
  if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0) != 0)
    usleep(50000);
}

int itr_loader_merge(const struct itr_loader *l,
                     const struct iptraffic_key *key,
                     const struct iptraffic_value *v) {
  struct iptraffic_merge m = {.key = *key, .value = *v};
  LIBBPF_OPTS(bpf_test_run_opts, run, .ctx_in = &m, .ctx_size_in = sizeof(m));

  if (!l->has_merge)
    return -EOPNOTSUPP;
  if (bpf_prog_test_run_opts(bpf_program__fd(l->skel->progs.iptraffic_merge),
                             &run) < 0)
    return -errno;
  return m.err; /* written back into ctx_in */
}

/* One socket for the interface ioctls, opened at the first: the reads
 * look at the MTU of every counted interface now and then. */
static int ioctl_socket(void) {
  static int shared = -1;
  int fd = __atomic_load_n(&shared, __ATOMIC_ACQUIRE), expected = -1;

  if (fd >= 0)
    return fd;
  fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  if (!__atomic_compare_exchange_n(&shared, &expected, fd, false,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    close(fd); /* another thread was first */
    return expected;
  }
  return fd;
}

static int interface_mtu(int ifindex) {
  struct ifreq ifr;
  int fd = ioctl_socket();

  if (fd < 0)
    return fd;
  memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_ifindex = ifindex;
  if (ioctl(fd, SIOCGIFNAME, &ifr) < 0 || ioctl(fd, SIOCGIFMTU, &ifr) < 0)
    return -errno;
  return ifr.ifr_mtu;
}

/* Attaches in one mode: through a bpf_link where the kernel has them (the
 * kernel then detaches the program if collectd dies), else through netlink
 * without replacing an existing program. */
static int attach_mode(struct itr_xdp_attachment *a, bool native) {
  int prog_fd = a->prog_fd;
  uint32_t mode = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode);
  int fd, err;

  fd = bpf_link_create(prog_fd, a->ifindex, BPF_XDP, &opts);
  if (fd >= 0) {
    a->link_fd = fd;
    a->native = native;
    a->attached = true;
    return 0;
  }
  err = -errno;
  if (err != -EINVAL)
    return err;
  /* EINVAL: the kernel has no XDP links (before 5.9). */
  a->flags = mode | XDP_FLAGS_UPDATE_IF_NOEXIST;
  err = bpf_xdp_attach(a->ifindex, prog_fd, a->flags, NULL);
  if (err)
    return err == -EEXIST ? -EBUSY : err;
  a->used_netlink = true;
  a->native = native;
  a->attached = true;
  return 0;
}

/* A program in the other mode makes the kernel refuse with EEXIST (native
 * and generic XDP cannot be active at once): the hook is taken all the
 * same, -EBUSY as when the program is in the same mode. */
static int held_elsewhere(int ifindex, int err) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);

  if (err == -EEXIST && bpf_xdp_query(ifindex, 0, &q) == 0 &&
      (q.prog_id || q.drv_prog_id || q.skb_prog_id || q.hw_prog_id))
    return -EBUSY;
  return err;
}

int itr_xdp_attach(struct itr_loader *l, int ifindex, enum itr_xdp_mode mode,
                   struct itr_xdp_attachment *a) {
  int err;

  memset(a, 0, sizeof(*a));
  a->ifindex = ifindex;
  a->link_fd = -1;
  a->mtu = interface_mtu(ifindex);
  if (a->mtu < 0)
    return a->mtu;
  a->frags = l->has_frags && a->mtu > ITR_XDP_FRAGS_MTU;
  a->prog_fd = a->frags ? itr_loader_xdp_frags_fd(l) : itr_loader_xdp_fd(l);
  if (mode == ITR_XDP_GENERIC)
    return held_elsewhere(ifindex, attach_mode(a, false));
  err = attach_mode(a, true);
  if (err == 0 || mode == ITR_XDP_NATIVE)
    return held_elsewhere(ifindex, err);
  /* auto: generic mode where the driver cannot run XDP natively. */
  if (err != -EOPNOTSUPP && err != -EINVAL)
    return held_elsewhere(ifindex, err);
  a->native_err = err;
  return held_elsewhere(ifindex, attach_mode(a, false));
}

int itr_xdp_detach(struct itr_xdp_attachment *a) {
  int err = 0;

  if (!a->attached)
    return 0;
  if (a->dispatched) {
    err = itr_dispatcher_leave(a->ifindex, a->dispatched_prog);
  } else if (a->link_fd >= 0) {
    close(a->link_fd);
    a->link_fd = -1;
  } else {
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = a->prog_fd);
    uint32_t flags = (a->flags & ~XDP_FLAGS_UPDATE_IF_NOEXIST);

    err = bpf_xdp_detach(a->ifindex, flags | XDP_FLAGS_REPLACE, &opts);
    /* Gone with its interface, or replaced by someone else: not ours to
     * remove any more. */
    if (err == -ENODEV || err == -EEXIST)
      err = 0;
  }
  a->attached = false;
  return err;
}

/* The link pinned at pin if it is of type and attached to ifindex (the
 * first field of every netdev link's info), else -1, the pin removed: a
 * link of a vanished interface or another start's. */
static int pinned_link(const char *pin, uint32_t type, int ifindex) {
  struct bpf_link_info info;
  uint32_t len = sizeof(info);
  int fd = bpf_obj_get(pin);

  if (fd < 0)
    return -1;
  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == type &&
      info.xdp.ifindex == (uint32_t)ifindex)
    return fd;
  unlink(pin);
  close(fd);
  return -1;
}

int itr_xdp_attach_pinned(struct itr_loader *l, int ifindex,
                          enum itr_xdp_mode mode, const char *pin,
                          struct itr_xdp_attachment *a) {
  int fd = pin ? pinned_link(pin, BPF_LINK_TYPE_XDP, ifindex) : -1;
  int err;

  if (fd >= 0) {
    LIBBPF_OPTS(bpf_xdp_query_opts, q);
    bool native;

    memset(a, 0, sizeof(*a));
    a->ifindex = ifindex;
    a->link_fd = -1;
    a->mtu = interface_mtu(ifindex);
    a->frags = l->has_frags && a->mtu > ITR_XDP_FRAGS_MTU;
    a->prog_fd = a->frags ? itr_loader_xdp_frags_fd(l) : itr_loader_xdp_fd(l);
    native =
        bpf_xdp_query(ifindex, 0, &q) == 0 && q.attach_mode == XDP_ATTACHED_DRV;
    if (a->mtu > 0 && !(mode == ITR_XDP_NATIVE && !native) &&
        !(mode == ITR_XDP_GENERIC && native) &&
        bpf_link_update(fd, a->prog_fd, NULL) == 0) {
      a->link_fd = fd;
      a->native = native;
      a->attached = true;
      a->reused = true;
      return 0;
    }
    /* Another mode asked for, or the update refused: attach afresh. */
    unlink(pin);
    close(fd);
  }
  err = itr_xdp_attach(l, ifindex, mode, a);
  if (err == 0 && pin && a->link_fd >= 0 && bpf_obj_pin(a->link_fd, pin) < 0)
    err = 0; /* counting all the same, only not across a restart */
  return err;
}

int itr_xdp_release(struct itr_xdp_attachment *a) {
  if (a->attached && a->dispatched && a->keep) {
    a->attached = false; /* it runs on in the dispatcher */
    return 0;
  }
  if (a->attached && a->link_fd >= 0) {
    close(a->link_fd); /* a pinned link stays */
    a->link_fd = -1;
    a->attached = false;
    return 0;
  }
  return itr_xdp_detach(a);
}

int itr_xdp_refit(struct itr_loader *l, struct itr_xdp_attachment *a) {
  int mtu, fd, err;
  bool frags;

  if (!a->attached || a->dispatched || !l->has_frags)
    return 0;
  mtu = interface_mtu(a->ifindex);
  if (mtu < 0)
    return mtu;
  a->mtu = mtu;
  frags = mtu > ITR_XDP_FRAGS_MTU;
  if (frags == a->frags)
    return 0;
  fd = frags ? itr_loader_xdp_frags_fd(l) : itr_loader_xdp_fd(l);
  if (a->link_fd >= 0) {
    err = bpf_link_update(a->link_fd, fd, NULL);
  } else {
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = a->prog_fd);

    err = bpf_xdp_attach(
        a->ifindex, fd,
        (a->flags & ~XDP_FLAGS_UPDATE_IF_NOEXIST) | XDP_FLAGS_REPLACE, &opts);
  }
  if (err)
    return err < 0 ? err : -EIO;
  a->prog_fd = fd;
  a->frags = frags;
  return 1;
}

/* The program a query found attached, in whichever mode. */
static uint32_t attached_xdp_id(const struct bpf_xdp_query_opts *q) {
  return q->prog_id ? q->prog_id
                    : (q->drv_prog_id ? q->drv_prog_id : q->skb_prog_id);
}

int itr_xdp_query(int ifindex, uint32_t *prog_id, char *name, size_t len) {
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  struct bpf_prog_info info;
  uint32_t info_len = sizeof(info);
  int err, fd;

  *prog_id = 0;
  if (len)
    name[0] = '\0';
  err = bpf_xdp_query(ifindex, 0, &opts);
  if (err)
    return err;
  *prog_id = attached_xdp_id(&opts);
  if (*prog_id == 0)
    return 0;
  fd = bpf_prog_get_fd_by_id(*prog_id);
  if (fd < 0)
    return 0; /* the id is still useful without the name */
  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(fd, &info, &info_len) == 0 && len)
    snprintf(name, len, "%s", info.name);
  close(fd);
  return 0;
}

/* --- Egress: tcx or clsact ------------------------------------------------ */

/* One filter of a dump: its handle, priority and, for a bpf filter, its
 * program's id (0 for other filters). */
struct filter_info {
  uint32_t handle;
  uint32_t priority;
  uint32_t prog_id;
};

typedef void (*filter_fn)(const struct filter_info *f, void *ctx);

/* The program id of a cls_bpf filter's attributes, or 0. */
static uint32_t bpf_filter_prog_id(const struct tcmsg *t, size_t len) {
  const struct rtattr *a =
      (const struct rtattr *)((const char *)t + NLMSG_ALIGN(sizeof(*t)));
  const struct rtattr *options = NULL;
  bool is_bpf = false;
  int left = (int)len - (int)NLMSG_ALIGN(sizeof(*t));

  for (; RTA_OK(a, left); a = RTA_NEXT(a, left)) {
    if (a->rta_type == TCA_KIND)
      is_bpf = strncmp(RTA_DATA(a), "bpf", RTA_PAYLOAD(a)) == 0 &&
               RTA_PAYLOAD(a) >= 4;
    else if (a->rta_type == TCA_OPTIONS)
      options = a;
  }
  if (!is_bpf || !options)
    return 0;
  left = (int)RTA_PAYLOAD(options);
  for (a = RTA_DATA(options); RTA_OK(a, left); a = RTA_NEXT(a, left))
    if (a->rta_type == TCA_BPF_ID && RTA_PAYLOAD(a) >= sizeof(uint32_t))
      return *(const uint32_t *)RTA_DATA(a);
  return 0;
}

/* Calls fn for each filter on the interface's clsact qdisc under parent
 * (ingress or egress), with an RTM_GETTFILTER dump. Returns the number of
 * filters or a negative errno. */
static int dump_filters(int ifindex, uint32_t parent, filter_fn fn, void *ctx) {
  struct {
    struct nlmsghdr nh;
    struct tcmsg tc;
  } req = {
      .nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct tcmsg)),
             .nlmsg_type = RTM_GETTFILTER,
             .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
             .nlmsg_seq = 1},
      .tc = {.tcm_family = AF_UNSPEC,
             .tcm_ifindex = ifindex,
             .tcm_parent = parent},
  };
  char buf[8192];
  bool done = false;
  int fd, count = 0, err = 0;

  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0)
    return -errno;
  if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
    err = -errno;
  while (!done && !err) {
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;

    if (n < 0) {
      err = -errno;
      break;
    }
    for (; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type == NLMSG_DONE) {
        done = true;
        break;
      }
      if (nh->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(nh);
        err = e->error;
        break;
      }
      if (nh->nlmsg_type == RTM_NEWTFILTER) {
        const struct tcmsg *t = NLMSG_DATA(nh);
        struct filter_info f = {
            .handle = t->tcm_handle,
            .priority = TC_H_MAJ(t->tcm_info) >> 16,
            .prog_id = bpf_filter_prog_id(t, nh->nlmsg_len - NLMSG_HDRLEN)};

        /* The dump lists a chain's filter once per priority with handle
         * 0 first; only real filters count. */
        if (t->tcm_handle == 0)
          continue;
        count++;
        if (fn)
          fn(&f, ctx);
      }
    }
  }
  close(fd);
  return err ? err : count;
}

/* Counts the filters on the interface's clsact qdisc (both hooks). */
static int clsact_filters(int ifindex) {
  int in = dump_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS), NULL,
                        NULL);
  int out = dump_filters(ifindex, TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS), NULL,
                         NULL);

  if (in < 0)
    return in;
  return out < 0 ? out : in + out;
}

/* Whether program prog_id uses one of the n maps of ids. */
static bool prog_uses_maps(uint32_t prog_id, const uint32_t *ids, int n) {
  struct bpf_prog_info pi;
  uint32_t maps[16] = {0}, plen = sizeof(pi);
  bool uses = false;
  int fd = bpf_prog_get_fd_by_id(prog_id);

  if (fd < 0)
    return false;
  memset(&pi, 0, sizeof(pi));
  pi.nr_map_ids = sizeof(maps) / sizeof(maps[0]);
  pi.map_ids = (uint64_t)(unsigned long)maps;
  if (bpf_obj_get_info_by_fd(fd, &pi, &plen) == 0)
    for (uint32_t i = 0; i < pi.nr_map_ids && i < 16; i++)
      for (int k = 0; k < n; k++)
        uses |= ids[k] && maps[i] == ids[k];
  close(fd);
  return uses;
}

/* The ids of l's IPv4 table and of the earlier tables it takes for its own
 * (itr_loader_own): the programs that use one are this plugin's. */
static int own_ids(const struct itr_loader *l, uint32_t *ids) {
  int n = 0;

  ids[n] = itr_loader_table_id(l);
  n += ids[n] != 0;
  for (int k = 0; k < l->own_maps_num; k++)
    ids[n++] = l->own_maps[k];
  return n;
}

/* --- Joining a libxdp dispatcher ---------------------------------------- */

#define ITR_DISPATCHED_MAX 16 /* more than libxdp's 10 programs */

/* This plugin's program in the dispatcher on ifindex: the first that uses
 * one of the n maps of ids, 0 if none. */
static uint32_t dispatched(int ifindex, const uint32_t *ids, int n) {
  uint32_t progs[ITR_DISPATCHED_MAX];
  bool native;
  int count =
      itr_dispatcher_programs(ifindex, progs, ITR_DISPATCHED_MAX, &native);

  for (int i = 0; i < count && i < ITR_DISPATCHED_MAX; i++)
    if (prog_uses_maps(progs[i], ids, n))
      return progs[i];
  return 0;
}

/* Whether program prog_id runs in the dispatcher on ifindex. */
static bool in_dispatcher(int ifindex, uint32_t prog_id) {
  uint32_t progs[ITR_DISPATCHED_MAX];
  bool native;
  int count =
      itr_dispatcher_programs(ifindex, progs, ITR_DISPATCHED_MAX, &native);

  for (int i = 0; i < count && i < ITR_DISPATCHED_MAX; i++)
    if (progs[i] == prog_id)
      return true;
  return false;
}

/* An attachment to ifindex through a dispatcher, not attached yet. */
static int dispatched_init(struct itr_xdp_attachment *a, int ifindex,
                           bool keep) {
  memset(a, 0, sizeof(*a));
  a->ifindex = ifindex;
  a->link_fd = -1;
  a->prog_fd = -1;
  a->keep = keep;
  a->mtu = interface_mtu(ifindex);
  return a->mtu < 0 ? a->mtu : 0;
}

/* A second copy of the BPF object, not loaded, with l's maps in place of
 * its own and only prog_name to load: libxdp loads it to run inside the
 * dispatcher. */
static struct bpf_object *object_for_dispatcher(const struct itr_loader *l,
                                                const char *prog_name) {
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "iptraffic");
  struct bpf_object *obj;
  struct bpf_program *p;
  struct bpf_map *m;
  size_t size;
  const void *elf = iptraffic_bpf__elf_bytes(&size);
  int err = 0;

  obj = bpf_object__open_mem(elf, size, &opts);
  if (!obj)
    return NULL;
  bpf_object__for_each_map(m, obj) {
    const struct bpf_map *own =
        bpf_object__find_map_by_name(l->skel->obj, bpf_map__name(m));

    err = own ? bpf_map__reuse_fd(m, bpf_map__fd(own)) : -ENOENT;
    if (err)
      break;
  }
  bpf_object__for_each_program(p, obj) {
    if (!err)
      err = bpf_program__set_autoload(
          p, strcmp(bpf_program__name(p), prog_name) == 0);
  }
  if (err) {
    bpf_object__close(obj);
    errno = -err;
    return NULL;
  }
  return obj;
}

int itr_xdp_join_dispatcher(struct itr_loader *l, int ifindex,
                            enum itr_xdp_mode mode, bool keep,
                            struct itr_xdp_attachment *a) {
  uint32_t ids[1 + ITR_OWN_MAPS], progs[ITR_DISPATCHED_MAX], old;
  const char *name;
  struct bpf_object *obj;
  bool native;
  int count, err;

  if (!itr_dispatcher_built())
    return -EOPNOTSUPP;
  err = dispatched_init(a, ifindex, keep);
  if (err)
    return err;
  count = itr_dispatcher_programs(ifindex, progs, ITR_DISPATCHED_MAX, &native);
  if (count <= 0)
    return -ENOENT;
  if ((mode == ITR_XDP_NATIVE && !native) ||
      (mode == ITR_XDP_GENERIC && native))
    return -EBUSY;
  a->native = native;
  a->frags = l->has_frags && a->mtu > ITR_XDP_FRAGS_MTU;
  /* Kept from the last start, counting into these very tables. */
  ids[0] = itr_loader_table_id(l);
  a->dispatched_prog = dispatched(ifindex, ids, 1);
  if (a->dispatched_prog) {
    a->dispatched = a->attached = a->reused = true;
    a->dispatched_count = count;
    return 0;
  }
  /* An earlier start's, counting into tables now carried over. */
  old = dispatched(ifindex, l->own_maps, l->own_maps_num);
  if (old) {
    err = itr_dispatcher_leave(ifindex, old);
    if (err)
      return err;
    a->rejoined = true;
    count--;
  }
  name = a->frags ? "iptraffic_xdp_frags" : "iptraffic_xdp";
  obj = object_for_dispatcher(l, name);
  if (!obj)
    return -errno;
  err = itr_dispatcher_join(ifindex, obj, name, a->frags, &a->dispatched_prog,
                            &a->native);
  bpf_object__close(obj);
  if (err)
    return err;
  a->dispatched = a->attached = true;
  a->dispatched_count = count + 1;
  return 0;
}

static int create_dispatcher(struct itr_loader *l, int ifindex, bool native,
                             struct itr_xdp_attachment *a) {
  const char *name = a->frags ? "iptraffic_xdp_frags" : "iptraffic_xdp";
  struct bpf_object *obj = object_for_dispatcher(l, name);
  int err;

  if (!obj)
    return -errno;
  err = itr_dispatcher_create(ifindex, obj, name, a->frags, native,
                              &a->dispatched_prog);
  bpf_object__close(obj);
  if (err)
    return err;
  a->native = native;
  a->dispatched = a->attached = true;
  a->dispatched_count = 1;
  return 0;
}

int itr_xdp_create_dispatcher(struct itr_loader *l, int ifindex,
                              enum itr_xdp_mode mode, bool keep,
                              struct itr_xdp_attachment *a) {
  int err;

  if (!itr_dispatcher_built())
    return -EOPNOTSUPP;
  if (l->no_dispatcher)
    return -ENOSYS;
  err = dispatched_init(a, ifindex, keep);
  if (err)
    return err;
  a->frags = l->has_frags && a->mtu > ITR_XDP_FRAGS_MTU;
  err = create_dispatcher(l, ifindex, mode != ITR_XDP_GENERIC, a);
  /* auto: generic mode where the driver cannot run XDP natively. */
  if (mode == ITR_XDP_AUTO && (err == -EOPNOTSUPP || err == -EINVAL)) {
    a->native_err = err;
    err = create_dispatcher(l, ifindex, false, a);
  }
  if (err == -ENOSYS)
    l->no_dispatcher = true;
  return err;
}

/* The first clsact filter of a hook whose program uses one of the n maps
 * of ids. */
struct own_filter {
  const uint32_t *ids;
  int n;
  struct filter_info found;
  bool have;
};

static void match_own(const struct filter_info *f, void *ctx) {
  struct own_filter *o = ctx;

  if (!o->have && f->prog_id && prog_uses_maps(f->prog_id, o->ids, o->n)) {
    o->found = *f;
    o->have = true;
  }
}

static uint32_t clsact_parent(enum itr_tc_dir dir) {
  return TC_H_MAKE(TC_H_CLSACT,
                   dir == ITR_TC_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

static enum bpf_tc_attach_point tc_point(enum itr_tc_dir dir) {
  return dir == ITR_TC_INGRESS ? BPF_TC_INGRESS : BPF_TC_EGRESS;
}

static enum bpf_attach_type tcx_type(enum itr_tc_dir dir) {
  return (enum bpf_attach_type)(dir == ITR_TC_INGRESS ? ITR_BPF_TCX_INGRESS
                                                      : ITR_BPF_TCX_EGRESS);
}

static bool find_own_filter(int ifindex, enum itr_tc_dir dir,
                            const uint32_t *ids, int n,
                            struct filter_info *out) {
  struct own_filter own = {.ids = ids, .n = n};

  dump_filters(ifindex, clsact_parent(dir), match_own, &own);
  *out = own.found;
  return own.have;
}

int itr_tc_attach(struct itr_loader *l, int ifindex, enum itr_tc_dir dir,
                  bool allow_tcx, struct itr_tc_attachment *a) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
              .attach_point = tc_point(dir));
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = itr_loader_tc_fd(l));
  int err;

  memset(a, 0, sizeof(*a));
  a->ifindex = ifindex;
  a->dir = dir;
  a->link_fd = -1;
  if (allow_tcx) {
    int fd = bpf_link_create(itr_loader_tc_fd(l), ifindex, tcx_type(dir), NULL);
    if (fd >= 0) {
      a->link_fd = fd;
      a->attached = true;
      return 0;
    }
    if (errno != EINVAL)
      return -errno;
    /* EINVAL: no tcx in this kernel (before 6.6). */
  }
  err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST)
    return err;
  a->created_qdisc = err == 0;
  if (!a->created_qdisc) {
    /* A filter of ours that a killed collectd left counting into the same
     * pinned tables is replaced in place: else both would count. */
    uint32_t ids[ITR_OWN_MAPS + 1];
    struct filter_info found;

    if (find_own_filter(ifindex, dir, ids, own_ids(l, ids), &found)) {
      opts.handle = found.handle;
      opts.priority = found.priority;
      opts.flags = BPF_TC_F_REPLACE;
      a->replaced = true;
    }
  }
  err = bpf_tc_attach(&hook, &opts);
  if (err) {
    itr_tc_detach(a);
    return err;
  }
  a->legacy = true;
  a->handle = opts.handle;
  a->priority = opts.priority;
  a->attached = true;
  return 0;
}

int itr_tc_attach_pinned(struct itr_loader *l, int ifindex, enum itr_tc_dir dir,
                         bool allow_tcx, const char *pin,
                         struct itr_tc_attachment *a) {
  int fd =
      pin && allow_tcx ? pinned_link(pin, ITR_BPF_LINK_TYPE_TCX, ifindex) : -1;
  int err;

  if (fd >= 0) {
    /* The pin's name says the hook (itr_pins_link_path). */
    if (bpf_link_update(fd, itr_loader_tc_fd(l), NULL) == 0) {
      memset(a, 0, sizeof(*a));
      a->ifindex = ifindex;
      a->dir = dir;
      a->link_fd = fd;
      a->attached = true;
      a->reused = true;
      return 0;
    }
    unlink(pin);
    close(fd);
  }
  err = itr_tc_attach(l, ifindex, dir, allow_tcx, a);
  if (err == 0 && pin && a->link_fd >= 0 && bpf_obj_pin(a->link_fd, pin) < 0)
    err = 0; /* counting all the same, only not across a restart */
  return err;
}

int itr_tc_release(struct itr_tc_attachment *a) {
  if (a->attached && a->link_fd >= 0) {
    close(a->link_fd); /* a pinned link stays */
    a->link_fd = -1;
  }
  /* A clsact filter stays by itself; the next start replaces it. */
  a->attached = false;
  a->created_qdisc = false;
  return 0;
}

int itr_tc_detach(struct itr_tc_attachment *a) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = a->ifindex,
              .attach_point = tc_point(a->dir));
  int err = 0;

  if (!a->attached && !a->created_qdisc)
    return 0;
  if (a->attached && a->link_fd >= 0) {
    close(a->link_fd);
    a->link_fd = -1;
  }
  if (a->attached && a->legacy) {
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = a->handle,
                .priority = a->priority);

    err = bpf_tc_detach(&hook, &opts);
    if (err == -ENOENT || err == -ENODEV || err == -EINVAL)
      err = 0; /* gone already, with its interface or by hand */
  }
  if (a->created_qdisc && clsact_filters(a->ifindex) == 0) {
    hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
    bpf_tc_hook_destroy(&hook);
  }
  a->created_qdisc = false;
  a->attached = false;
  return err;
}

/* --- Whether an attachment is still in place ----------------------------- */

static uint32_t fd_prog_id(int fd) {
  struct bpf_prog_info info;
  uint32_t len = sizeof(info);

  memset(&info, 0, sizeof(info));
  return fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
}

/* Whether the netdev link fd is still attached to ifindex (a link whose
 * device went reports ifindex 0; the first field of every netdev link's
 * info). */
static bool link_on(int fd, int ifindex) {
  struct bpf_link_info info;
  uint32_t len = sizeof(info);

  memset(&info, 0, sizeof(info));
  return bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ||
         info.xdp.ifindex == (uint32_t)ifindex;
}

bool itr_xdp_in_place(const struct itr_xdp_attachment *a) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);

  if (!a->attached)
    return false;
  if (a->dispatched)
    return in_dispatcher(a->ifindex, a->dispatched_prog);
  if (a->link_fd >= 0)
    return link_on(a->link_fd, a->ifindex);
  if (bpf_xdp_query(a->ifindex, 0, &q) < 0)
    return true; /* cannot tell */
  return attached_xdp_id(&q) == fd_prog_id(a->prog_fd);
}

struct same_filter {
  uint32_t handle, priority;
  bool found;
};

static void match_same(const struct filter_info *f, void *ctx) {
  struct same_filter *s = ctx;

  s->found |= f->handle == s->handle && f->priority == s->priority;
}

bool itr_tc_in_place(const struct itr_tc_attachment *a) {
  struct same_filter s = {a->handle, a->priority, false};

  if (!a->attached)
    return false;
  if (a->link_fd >= 0)
    return link_on(a->link_fd, a->ifindex);
  if (dump_filters(a->ifindex, clsact_parent(a->dir), match_same, &s) < 0)
    return true; /* cannot tell */
  return s.found;
}

/* --- What an earlier collectd left (the admin command) ------------------ */

int itr_find_own(int ifindex, const uint32_t *map_ids, int n,
                 struct itr_own_hooks *out) {
  LIBBPF_OPTS(bpf_xdp_query_opts, xq);

  memset(out, 0, sizeof(*out));
  if (bpf_xdp_query(ifindex, 0, &xq) == 0) {
    uint32_t id = attached_xdp_id(&xq);

    if (id && prog_uses_maps(id, map_ids, n)) {
      out->xdp_prog = id;
      out->xdp_mode = xq.attach_mode;
    } else if (itr_dispatcher_prog(id)) {
      out->xdp_dispatched = dispatched(ifindex, map_ids, n);
    }
  }
  for (int dir = 0; dir < ITR_TC_DIRS; dir++) {
    uint32_t ids[8];
    LIBBPF_OPTS(bpf_prog_query_opts, tq, .prog_ids = ids, .prog_cnt = 8);
    struct itr_own_tc *tc = &out->tc[dir];
    struct filter_info found;

    if (bpf_prog_query_opts(ifindex, tcx_type((enum itr_tc_dir)dir), &tq) == 0)
      for (uint32_t i = 0; i < tq.prog_cnt && i < 8; i++)
        if (prog_uses_maps(ids[i], map_ids, n))
          tc->tcx_prog = ids[i];
    if (find_own_filter(ifindex, (enum itr_tc_dir)dir, map_ids, n, &found)) {
      tc->prog = found.prog_id;
      tc->handle = found.handle;
      tc->priority = found.priority;
    }
  }
  return 0;
}

int itr_detach_own(int ifindex, const struct itr_own_hooks *h) {
  int err = 0;

  if (h->xdp_dispatched) {
    err = itr_dispatcher_leave(ifindex, h->xdp_dispatched);
    if (err)
      return err;
  }

  if (h->xdp_prog) {
    int fd = bpf_prog_get_fd_by_id(h->xdp_prog);
    uint32_t mode = h->xdp_mode == XDP_ATTACHED_DRV   ? XDP_FLAGS_DRV_MODE
                    : h->xdp_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE
                    : h->xdp_mode == XDP_ATTACHED_HW  ? XDP_FLAGS_HW_MODE
                                                      : 0;
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd);

    if (fd < 0)
      return -errno;
    /* Only a program attached through netlink can go this way; one held
     * by a BPF link goes with the process that holds the link. */
    err = bpf_xdp_detach(ifindex, mode | XDP_FLAGS_REPLACE, &opts);
    close(fd);
    if (err)
      return err;
  }
  for (int dir = 0; dir < ITR_TC_DIRS && !err; dir++) {
    const struct itr_own_tc *tc = &h->tc[dir];
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
                .attach_point = tc_point((enum itr_tc_dir)dir));
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = tc->handle,
                .priority = tc->priority);

    if (tc->prog)
      err = bpf_tc_detach(&hook, &opts);
  }
  return err;
}
