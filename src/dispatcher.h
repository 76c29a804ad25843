/* SPDX-License-Identifier: MIT OR GPL-2.0-only */
/*
 * Joining a libxdp dispatcher: where another tool (xdp-loader, xdp-filter,
 * any program built on libxdp) has put xdp-tools' multi-program dispatcher
 * on an interface's XDP hook, the plugin's XDP program runs in it as one
 * more program instead of falling back to tc. libxdp swaps the whole
 * dispatcher atomically for one with the program added or removed; the
 * programs of the other tools stay as they are.
 *
 * Built with libxdp (configure finds libxdp-dev) only; without it the
 * calls say -EOPNOTSUPP and nothing else changes. Needs neither collectd
 * nor the plugin's loader.
 */
#ifndef ITR_DISPATCHER_H
#define ITR_DISPATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "logfn.h"

struct bpf_object;

/* Where the plugin's program runs in a dispatcher: before the usual
 * programs (libxdp's default is 50), so that it counts the frames as they
 * arrive, before a filter drops any; it passes every frame on. */
#define ITR_DISPATCHER_RUN_PRIO 10

/* Whether the plugin was built with libxdp. */
bool itr_dispatcher_built(void);

/* Whether there is a BPF filesystem where libxdp keeps its dispatchers
 * (*dir: LIBXDP_BPFFS, else /sys/fs/bpf): it needs one. */
bool itr_dispatcher_bpffs(const char **dir);

/* Whether program prog_id is a libxdp dispatcher, by its name (also
 * without libxdp). Cheap: no netlink dump of the interfaces. */
bool itr_dispatcher_prog(uint32_t prog_id);

/* libxdp's messages through fn (its warnings would go to stderr). */
void itr_dispatcher_set_print(itr_print_fn fn);

/* The dispatcher on ifindex's XDP hook: how many programs it runs (their
 * ids in ids, at most max) and whether it runs in native mode. 0 programs
 * and false when the hook is free or holds a program that is not a
 * dispatcher, and always without libxdp. */
int itr_dispatcher_programs(int ifindex, uint32_t *ids, int max, bool *native);

/* Adds program prog_name of obj (opened, not loaded: libxdp loads it to
 * run inside the dispatcher) to the dispatcher on ifindex, in the
 * dispatcher's mode. frags: the program handles multi-buffer frames.
 * Fills the id of the program as it runs there (*prog_id) and the mode.
 * -ENOENT when there is no dispatcher there (any more). */
int itr_dispatcher_join(int ifindex, struct bpf_object *obj,
                        const char *prog_name, bool frags, uint32_t *prog_id,
                        bool *native);

/* Puts a dispatcher on ifindex's free XDP hook, in native or generic
 * mode, with program prog_name of obj in it, so that other libxdp tools
 * can add theirs. -ENOSYS where the kernel runs no dispatcher (it
 * refuses freplace programs: libxdp's fallback to the program alone is
 * undone), -EOPNOTSUPP without libxdp or where the driver has no native
 * XDP, -EBUSY where the hook is not free. */
int itr_dispatcher_create(int ifindex, struct bpf_object *obj,
                          const char *prog_name, bool frags, bool native,
                          uint32_t *prog_id);

/* Removes program prog_id from the dispatcher on ifindex; the dispatcher
 * itself goes with its last program. 0 also when it is not there. */
int itr_dispatcher_leave(int ifindex, uint32_t prog_id);

#endif
