/*
 * Loading and attaching the BPF programs with libbpf.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "loader.h"
#include "iptraffic.skel.h"

struct itr_loader {
  struct iptraffic_bpf *skel;
};

static itr_print_fn print_fn;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
                        va_list ap) {
  char msg[512];
  size_t n;

  if (!print_fn)
    return 0;
  vsnprintf(msg, sizeof(msg), fmt, ap);
  n = strlen(msg);
  while (n > 0 && msg[n - 1] == '\n')
    msg[--n] = '\0';
  if (n == 0)
    return 0;
  print_fn(level == LIBBPF_WARN ? ITR_LOG_WARNING : ITR_LOG_DEBUG, msg);
  return 0;
}

void itr_loader_set_print(itr_print_fn fn) {
  print_fn = fn;
  libbpf_set_print(fn ? libbpf_print : NULL);
}

int itr_loader_open(struct itr_loader **out, uint32_t capacity) {
  struct itr_loader *l;
  int err;

  l = calloc(1, sizeof(*l));
  if (!l)
    return -ENOMEM;
  l->skel = iptraffic_bpf__open();
  if (!l->skel) {
    err = -errno;
    goto fail;
  }
  err = bpf_map__set_max_entries(l->skel->maps.itr_counters, capacity);
  if (err)
    goto fail;
  err = iptraffic_bpf__load(l->skel);
  if (err)
    goto fail;
  *out = l;
  return 0;

fail:
  itr_loader_close(l);
  return err < 0 ? err : -EINVAL;
}

void itr_loader_close(struct itr_loader *l) {
  if (!l)
    return;
  iptraffic_bpf__destroy(l->skel);
  free(l);
}

int itr_loader_map_fd(const struct itr_loader *l) {
  return bpf_map__fd(l->skel->maps.itr_counters);
}

int itr_loader_xdp_fd(const struct itr_loader *l) {
  return bpf_program__fd(l->skel->progs.iptraffic_xdp);
}

/* Attaches in one mode: through a bpf_link where the kernel has them (the
 * kernel then detaches the program if collectd dies), else through netlink
 * without replacing an existing program. */
static int attach_mode(struct itr_loader *l, struct itr_xdp_attachment *a,
                       bool native) {
  int prog_fd = itr_loader_xdp_fd(l);
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

int itr_xdp_attach(struct itr_loader *l, int ifindex, enum itr_xdp_mode mode,
                   struct itr_xdp_attachment *a) {
  int err;

  memset(a, 0, sizeof(*a));
  a->ifindex = ifindex;
  a->link_fd = -1;
  if (mode == ITR_XDP_GENERIC)
    return attach_mode(l, a, false);
  err = attach_mode(l, a, true);
  if (err == 0 || mode == ITR_XDP_NATIVE)
    return err;
  /* auto: generic mode where the driver cannot run XDP natively. */
  if (err != -EOPNOTSUPP && err != -EINVAL)
    return err;
  a->native_err = err;
  return attach_mode(l, a, false);
}

int itr_xdp_detach(struct itr_loader *l, struct itr_xdp_attachment *a) {
  int err = 0;

  if (!a->attached)
    return 0;
  if (a->link_fd >= 0) {
    close(a->link_fd);
    a->link_fd = -1;
  } else {
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = itr_loader_xdp_fd(l));
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
  *prog_id = opts.prog_id
                 ? opts.prog_id
                 : (opts.drv_prog_id ? opts.drv_prog_id : opts.skb_prog_id);
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
