/*
 * Pinned state: the directory, its lock, the record, carrying entries
 * over to tables of other sizes.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "hot.h"
#include "pins.h"
#include "reader.h"
#include "table.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define BPFFS_ROOT "/sys/fs/bpf"

struct itr_pins {
  char dir[256];
  int fd; /* the directory, locked */
};

/* The pins of the tables, as the loader names them (the first three
 * count), then those of the earlier schemas this version migrates. */
static const char *const table_names[] = {
    "itr_addr4",      "itr_addr6",    "itr_hot",
    "itr_hot_filter", "itr_networks", IPTRAFFIC_SCHEMA2_COUNTERS};
#define TABLES (sizeof(table_names) / sizeof(table_names[0]))
#define SCHEMA2_TABLE (TABLES - 1)
#define META_NAME "meta"
#define LINKS_NAME "links" /* the attachments: links/<interface>:<hook> */

static bool on_bpffs(const char *path) {
  struct statfs st;

  return statfs(path, &st) == 0 && (unsigned long)st.f_type == BPF_FS_MAGIC;
}

/* Whether dir, or the nearest of its ancestors that exists, is on a BPF
 * filesystem: checked before anything is created. */
static bool on_bpffs_below(const char *dir) {
  char path[256];
  char *slash;

  snprintf(path, sizeof(path), "%s", dir);
  while (access(path, F_OK) < 0 && (slash = strrchr(path, '/')) != NULL) {
    if (slash == path) {
      path[1] = '\0';
      break;
    }
    *slash = '\0';
  }
  return on_bpffs(path);
}

static int problem(enum itr_pins_problem *why, enum itr_pins_problem what,
                   char *where, size_t len, const char *path, int err) {
  *why = what;
  snprintf(where, len, "%s", path);
  return err;
}

/* mkdir -p for the components of dir below the BPF filesystem's mount. */
static int make_dirs(const char *dir, enum itr_pins_problem *why, char *where,
                     size_t len) {
  char path[256];

  snprintf(path, sizeof(path), "%s", dir);
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p != '\0')
      continue;
    char c = *p;

    *p = '\0';
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
      return problem(why, ITR_PINS_MKDIR, where, len, path, -errno);
    *p = c;
    if (c == '\0')
      return 0;
  }
}

/* The directory dir, opened as fd (taken over, closed on failure). */
static int wrap(const char *dir, int fd, struct itr_pins **out) {
  struct itr_pins *p = calloc(1, sizeof(*p));

  if (!p) {
    close(fd);
    return -ENOMEM;
  }
  snprintf(p->dir, sizeof(p->dir), "%s", dir);
  p->fd = fd;
  *out = p;
  return 0;
}

int itr_pins_open(const char *dir, struct itr_pins **out,
                  enum itr_pins_problem *why, char *where, size_t len,
                  bool *mounted) {
  struct itr_pins *p;
  struct statfs sfs;
  struct stat st;
  int err, fd;

  *why = ITR_PINS_OK;
  *mounted = false;
  snprintf(where, len, "%s", dir);
  if (strlen(dir) >= sizeof(p->dir))
    return problem(why, ITR_PINS_MKDIR, where, len, dir, -ENAMETOOLONG);
  if (strncmp(dir, BPFFS_ROOT "/", strlen(BPFFS_ROOT) + 1) == 0 &&
      !on_bpffs(BPFFS_ROOT)) {
    /* No systemd (containers, minimal hosts): mount it, as bpftool does. */
    if (mount("bpf", BPFFS_ROOT, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0700") < 0)
      return problem(why, ITR_PINS_MOUNT, where, len, BPFFS_ROOT, -errno);
    *mounted = true;
  }
  if (!on_bpffs_below(dir))
    return problem(why, ITR_PINS_NOT_BPFFS, where, len, dir, -ENOTSUP);
  err = make_dirs(dir, why, where, len);
  if (err)
    return err;
  /* Everything else on the directory itself, never through a link. */
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return problem(why, ITR_PINS_MKDIR, where, len, dir, -errno);
  if (fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != BPF_FS_MAGIC)
    err = problem(why, ITR_PINS_NOT_BPFFS, where, len, dir, -ENOTSUP);
  else if (fstat(fd, &st) < 0)
    err = problem(why, ITR_PINS_MKDIR, where, len, dir, -errno);
  else if (st.st_uid != geteuid())
    err = problem(why, ITR_PINS_OWNER, where, len, dir, -EPERM);
  else if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
    err = problem(why, ITR_PINS_MKDIR, where, len, dir, -errno);
  else if (flock(fd, LOCK_EX | LOCK_NB) < 0)
    err = problem(why, ITR_PINS_LOCKED, where, len, dir, -errno);
  if (err) {
    close(fd);
    return err;
  }
  return wrap(dir, fd, out);
}

void itr_pins_close(struct itr_pins *p) {
  if (!p)
    return;
  close(p->fd); /* and with it the lock */
  free(p);
}

const char *itr_pins_dir(const struct itr_pins *p) {
  return p->dir;
}

static void pin_path(const struct itr_pins *p, const char *name, char *buf,
                     size_t len) {
  snprintf(buf, len, "%s/%s", p->dir, name);
}

static int open_pin(const struct itr_pins *p, const char *name) {
  char path[320];
  int fd;

  pin_path(p, name, path, sizeof(path));
  fd = bpf_obj_get(path);
  return fd < 0 ? -errno : fd;
}

int itr_pins_read_meta(struct itr_pins *p, struct iptraffic_meta *out) {
  struct bpf_map_info info;
  uint32_t info_len = sizeof(info), zero = 0;
  int fd = open_pin(p, META_NAME), err = 0;

  if (fd < 0)
    return fd;
  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(fd, &info, &info_len) < 0)
    err = -errno;
  else if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != sizeof(*out) ||
           info.max_entries != 1)
    err = -EPROTO; /* not a record this version can read */
  else if (bpf_map_lookup_elem(fd, &zero, out) < 0)
    err = -errno;
  close(fd);
  return err;
}

/* Written before it is pinned, so that no start ever finds an empty
 * record. */
int itr_pins_write_meta(struct itr_pins *p, const struct iptraffic_meta *m) {
  uint32_t zero = 0;
  int fd = open_pin(p, META_NAME), err = 0;
  bool created = false;

  if (fd == -ENOENT) {
    fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "itr_meta", sizeof(zero),
                        sizeof(*m), 1, NULL);
    if (fd < 0)
      return -errno;
    created = true;
  }
  if (fd < 0)
    return fd;
  if (bpf_map_update_elem(fd, &zero, m, BPF_ANY) < 0)
    err = -errno;
  if (!err && created) {
    char path[320];

    pin_path(p, META_NAME, path, sizeof(path));
    if (bpf_obj_pin(fd, path) < 0)
      err = -errno;
  }
  close(fd);
  return err;
}

bool itr_pins_have_tables(struct itr_pins *p) {
  char path[320];

  for (size_t i = 0; i < TABLES; i++) {
    pin_path(p, table_names[i], path, sizeof(path));
    if (access(path, F_OK) == 0)
      return true;
  }
  pin_path(p, META_NAME, path, sizeof(path));
  return access(path, F_OK) == 0;
}

/* Keys of a map of any layout (a foreign or older one too: BPF keys are
 * at most 512 bytes). */
static size_t count_keys(int fd) {
  uint8_t key[512], next[sizeof(key)];
  const void *prev = NULL;
  size_t n = 0;

  while (bpf_map_get_next_key(fd, prev, next) == 0) {
    memcpy(key, next, sizeof(key));
    prev = key;
    n++;
  }
  return n;
}

size_t itr_pins_count_entries(struct itr_pins *p) {
  size_t n = 0;

  for (size_t i = 0; i < TABLES; i++) {
    int fd;

    if (i == 3 || i == 4) /* the hot filter and the networks */
      continue;
    fd = open_pin(p, table_names[i]);

    if (fd >= 0) {
      n += count_keys(fd);
      close(fd);
    }
  }
  return n;
}

/* The record goes first: tables without one are never taken for a
 * match, whatever is left of them. */
int itr_pins_drop_tables(struct itr_pins *p) {
  char path[320];
  int err = 0;

  for (size_t i = 0; i <= TABLES; i++) {
    pin_path(p, i == 0 ? META_NAME : table_names[i - 1], path, sizeof(path));
    if (unlink(path) < 0 && errno != ENOENT)
      err = -errno;
  }
  return err;
}

uint32_t itr_pins_table_id(struct itr_pins *p) {
  struct bpf_map_info info;
  uint32_t len = sizeof(info), id = 0;
  int fd = open_pin(p, table_names[0]);

  if (fd == -ENOENT) /* the programs of schema 2 used its one table */
    fd = open_pin(p, table_names[SCHEMA2_TABLE]);
  if (fd < 0)
    return 0;
  memset(&info, 0, sizeof(info));
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
    id = info.id;
  close(fd);
  return id;
}

/* --- Carrying entries over ---------------------------------------------- */

/* The pinned tables read as the plugin reads them: one entry per key,
 * summed over the tables and CPUs. */
struct itr_pins_stash {
  struct itr_table *t;
  struct iptraffic_key *hot; /* the keys of the per-CPU table, sorted */
  size_t hot_num;
};

void itr_pins_stash_free(struct itr_pins_stash *s) {
  if (!s)
    return;
  itr_table_free(s->t);
  free(s->hot);
  free(s);
}

struct itr_table *itr_pins_stash_table(struct itr_pins_stash *s) {
  return s->t;
}

static int key_cmp(const void *a, const void *b) {
  return itr_key_cmp(a, b);
}

/* The keys of the per-CPU table (a few hundred at most). */
static int stash_hot_keys(int fd, size_t max, struct itr_pins_stash *s) {
  struct iptraffic_key key, next;
  const void *prev = NULL;

  s->hot = calloc(max ? max : 1, sizeof(*s->hot));
  if (!s->hot)
    return -ENOMEM;
  while (s->hot_num < max && bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    s->hot[s->hot_num++] = key;
  }
  qsort(s->hot, s->hot_num, sizeof(*s->hot), key_cmp);
  return 0;
}

static uint32_t max_entries(int fd) {
  struct bpf_map_info info;
  uint32_t len = sizeof(info);

  memset(&info, 0, sizeof(info));
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.max_entries : 0;
}

/* Schema 2: one per-CPU hash of keys in the plugin's form. A one-time
 * pass, key by key; the programs of schema 2 only ever add keys. */
static int stash_schema2(struct itr_pins *p, struct itr_pins_stash **out,
                         size_t *entries) {
  int ncpus = libbpf_num_possible_cpus();
  int fd = open_pin(p, table_names[SCHEMA2_TABLE]), err = 0;
  struct iptraffic_key key, next;
  struct iptraffic_value *percpu = NULL;
  struct itr_pins_stash *s = NULL;
  const void *prev = NULL;
  struct bpf_map_info info;
  uint32_t len = sizeof(info);

  if (fd < 0)
    return fd;
  memset(&info, 0, sizeof(info));
  if (ncpus <= 0)
    err = ncpus ? ncpus : -EINVAL;
  else if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
    err = -errno;
  else if (info.type != BPF_MAP_TYPE_PERCPU_HASH ||
           info.key_size != sizeof(key) ||
           info.value_size != sizeof(struct iptraffic_value))
    err = -EPROTO; /* not the layout of schema 2 */
  if (!err) {
    s = calloc(1, sizeof(*s));
    percpu = calloc((size_t)ncpus, sizeof(*percpu));
    if (s)
      s->t = itr_table_new((size_t)info.max_entries + 1);
    if (!s || !s->t || !percpu)
      err = -ENOMEM;
  }
  if (!err) {
    itr_table_begin_pass(s->t);
    s->hot = calloc(1, sizeof(*s->hot)); /* schema 2 had no hot keys */
    if (!s->hot)
      err = -ENOMEM;
  }
  while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
    struct itr_counters c;

    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(fd, &key, percpu) < 0) {
      if (errno != ENOENT)
        err = -errno;
      continue;
    }
    itr_percpu_sum(percpu, (unsigned)ncpus, &c);
    err = itr_table_record(s->t, &key, &c, 0);
  }
  free(percpu);
  close(fd);
  if (err) {
    itr_pins_stash_free(s);
    return err;
  }
  *entries = itr_table_count(s->t);
  *out = s;
  return 0;
}

int itr_pins_stash(struct itr_pins *p, uint32_t schema,
                   struct itr_pins_stash **out, size_t *entries) {
  struct itr_pins_stash *s;
  struct itr_reader *r;
  struct itr_maps m;
  int err;

  if (schema == IPTRAFFIC_SCHEMA2)
    return stash_schema2(p, out, entries);
  if (schema != IPTRAFFIC_SCHEMA_VERSION)
    return -EPROTO;
  err = itr_pins_maps(p, &m);
  if (err)
    return err;
  s = calloc(1, sizeof(*s));
  if (s)
    s->t = itr_table_new((size_t)max_entries(m.addr4) + max_entries(m.addr6) +
                         max_entries(m.hot) + 1);
  err = s && s->t ? itr_reader_new(&r, &m) : -ENOMEM;
  if (!err) {
    err = itr_reader_pass(r, s->t, 0);
    itr_reader_free(r);
  }
  if (!err)
    err = stash_hot_keys(m.hot, max_entries(m.hot), s);
  itr_pins_close_maps(&m);
  if (err) {
    itr_pins_stash_free(s);
    return err;
  }
  *entries = itr_table_count(s->t);
  *out = s;
  return 0;
}

/* Writes counters c under key into the table it was in: a key of the
 * per-CPU table there (the sum on the first CPU), or in its shared table
 * when that is full, as the programs do; the others in their family's
 * shared table (reads sum the two). */
static int restore_one(const struct itr_maps *maps,
                       const struct itr_pins_stash *s,
                       const struct iptraffic_key *key,
                       const struct itr_counters *c,
                       struct iptraffic_value *percpu, size_t ncpus) {
  const struct iptraffic_value v = {c->rx_bytes, c->rx_packets, c->tx_bytes,
                                    c->tx_packets};
  struct iptraffic_key4 k4;

  if (bsearch(key, s->hot, s->hot_num, sizeof(*s->hot), key_cmp)) {
    memset(percpu, 0, sizeof(*percpu) * ncpus);
    percpu[0] = v;
    if (bpf_map_update_elem(maps->hot, key, percpu, BPF_NOEXIST) == 0)
      return 0;
    if (errno != E2BIG)
      return -errno;
  }
  if (key->kind == IPTRAFFIC_KIND_IPV4) {
    if (itr_key4_encode(key, &k4) < 0)
      return -EINVAL;
    return bpf_map_update_elem(maps->addr4, &k4, &v, BPF_NOEXIST) < 0 ? -errno
                                                                      : 0;
  }
  return bpf_map_update_elem(maps->addr6, key, &v, BPF_NOEXIST) < 0 ? -errno
                                                                    : 0;
}

int itr_pins_restore(struct itr_pins_stash *s, const struct itr_maps *maps,
                     size_t *kept, size_t *dropped) {
  int ncpus = libbpf_num_possible_cpus();
  const struct itr_entry *e = itr_table_entries(s->t);
  struct iptraffic_value *percpu;
  int err = 0;

  *kept = *dropped = 0;
  percpu = calloc(ncpus > 0 ? (size_t)ncpus : 1, sizeof(*percpu));
  if (!percpu) {
    itr_pins_stash_free(s);
    return -ENOMEM;
  }
  for (size_t i = 0; i < itr_table_count(s->t) && !err; i++) {
    err = restore_one(maps, s, &e[i].key, &e[i].counters, percpu,
                      ncpus > 0 ? (size_t)ncpus : 1);
    if (err == 0) {
      (*kept)++;
    } else if (err == -E2BIG) {
      (*dropped)++;
      err = 0;
    } else if (err == -EEXIST) {
      err = 0; /* created meanwhile, as a hot key */
    }
  }
  free(percpu);
  itr_pins_stash_free(s);
  return err;
}

int itr_pins_merge(struct itr_pins_stash *s, const struct itr_loader *l,
                   size_t *kept, size_t *dropped) {
  const struct itr_entry *e = itr_table_entries(s->t);
  int err = 0;

  *kept = *dropped = 0;
  for (size_t i = 0; i < itr_table_count(s->t) && !err; i++) {
    const struct itr_counters *c = &e[i].counters;
    const struct iptraffic_value v = {c->rx_bytes, c->rx_packets, c->tx_bytes,
                                      c->tx_packets};

    err = itr_loader_merge(l, &e[i].key, &v);
    if (err == 0) {
      (*kept)++;
    } else if (err == -E2BIG) {
      (*dropped)++;
      err = 0;
    }
  }
  itr_pins_stash_free(s);
  return err;
}

/* --- For the admin command ------------------------------------------------ */

int itr_pins_open_existing(const char *dir, struct itr_pins **out,
                           bool *in_use) {
  struct itr_pins *p;
  struct statfs sfs;
  int fd;

  *in_use = false;
  if (strlen(dir) >= sizeof(p->dir))
    return -ENAMETOOLONG;
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  if (fstatfs(fd, &sfs) < 0 || (unsigned long)sfs.f_type != BPF_FS_MAGIC) {
    close(fd);
    return -ENOTSUP;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno != EWOULDBLOCK) {
      int err = -errno;

      close(fd);
      return err;
    }
    *in_use = true;
  }
  return wrap(dir, fd, out);
}

int itr_pins_maps(struct itr_pins *p, struct itr_maps *m) {
  int *slots[] = {&m->addr4, &m->addr6, &m->hot, &m->hot_filter};

  for (size_t i = 0; i < 4; i++)
    *slots[i] = open_pin(p, table_names[i]);
  for (size_t i = 0; i < 4; i++)
    if (*slots[i] < 0) {
      int err = *slots[i];

      itr_pins_close_maps(m);
      return err;
    }
  return 0;
}

static void close_fd(int *fd) {
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

void itr_pins_close_maps(struct itr_maps *m) {
  close_fd(&m->addr4);
  close_fd(&m->addr6);
  close_fd(&m->hot);
  close_fd(&m->hot_filter);
}

int itr_pins_forget_links(struct itr_pins *p, bool (*keep)(const char *name)) {
  char path[320];
  struct dirent *d;
  DIR *dir;
  int err = 0;

  pin_path(p, LINKS_NAME, path, sizeof(path));
  dir = opendir(path);
  if (!dir)
    return errno == ENOENT ? 0 : -errno;
  while ((d = readdir(dir)) != NULL) {
    char name[sizeof(d->d_name)], file[600];
    char *dot;

    if (d->d_name[0] == '.')
      continue;
    memcpy(name, d->d_name, sizeof(name));
    name[sizeof(name) - 1] = '\0';
    dot = strrchr(name, ':'); /* the hook */
    if (dot)
      *dot = '\0';
    for (char *c = name; *c; c++)
      if (*c == ':')
        *c = '.';
    if (keep && keep(name))
      continue;
    snprintf(file, sizeof(file), "%s/%s", path, d->d_name);
    if (unlink(file) < 0 && errno != ENOENT)
      err = -errno;
  }
  closedir(dir);
  return err;
}

int itr_pins_networks(struct itr_pins *p, struct itr_network *out, size_t max,
                      size_t *n) {
  struct iptraffic_net_key key, next;
  struct iptraffic_net_value v;
  const void *prev = NULL;
  int fd = open_pin(p, table_names[4]), err = 0;

  *n = 0;
  if (fd < 0)
    return fd;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    struct itr_network *net;

    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(fd, &key, &v) < 0) {
      err = -errno;
      break;
    }
    if (*n == max || key.prefixlen < 8 ||
        (key.kind != IPTRAFFIC_KIND_IPV4 && key.kind != IPTRAFFIC_KIND_IPV6)) {
      err = -EPROTO;
      break;
    }
    net = &out[(*n)++];
    memset(net, 0, sizeof(*net));
    net->kind = key.kind;
    net->len = (uint8_t)(key.prefixlen - 8);
    memcpy(net->addr, key.addr, sizeof(net->addr));
    net->prefixlen = v.prefixlen;
    net->ignore = v.ignore != 0;
  }
  close(fd);
  return err;
}

bool itr_pins_have_links(struct itr_pins *p) {
  char path[320];
  struct dirent *d;
  bool any = false;
  DIR *dir;

  pin_path(p, LINKS_NAME, path, sizeof(path));
  dir = opendir(path);
  while (dir && !any && (d = readdir(dir)) != NULL)
    any = d->d_name[0] != '.';
  if (dir)
    closedir(dir);
  return any;
}

int itr_pins_link_path(const struct itr_pins *p, const char *ifname,
                       const char *hook, char *buf, size_t len) {
  char dir[320];

  pin_path(p, LINKS_NAME, dir, sizeof(dir));
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return -errno;
  /* bpffs takes no '.' in a name, interface names no ':' (eth0.10 is
   * eth0:10:xdp). */
  snprintf(buf, len, "%s/%s:%s", dir, ifname, hook);
  for (char *c = buf + strlen(dir) + 1; *c; c++)
    if (*c == '.')
      *c = ':';
  return 0;
}

int itr_pins_remove(struct itr_pins *p) {
  char path[320];
  int err = itr_pins_forget_links(p, NULL);

  if (!err)
    err = itr_pins_drop_tables(p);
  pin_path(p, LINKS_NAME, path, sizeof(path));
  if (!err && rmdir(path) < 0 && errno != ENOENT)
    err = -errno;
  if (!err && rmdir(p->dir) < 0)
    err = -errno;
  return err;
}
