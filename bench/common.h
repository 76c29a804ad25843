/*
 * Helpers shared by the benchmark programs: clocks, medians, test frames,
 * the driver that runs a program under test through bpf_prog_test_run,
 * finding the plugin's programs in the kernel, memory figures.
 *
 * Functions return 0 or a negative errno unless said otherwise.
 */
#ifndef ITR_BENCH_COMMON_H
#define ITR_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpf/libbpf.h>

/* --- clocks and statistics ---------------------------------------------- */

uint64_t now_ns(void);        /* CLOCK_MONOTONIC */
uint64_t thread_cpu_ns(void); /* CPU time of the calling thread */
double median(const double *v, int n);

/* Exits with a message when cond is false. */
void check(bool cond, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* --- test frames -----------------------------------------------------------
 */

enum frame_kind { FRAME_IPV4, FRAME_IPV6, FRAME_VLAN, FRAME_KINDS };

#define FRAME_LEN 64 /* bytes, without FCS */

struct frame {
  uint8_t data[FRAME_LEN];
  uint32_t len;
  uint32_t addr_off; /* where the source address's low 32 bits are */
  uint32_t base;     /* those bits of the first source address */
};

/* A UDP frame from the first source address to a fixed destination:
 * IPv4 10.128.0.0 -> 10.99.0.2, IPv6 2001:db8::1:0 -> 2001:db8:ffff::1,
 * or IPv4 inside one 802.1Q tag. dst_mac may be NULL. */
void frame_build(struct frame *f, enum frame_kind kind, const uint8_t *dst_mac);
const char *frame_name(enum frame_kind kind);

/* A stride coprime with n near n * 0.618, so that walking n addresses by it
 * visits each once, in an order that defeats caches and prefetching. */
uint32_t scatter_stride(uint32_t n);

/* --- driving programs through bpf_prog_test_run --------------------------- */

struct driver {
  struct bench_driver *skel;
  int prog_fd;
  bool tc;
  uint32_t ifindex; /* ingress_ifindex of XDP test runs; 0: the default */
};

/* A driver that walks naddrs source addresses of frame f before every run
 * and then tail-calls target_fd, an XDP program (tc false) or a tc one. */
int driver_open(struct driver *d, int target_fd, bool tc, const struct frame *f,
                uint32_t naddrs);
void driver_close(struct driver *d);

/* Runs the frame repeat times; *ns is the kernel's average per run. */
int driver_run(struct driver *d, const struct frame *f, uint32_t repeat,
               double *ns);

/* Sends n IPv4 frames with n distinct source addresses through the XDP
 * program attached to ifname (in this network namespace), as if they had
 * arrived there. */
int prefill_attached(const char *ifname, uint32_t n);

/* --- the plugin's programs and maps --------------------------------------- */

struct prog_ref {
  int fd;
  uint32_t id;
  enum bpf_prog_type type;
  char name[16];
  uint32_t map_ids[8];
  uint32_t nr_map_ids;
};

/* The programs loaded in the kernel that use the map behind map_fd (the
 * plugin's programs, whatever the build contains), in id order. Returns
 * how many were stored in out (fds owned by the caller). */
int progs_using_map(int map_fd, struct prog_ref *out, int max);

/* A bpf_object opened from an embedded ELF image. */
struct bpf_object *open_elf(const void *elf, size_t size, const char *name);

/* Sets max_entries of every hash map in obj. */
int size_hash_maps(struct bpf_object *obj, uint32_t max_entries);

/* memlock of a BPF map or program fd as the kernel reports it in fdinfo,
 * in bytes; -1 if unknown. */
long long fd_memlock(int fd);

/* Sum of fd_memlock over the maps the given programs use (each once). */
long long maps_memlock(const struct prog_ref *progs, int n);

/* Resident set size of this process in bytes. */
long long rss_bytes(void);

/* The size of one value per CPU, and the key size, of the map behind fd. */
int map_layout(int map_fd, uint32_t *key_size, uint32_t *value_size,
               uint32_t *max_entries, uint32_t *type);

/* Bytes per entry of a hash map as the kernel accounts for it
 * (htab_map_mem_usage): preallocated maps per entry of their capacity,
 * the others per entry in use (entries), for ncpus possible CPUs. Assumes
 * the 48-byte element header and 16-byte bucket of 64-bit kernels. */
double htab_bytes_per_entry(uint32_t type, bool prealloc, uint32_t key_size,
                            uint32_t value_size, uint32_t max_entries,
                            uint32_t entries, int ncpus);

/* The printable map type, e.g. "percpu_hash". */
const char *map_type_name(uint32_t type);

/* Kernel memory of one map as its layout makes it (hash element header,
 * key and value rounded to 8, buckets, the spare elements a preallocated
 * shared hash keeps per CPU, per-CPU values) with ncpus possible CPUs.
 * Preallocated hashes and arrays only; 0 for other types. */
double map_layout_bytes(uint32_t type, bool prealloc, uint32_t key_size,
                        uint32_t value_size, uint32_t max_entries, int ncpus);

/* The same summed over the maps of the programs (each once), and their
 * memlock (fdinfo) in *memlock. */
double maps_layout_bytes(const struct prog_ref *progs, int n, int ncpus,
                         long long *memlock);

#endif /* ITR_BENCH_COMMON_H */
