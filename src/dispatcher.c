/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/* Joining, creating and leaving libxdp dispatchers (see dispatcher.h);
 * without libxdp, calls that say so. */
#define _GNU_SOURCE /* secure_getenv */
#include "itr_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "dispatcher.h"

#include <bpf/bpf.h>
#include <unistd.h>

/* By its name; needs libbpf only. */
bool itr_dispatcher_prog(uint32_t prog_id) {
  struct bpf_prog_info info;
  uint32_t len = sizeof(info);
  bool is = false;
  int fd = prog_id ? bpf_prog_get_fd_by_id(prog_id) : -1;

  if (fd < 0)
    return false;
  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
    is = strcmp(info.name, "xdp_dispatcher") == 0;
  close(fd);
  return is;
}

#ifdef HAVE_LIBXDP

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

static itr_print_fn print_fn;

static int libxdp_print(enum libxdp_print_level level, const char *fmt,
                        va_list ap) {
  itr_print_va(print_fn, level == LIBXDP_WARN ? ITR_LOG_WARNING : ITR_LOG_DEBUG,
               fmt, ap);
  return 0;
}

bool itr_dispatcher_built(void) {
  return true;
}

#define ITR_BPF_FS_MAGIC 0xcafe4a11 /* linux/magic.h */

bool itr_dispatcher_bpffs(const char **dir) {
  const char *d = secure_getenv("LIBXDP_BPFFS");
  struct statfs st;

  *dir = d && *d ? d : "/sys/fs/bpf";
  return statfs(*dir, &st) == 0 && (uint32_t)st.f_type == ITR_BPF_FS_MAGIC;
}

void itr_dispatcher_set_print(itr_print_fn fn) {
  print_fn = fn;
  libxdp_set_print(fn ? libxdp_print : NULL);
}

/* Whether the program on ifindex's XDP hook is libxdp's dispatcher, by
 * its name: where libxdp's own look reads the program's BTF. */
static bool holds_dispatcher(int ifindex) {
  LIBBPF_OPTS(bpf_xdp_query_opts, q);

  if (bpf_xdp_query(ifindex, 0, &q) != 0)
    return false;
  return itr_dispatcher_prog(q.prog_id       ? q.prog_id
                             : q.drv_prog_id ? q.drv_prog_id
                                             : q.skb_prog_id);
}

/* The dispatcher on ifindex, or NULL: none there (the hook free, or a
 * single program that is not a dispatcher: libxdp calls that legacy). */
static struct xdp_multiprog *dispatcher_of(int ifindex) {
  struct xdp_multiprog *mp;

  if (!holds_dispatcher(ifindex))
    return NULL;
  mp = xdp_multiprog__get_from_ifindex(ifindex);
  if (libxdp_get_error(mp) || !mp)
    return NULL;
  if (xdp_multiprog__is_legacy(mp) || !xdp_multiprog__main_prog(mp)) {
    xdp_multiprog__close(mp);
    return NULL;
  }
  return mp;
}

int itr_dispatcher_programs(int ifindex, uint32_t *ids, int max, bool *native) {
  struct xdp_multiprog *mp = dispatcher_of(ifindex);
  struct xdp_program *p = NULL;
  int n = 0;

  *native = false;
  if (!mp)
    return 0;
  *native = xdp_multiprog__attach_mode(mp) == XDP_MODE_NATIVE;
  while ((p = xdp_multiprog__next_prog(p, mp)) != NULL) {
    if (n < max)
      ids[n] = xdp_program__id(p);
    n++;
  }
  xdp_multiprog__close(mp);
  return n;
}

/* Program prog_name of obj as libxdp's, to run in a dispatcher. */
static struct xdp_program *
dispatched_program(struct bpf_object *obj, const char *prog_name, bool frags) {
  DECLARE_LIBXDP_OPTS(xdp_program_opts, opts, .obj = obj,
                      .prog_name = prog_name);
  struct xdp_program *prog = xdp_program__create(&opts);
  int err = (int)libxdp_get_error(prog);

  if (!err)
    err = xdp_program__set_run_prio(prog, ITR_DISPATCHER_RUN_PRIO);
  if (!err)
    err = xdp_program__set_xdp_frags_support(prog, frags);
  /* Chain calls on XDP_PASS (libxdp's default): the programs after this
   * one see every frame. */
  if (err) {
    if (!libxdp_get_error(prog))
      xdp_program__close(prog);
    errno = -err;
    return NULL;
  }
  return prog;
}

int itr_dispatcher_join(int ifindex, struct bpf_object *obj,
                        const char *prog_name, bool frags, uint32_t *prog_id,
                        bool *native) {
  struct xdp_multiprog *mp = dispatcher_of(ifindex);
  enum xdp_attach_mode mode;
  struct xdp_program *prog;
  int err;

  if (!mp)
    return -ENOENT;
  mode = xdp_multiprog__attach_mode(mp);
  xdp_multiprog__close(mp);
  prog = dispatched_program(obj, prog_name, frags);
  if (!prog)
    return -errno;
  err = xdp_program__attach(prog, ifindex, mode, 0);
  if (!err) {
    *prog_id = xdp_program__id(prog);
    *native = mode == XDP_MODE_NATIVE;
  }
  /* The program stays in the dispatcher, held by the link libxdp pinned
   * there; the object stays the caller's. */
  xdp_program__close(prog);
  return err;
}

int itr_dispatcher_create(int ifindex, struct bpf_object *obj,
                          const char *prog_name, bool frags, bool native,
                          uint32_t *prog_id) {
  enum xdp_attach_mode mode = native ? XDP_MODE_NATIVE : XDP_MODE_SKB;
  struct xdp_program *prog = dispatched_program(obj, prog_name, frags);
  int err;

  if (!prog)
    return -errno;
  err = xdp_program__attach(prog, ifindex, mode, 0);
  if (!err) {
    struct xdp_multiprog *mp = dispatcher_of(ifindex);

    if (mp) {
      *prog_id = xdp_program__id(prog);
      xdp_multiprog__close(mp);
    } else {
      /* libxdp fell back to the program alone, without a dispatcher: the
       * kernel runs none (no freplace programs). */
      xdp_program__detach(prog, ifindex, mode, 0);
      err = -ENOSYS;
    }
  }
  xdp_program__close(prog);
  return err;
}

int itr_dispatcher_leave(int ifindex, uint32_t prog_id) {
  struct xdp_multiprog *mp = dispatcher_of(ifindex);
  struct xdp_program *p = NULL;
  int err = 0;

  if (!mp)
    return 0;
  while ((p = xdp_multiprog__next_prog(p, mp)) != NULL)
    if (xdp_program__id(p) == prog_id) {
      err = xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0);
      break;
    }
  xdp_multiprog__close(mp);
  return err == -ENOENT ? 0 : err;
}

#else /* !HAVE_LIBXDP */

bool itr_dispatcher_built(void) {
  return false;
}

bool itr_dispatcher_bpffs(const char **dir) {
  *dir = "/sys/fs/bpf";
  return false;
}

void itr_dispatcher_set_print(itr_print_fn fn) {
  (void)fn;
}

int itr_dispatcher_programs(int ifindex, uint32_t *ids, int max, bool *native) {
  (void)ifindex, (void)ids, (void)max;
  *native = false;
  return 0;
}

int itr_dispatcher_join(int ifindex, struct bpf_object *obj,
                        const char *prog_name, bool frags, uint32_t *prog_id,
                        bool *native) {
  (void)ifindex, (void)obj, (void)prog_name, (void)frags, (void)prog_id;
  (void)native;
  return -EOPNOTSUPP;
}

int itr_dispatcher_create(int ifindex, struct bpf_object *obj,
                          const char *prog_name, bool frags, bool native,
                          uint32_t *prog_id) {
  (void)ifindex, (void)obj, (void)prog_name, (void)frags, (void)native;
  (void)prog_id;
  return -EOPNOTSUPP;
}

int itr_dispatcher_leave(int ifindex, uint32_t prog_id) {
  (void)ifindex, (void)prog_id;
  return -EOPNOTSUPP;
}

#endif
