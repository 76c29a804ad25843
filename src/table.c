/*
 * Userspace snapshot of the kernel's address table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define EMPTY UINT32_MAX

struct itr_table {
  struct itr_entry *entries; /* dense, count used */
  size_t count;
  size_t capacity;
  uint32_t *index; /* open addressing, linear probing; EMPTY or an entry */
  size_t mask;     /* index size - 1; the index is at least twice capacity */
  uint32_t generation;
};

static size_t hash_key(const struct iptraffic_key *key) {
  /* FNV-1a over the key's bytes, then a final mix so linear probing sees
   * well spread low bits. */
  const unsigned char *p = (const unsigned char *)key;
  uint64_t h = 14695981039346656037ull;

  for (size_t i = 0; i < sizeof(*key); i++) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  h ^= h >> 29;
  return (size_t)h;
}

static bool key_equal(const struct iptraffic_key *a,
                      const struct iptraffic_key *b) {
  return memcmp(a, b, sizeof(*a)) == 0;
}

struct itr_table *itr_table_new(size_t capacity) {
  struct itr_table *t;
  size_t slots = 16;

  if (capacity == 0 || capacity >= EMPTY / 2)
    return NULL;
  while (slots < capacity * 2)
    slots *= 2;
  t = calloc(1, sizeof(*t));
  if (!t)
    return NULL;
  t->entries = calloc(capacity, sizeof(*t->entries));
  t->index = malloc(slots * sizeof(*t->index));
  if (!t->entries || !t->index) {
    itr_table_free(t);
    return NULL;
  }
  memset(t->index, 0xff, slots * sizeof(*t->index));
  t->capacity = capacity;
  t->mask = slots - 1;
  return t;
}

void itr_table_free(struct itr_table *t) {
  if (!t)
    return;
  free(t->entries);
  free(t->index);
  free(t);
}

size_t itr_table_count(const struct itr_table *t) {
  return t->count;
}

size_t itr_table_capacity(const struct itr_table *t) {
  return t->capacity;
}

struct itr_entry *itr_table_entries(struct itr_table *t) {
  return t->entries;
}

/* The index slot that holds key, or the empty slot where it would go. */
static size_t find_slot(const struct itr_table *t,
                        const struct iptraffic_key *key) {
  size_t i = hash_key(key) & t->mask;

  while (t->index[i] != EMPTY && !key_equal(&t->entries[t->index[i]].key, key))
    i = (i + 1) & t->mask;
  return i;
}

struct itr_entry *itr_table_find(struct itr_table *t,
                                 const struct iptraffic_key *key) {
  uint32_t e = t->index[find_slot(t, key)];

  return e == EMPTY ? NULL : &t->entries[e];
}

void itr_table_begin_pass(struct itr_table *t) {
  t->generation++;
}

void itr_counters_add(struct itr_counters *a, const struct itr_counters *b) {
  a->rx_bytes += b->rx_bytes;
  a->rx_packets += b->rx_packets;
  a->tx_bytes += b->tx_bytes;
  a->tx_packets += b->tx_packets;
}

static bool counters_below(const struct itr_counters *a,
                           const struct itr_counters *b) {
  return a->rx_bytes < b->rx_bytes || a->rx_packets < b->rx_packets ||
         a->tx_bytes < b->tx_bytes || a->tx_packets < b->tx_packets;
}

void itr_entry_update(struct itr_entry *e, const struct itr_counters *c,
                      uint64_t now) {
  if (counters_below(c, &e->counters)) {
    e->delta = *c; /* recreated: everything it has is new */
  } else {
    e->delta.rx_bytes = c->rx_bytes - e->counters.rx_bytes;
    e->delta.rx_packets = c->rx_packets - e->counters.rx_packets;
    e->delta.tx_bytes = c->tx_bytes - e->counters.tx_bytes;
    e->delta.tx_packets = c->tx_packets - e->counters.tx_packets;
  }
  e->changed = memcmp(&e->counters, c, sizeof(*c)) != 0;
  if (e->changed) {
    e->counters = *c;
    e->last_change = now;
  }
}

uint64_t itr_entry_interval_bytes(const struct itr_entry *e) {
  return e->delta.rx_bytes + e->delta.tx_bytes;
}

int itr_table_record(struct itr_table *t, const struct iptraffic_key *key,
                     const struct itr_counters *c, uint64_t now) {
  size_t slot = find_slot(t, key);
  struct itr_entry *e;

  if (t->index[slot] == EMPTY) {
    if (t->count == t->capacity)
      return -ENOSPC;
    t->index[slot] = (uint32_t)t->count;
    e = &t->entries[t->count++];
    memset(e, 0, sizeof(*e));
    e->key = *key;
    itr_entry_update(e, c, now);
    e->changed = true; /* new, even with zero counters */
    e->last_change = now;
  } else {
    e = &t->entries[t->index[slot]];
    itr_entry_update(e, c, now);
  }
  e->generation = t->generation;
  return 0;
}

/* Ranks a before b: more interval bytes, then the smaller key. */
static bool ranks_before(const struct itr_entry *a, const struct itr_entry *b) {
  uint64_t x = itr_entry_interval_bytes(a), y = itr_entry_interval_bytes(b);

  if (x != y)
    return x > y;
  return memcmp(&a->key, &b->key, sizeof(a->key)) < 0;
}

static void swap_entries(struct itr_entry **a, struct itr_entry **b) {
  struct itr_entry *t = *a;

  *a = *b;
  *b = t;
}

void itr_select_top(struct itr_entry **entries, size_t n, size_t k) {
  size_t lo = 0, hi = n;

  if (k == 0 || k >= n)
    return;
  /* Quickselect on [lo, hi) until position k splits the ranking. */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2, store = lo;
    struct itr_entry *pivot;

    swap_entries(&entries[mid], &entries[hi - 1]);
    pivot = entries[hi - 1];
    for (size_t i = lo; i < hi - 1; i++)
      if (ranks_before(entries[i], pivot))
        swap_entries(&entries[i], &entries[store++]);
    swap_entries(&entries[store], &entries[hi - 1]);
    if (store == k || store + 1 == k)
      return;
    if (store > k)
      hi = store;
    else
      lo = store + 1;
  }
}

/* Empties index slot i and moves later entries of its probe run back, so
 * that every key stays reachable from its home slot. */
static void index_delete(struct itr_table *t, size_t i) {
  size_t j = i;

  for (;;) {
    t->index[i] = EMPTY;
    for (;;) {
      size_t home;

      j = (j + 1) & t->mask;
      if (t->index[j] == EMPTY)
        return;
      home = hash_key(&t->entries[t->index[j]].key) & t->mask;
      /* Keep j where it is if its home lies cyclically in (i, j]. */
      if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
        continue;
      break;
    }
    t->index[i] = t->index[j];
    i = j;
  }
}

static void remove_at(struct itr_table *t, size_t slot) {
  uint32_t e = t->index[slot];
  uint32_t last = (uint32_t)(t->count - 1);

  index_delete(t, slot);
  if (e != last) {
    /* Move the last entry into the hole and repoint its slot. */
    size_t moved = find_slot(t, &t->entries[last].key);

    t->entries[e] = t->entries[last];
    t->index[moved] = e;
  }
  t->count--;
}

int itr_table_remove(struct itr_table *t, const struct iptraffic_key *key) {
  size_t slot = find_slot(t, key);

  if (t->index[slot] == EMPTY)
    return -ENOENT;
  remove_at(t, slot);
  return 0;
}

size_t itr_table_remove_if(struct itr_table *t,
                           bool (*drop)(const struct itr_entry *e, void *ctx),
                           void *ctx) {
  size_t removed = 0;
  size_t i = 0;

  while (i < t->count) {
    if (!drop(&t->entries[i], ctx)) {
      i++;
      continue;
    }
    /* The last entry moves to i: look at i again. */
    remove_at(t, find_slot(t, &t->entries[i].key));
    removed++;
  }
  return removed;
}

static bool unseen(const struct itr_entry *e, void *ctx) {
  return e->generation != ((const struct itr_table *)ctx)->generation;
}

size_t itr_table_end_pass(struct itr_table *t) {
  return itr_table_remove_if(t, unseen, t);
}

const uint8_t itr_special_kinds[IPTRAFFIC_NUM_SPECIAL] = {
    IPTRAFFIC_KIND_NONIP, IPTRAFFIC_KIND_MALFORMED, IPTRAFFIC_KIND_UNTRACKED,
    IPTRAFFIC_KIND_IGNORED};

bool itr_key_is_special(const struct iptraffic_key *key) {
  return key->kind != IPTRAFFIC_KIND_IPV4 && key->kind != IPTRAFFIC_KIND_IPV6;
}

size_t itr_table_collect_idle(const struct itr_table *t, uint64_t now,
                              uint64_t idle, struct iptraffic_key *out,
                              size_t max) {
  size_t n = 0;

  if (idle == 0)
    return 0;
  for (size_t i = 0; i < t->count && n < max; i++) {
    const struct itr_entry *e = &t->entries[i];

    if (!itr_key_is_special(&e->key) && now >= e->last_change &&
        now - e->last_change >= idle)
      out[n++] = e->key;
  }
  return n;
}

void itr_percpu_sum(const struct iptraffic_value *percpu, unsigned ncpus,
                    struct itr_counters *out) {
  memset(out, 0, sizeof(*out));
  for (unsigned cpu = 0; cpu < ncpus; cpu++) {
    out->rx_bytes += percpu[cpu].rx_bytes;
    out->rx_packets += percpu[cpu].rx_packets;
    out->tx_bytes += percpu[cpu].tx_bytes;
    out->tx_packets += percpu[cpu].tx_packets;
  }
}
