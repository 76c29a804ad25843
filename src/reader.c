/*
 * Reading the per-CPU address table with batch lookups.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "reader.h"

/* Keys per batch lookup. The hash's buckets are tiny compared with this,
 * so the kernel never asks for more room (ENOSPC) in practice. */
#define ITR_BATCH 1024

struct itr_reader {
  int map_fd;
  unsigned ncpus;
  bool no_batch;
  bool no_lookup_and_delete;
  struct iptraffic_key *keys;     /* ITR_BATCH keys */
  struct iptraffic_value *values; /* ITR_BATCH * ncpus values */
};

int itr_reader_new(struct itr_reader **out, int map_fd) {
  struct itr_reader *r;
  int ncpus = libbpf_num_possible_cpus();

  if (ncpus <= 0)
    return ncpus < 0 ? ncpus : -EINVAL;
  r = calloc(1, sizeof(*r));
  if (!r)
    return -ENOMEM;
  r->map_fd = map_fd;
  r->ncpus = (unsigned)ncpus;
  r->keys = calloc(ITR_BATCH, sizeof(*r->keys));
  r->values = calloc((size_t)ITR_BATCH * r->ncpus, sizeof(*r->values));
  if (!r->keys || !r->values) {
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
  free(r);
}

static int record(struct itr_reader *r, struct itr_table *t,
                  const struct iptraffic_key *key,
                  const struct iptraffic_value *percpu, uint64_t now) {
  struct itr_counters c;

  itr_percpu_sum(percpu, r->ncpus, &c);
  return itr_table_record(t, key, &c, now);
}

/* Returns -EOPNOTSUPP when the kernel has no batch operations (before
 * 5.6), before anything was recorded. */
static int read_batch(struct itr_reader *r, struct itr_table *t, uint64_t now) {
  LIBBPF_OPTS(bpf_map_batch_opts, opts);
  struct iptraffic_key out_batch;
  bool first = true;

  for (;;) {
    uint32_t count = ITR_BATCH;
    int err =
        bpf_map_lookup_batch(r->map_fd, first ? NULL : &out_batch, &out_batch,
                             r->keys, r->values, &count, &opts);
    if (err < 0)
      err = -errno;
    if (err && err != -ENOENT) {
      if (first && (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP))
        return -EOPNOTSUPP;
      return err;
    }
    first = false;
    for (uint32_t i = 0; i < count; i++) {
      int rerr = record(r, t, &r->keys[i], &r->values[i * r->ncpus], now);
      if (rerr)
        return rerr;
    }
    if (err == -ENOENT)
      return 0;
  }
}

static int read_iterate(struct itr_reader *r, struct itr_table *t,
                        uint64_t now) {
  struct iptraffic_key key, next;
  const struct iptraffic_key *prev = NULL;

  while (bpf_map_get_next_key(r->map_fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(r->map_fd, &key, r->values) < 0) {
      if (errno == ENOENT)
        continue; /* deleted meanwhile */
      return -errno;
    }
    int err = record(r, t, &key, r->values, now);
    if (err)
      return err;
  }
  return errno == ENOENT ? 0 : -errno;
}

int itr_reader_pass(struct itr_reader *r, struct itr_table *t, uint64_t now) {
  int err = -EOPNOTSUPP;

  itr_table_begin_pass(t);
  if (!r->no_batch) {
    err = read_batch(r, t, now);
    if (err == -EOPNOTSUPP)
      r->no_batch = true;
  }
  if (r->no_batch)
    err = read_iterate(r, t, now);
  if (err)
    return err;
  itr_table_end_pass(t);
  return 0;
}

int itr_reader_delete(struct itr_reader *r, const struct iptraffic_key *key,
                      struct itr_counters *final) {
  if (!r->no_lookup_and_delete) {
    int err = bpf_map_lookup_and_delete_elem(r->map_fd, key, r->values);
    if (err == 0) {
      itr_percpu_sum(r->values, r->ncpus, final);
      return 0;
    }
    err = -errno;
    if (err != -EINVAL && err != -ENOTSUP && err != -EOPNOTSUPP)
      return err;
    /* Per-CPU hashes gained lookup-and-delete in 5.14. */
    r->no_lookup_and_delete = true;
  }
  if (bpf_map_lookup_elem(r->map_fd, key, r->values) < 0)
    return -errno;
  itr_percpu_sum(r->values, r->ncpus, final);
  if (bpf_map_delete_elem(r->map_fd, key) < 0)
    return -errno;
  return 0;
}

int itr_reader_create(struct itr_reader *r, const struct iptraffic_key *key) {
  memset(r->values, 0, sizeof(*r->values) * r->ncpus);
  if (bpf_map_update_elem(r->map_fd, key, r->values, BPF_NOEXIST) < 0 &&
      errno != EEXIST)
    return -errno;
  return 0;
}

bool itr_reader_no_batch(const struct itr_reader *r) {
  return r->no_batch;
}

bool itr_reader_no_lookup_and_delete(const struct itr_reader *r) {
  return r->no_lookup_and_delete;
}
