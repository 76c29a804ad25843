/*
 * Reading the address tables with batch lookups, and the hot keys.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "reader.h"

/* What the kernel says for an operation a map type lacks: its internal
 * ENOTSUPP, which reaches userspace as is (not EOPNOTSUPP). */
#define ITR_ENOTSUPP 524

static bool unsupported(int err) {
  return err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP ||
         err == -ITR_ENOTSUPP;
}

/* Keys per batch lookup. The hashes' buckets are tiny compared with this,
 * so the kernel never asks for more room (ENOSPC) in practice. */
#define ITR_BATCH 1024

/* A key of the hot table, summed over the CPUs, during a pass. */
struct hot_entry {
  struct iptraffic_key key;
  struct itr_counters counters;
  bool matched; /* added to the same key of a shared table */
};

struct itr_reader {
  struct itr_maps maps;
  unsigned ncpus;
  bool no_batch;
  bool no_lookup_and_delete;
  void *keys; /* ITR_BATCH keys of up to sizeof(iptraffic_key) */
  struct iptraffic_value *values; /* ITR_BATCH * ncpus values */
  struct hot_entry *hot;          /* the hot table in this pass */
  size_t hot_num, hot_cap;
  struct iptraffic_hot_filter hot_bits; /* of the keys in hot */
  struct itr_hot_set current;           /* the hot address keys */
  bool owns_hot; /* itr_reader_set_hot was called: this reader manages the
                    hot table (a reader that only looks never deletes) */
};

/* Called for each key read: its key in the table's form and its values
 * (one, or one per CPU). */
typedef int (*visit_fn)(struct itr_reader *r, const void *key,
                        const struct iptraffic_value *values, void *ctx);

static int map_info(int fd, struct bpf_map_info *info) {
  uint32_t len = sizeof(*info);

  memset(info, 0, sizeof(*info));
  return bpf_obj_get_info_by_fd(fd, info, &len) < 0 ? -errno : 0;
}

int itr_reader_new(struct itr_reader **out, const struct itr_maps *maps) {
  struct bpf_map_info hot_info;
  struct itr_reader *r;
  int ncpus = libbpf_num_possible_cpus();
  int err;

  if (ncpus <= 0)
    return ncpus < 0 ? ncpus : -EINVAL;
  err = map_info(maps->hot, &hot_info);
  if (err)
    return err;
  r = calloc(1, sizeof(*r));
  if (!r)
    return -ENOMEM;
  r->maps = *maps;
  r->ncpus = (unsigned)ncpus;
  r->hot_cap = hot_info.max_entries;
  r->keys = calloc(ITR_BATCH, sizeof(struct iptraffic_key));
  r->values = calloc((size_t)ITR_BATCH * r->ncpus, sizeof(*r->values));
  r->hot = calloc(r->hot_cap ? r->hot_cap : 1, sizeof(*r->hot));
  if (!r->keys || !r->values || !r->hot) {
    itr_reader_free(r);
    return -ENOMEM;
  }
  *out = r;
  return 0;
}

void itr_reader_free(struct itr_reader *r) {
  if (!r)
    return;
  free(r->keys);
  free(r->values);
  free(r->hot);
  free(r);
}

/* Returns -EOPNOTSUPP when the kernel has no batch operations (before
 * 5.6), before anything was visited. */
static int read_batch(struct itr_reader *r, int fd, size_t key_size,
                      unsigned nvalues, visit_fn fn, void *ctx) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  uint64_t token[4]; /* the hash's bucket position */
  bool first = true;

  for (;;) {
    uint32_t count = ITR_BATCH;
    int err = bpf_map_lookup_batch(fd, first ? NULL : token, token, r->keys,
                                   r->values, &count, &opts);
    if (err < 0)
      err = -errno;
    if (err && err != -ENOENT) {
      if (first && unsupported(err))
        return -EOPNOTSUPP;
      return err;
    }
    first = false;
    for (uint32_t i = 0; i < count; i++) {
      int verr = fn(r, (const char *)r->keys + i * key_size,
                    &r->values[i * nvalues], ctx);
      if (verr)
        return verr;
    }
    if (err == -ENOENT)
      return 0;
  }
}

static int read_iterate(struct itr_reader *r, int fd, size_t key_size,
                        visit_fn fn, void *ctx) {
  struct iptraffic_key key, next;
  const void *prev = NULL;

  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    memcpy(&key, &next, key_size);
    prev = &key;
    if (bpf_map_lookup_elem(fd, &key, r->values) < 0) {
      if (errno == ENOENT)
        continue; /* deleted meanwhile */
      return -errno;
    }
    int err = fn(r, &key, r->values, ctx);
    if (err)
      return err;
  }
  return errno == ENOENT ? 0 : -errno;
}

static int read_table(struct itr_reader *r, int fd, size_t key_size,
                      unsigned nvalues, visit_fn fn, void *ctx) {
  if (!r->no_batch) {
    int err = read_batch(r, fd, key_size, nvalues, fn, ctx);

    if (err != -EOPNOTSUPP)
      return err;
    r->no_batch = true;
  }
  return read_iterate(r, fd, key_size, fn, ctx);
}

static int visit_hot(struct itr_reader *r, const void *key,
                     const struct iptraffic_value *values, void *ctx) {
  struct hot_entry *e;

  (void)ctx;
  if (r->hot_num == r->hot_cap)
    return 0; /* created during the pass beyond what was seen: next one */
  e = &r->hot[r->hot_num++];
  memcpy(&e->key, key, sizeof(e->key));
  itr_percpu_sum(values, r->ncpus, &e->counters);
  e->matched = false;
  return 0;
}

static int hot_cmp(const void *a, const void *b) {
  return itr_key_cmp(&((const struct hot_entry *)a)->key,
                     &((const struct hot_entry *)b)->key);
}

static struct hot_entry *find_hot(struct itr_reader *r,
                                  const struct iptraffic_key *key) {
  struct hot_entry probe = {.matched = false};

  if (r->hot_num == 0 || !itr_hot_filter_test(&r->hot_bits, key))
    return NULL;
  probe.key = *key;
  return bsearch(&probe, r->hot, r->hot_num, sizeof(*r->hot), hot_cmp);
}

struct pass_ctx {
  struct itr_table *t;
  uint64_t now;
};

/* Records key with c plus what the hot table holds for it. */
static int record(struct itr_reader *r, const struct iptraffic_key *key,
                  struct itr_counters *c, struct pass_ctx *p) {
  struct hot_entry *h = find_hot(r, key);

  if (h) {
    itr_counters_add(c, &h->counters);
    h->matched = true;
  }
  return itr_table_record(p->t, key, c, p->now);
}

static int visit_addr4(struct itr_reader *r, const void *key,
                       const struct iptraffic_value *values, void *ctx) {
  struct iptraffic_key k;
  struct itr_counters c;

  if (itr_key4_decode(key, &k) < 0)
    return 0; /* not written by the programs */
  itr_percpu_sum(values, 1, &c);
  return record(r, &k, &c, ctx);
}

static int visit_addr6(struct itr_reader *r, const void *key,
                       const struct iptraffic_value *values, void *ctx) {
  struct itr_counters c;

  itr_percpu_sum(values, 1, &c);
  return record(r, key, &c, ctx);
}

int itr_reader_pass(struct itr_reader *r, struct itr_table *t, uint64_t now) {
  struct pass_ctx p = {.t = t, .now = now};
  int err;

  itr_table_begin_pass(t);
  r->hot_num = 0;
  err = read_table(r, r->maps.hot, sizeof(struct iptraffic_key), r->ncpus,
                   visit_hot, NULL);
  if (err)
    return err;
  qsort(r->hot, r->hot_num, sizeof(*r->hot), hot_cmp);
  memset(&r->hot_bits, 0, sizeof(r->hot_bits));
  for (size_t i = 0; i < r->hot_num; i++)
    itr_hot_filter_add(&r->hot_bits, &r->hot[i].key);

  err = read_table(r, r->maps.addr4, sizeof(struct iptraffic_key4), 1,
                   visit_addr4, &p);
  if (!err)
    err = read_table(r, r->maps.addr6, sizeof(struct iptraffic_key), 1,
                     visit_addr6, &p);
  for (size_t i = 0; i < r->hot_num && !err; i++) {
    const struct hot_entry *h = &r->hot[i];
    const struct itr_counters none = {0};

    if (h->matched)
      continue;
    if (!itr_key_is_special(&h->key) &&
        memcmp(&h->counters, &none, sizeof(none)) == 0) {
      /* A node's address that never saw a frame has no series yet; once
       * it is no longer the node's, its slot is freed (nothing to lose). */
      if (r->owns_hot && !itr_hot_set_has(&r->current, &h->key))
        bpf_map_delete_elem(r->maps.hot, &h->key);
      continue;
    }
    err = itr_table_record(t, &h->key, &h->counters, now);
  }
  if (err)
    return err;
  itr_table_end_pass(t);
  return 0;
}

/* Looks key up and deletes it from fd: one step where the kernel can (per
 * CPU and shared hashes: 5.14), else two. -ENOENT when it is not there. */
static int take(struct itr_reader *r, int fd, const void *key, unsigned nvalues,
                struct itr_counters *out) {
  if (!r->no_lookup_and_delete) {
    if (bpf_map_lookup_and_delete_elem(fd, key, r->values) == 0) {
      itr_percpu_sum(r->values, nvalues, out);
      return 0;
    }
    if (!unsupported(-errno))
      return -errno;
    /* Hash maps gained lookup-and-delete in 5.14. */
    r->no_lookup_and_delete = true;
  }
  if (bpf_map_lookup_elem(fd, key, r->values) < 0)
    return -errno;
  itr_percpu_sum(r->values, nvalues, out);
  if (bpf_map_delete_elem(fd, key) < 0)
    return -errno;
  return 0;
}

int itr_reader_delete(struct itr_reader *r, const struct iptraffic_key *key,
                      struct itr_counters *final) {
  struct itr_counters c;
  struct iptraffic_key4 k4;
  bool found = false;
  int err;

  memset(final, 0, sizeof(*final));
  err = take(r, r->maps.hot, key, r->ncpus, &c);
  if (err == 0) {
    itr_counters_add(final, &c);
    found = true;
  } else if (err != -ENOENT) {
    return err;
  }
  if (key->kind == IPTRAFFIC_KIND_IPV4) {
    err = itr_key4_encode(key, &k4);
    if (err == 0)
      err = take(r, r->maps.addr4, &k4, 1, &c);
  } else {
    err = take(r, r->maps.addr6, key, 1, &c);
  }
  if (err == 0) {
    itr_counters_add(final, &c);
    found = true;
  } else if (err != -ENOENT) {
    return err;
  }
  return found ? 0 : -ENOENT;
}

int itr_reader_create(struct itr_reader *r, const struct iptraffic_key *key) {
  memset(r->values, 0, sizeof(*r->values) * r->ncpus);
  if (bpf_map_update_elem(r->maps.hot, key, r->values, BPF_NOEXIST) < 0 &&
      errno != EEXIST)
    return -errno;
  return 0;
}

int itr_reader_create_shared(struct itr_reader *r,
                             const struct iptraffic_key *key) {
  const struct iptraffic_value zero = {0};

  if (!itr_key_is_special(key))
    return -EINVAL;
  if (bpf_map_update_elem(r->maps.addr6, key, &zero, BPF_NOEXIST) < 0 &&
      errno != EEXIST)
    return -errno;
  return 0;
}

int itr_reader_set_hot(struct itr_reader *r, const struct itr_hot_set *s,
                       size_t *created) {
  struct iptraffic_hot_filter f;
  struct iptraffic_key have[IPTRAFFIC_HOT_ADDRS];
  uint32_t zero = 0;
  size_t n = 0;

  for (size_t i = 0; i < s->num; i++) {
    int err = itr_reader_create(r, &s->keys[i]);

    if (err == -E2BIG)
      continue; /* no room: counted in the shared table */
    if (err)
      return err;
    have[n++] = s->keys[i];
  }
  itr_hot_filter_build(&f, have, n);
  if (bpf_map_update_elem(r->maps.hot_filter, &zero, &f, BPF_ANY) < 0)
    return -errno;
  r->current = *s;
  r->owns_hot = true;
  *created = n;
  return 0;
}

bool itr_reader_no_batch(const struct itr_reader *r) {
  return r->no_batch;
}

bool itr_reader_no_lookup_and_delete(const struct itr_reader *r) {
  return r->no_lookup_and_delete;
}
