/*
 * The whole read callback of the built plugin (iptraffic.so), loaded with
 * dlopen into this stand-in for the collectd daemon: it provides the part
 * of collectd's API the plugin uses, feeds it a configuration, runs init,
 * prefills the plugin's table through the XDP program it attached, and
 * times the read callback.
 *
 * Dispatch comes in two modes, timed side by side:
 *   own        plugin_dispatch_values only counts: the plugin's own work
 *              (reading, naming addresses, building value lists)
 *   collectd   plugin_dispatch_values does what collectd 5.12's does on
 *              the reading thread: copy the value list and its values into
 *              newly allocated memory, fill in host and interval, append it
 *              to the write queue under its lock and signal a write thread
 *              (which here only frees it). The write threads' own work
 *              (value cache update, write plugins) is not in it: the real
 *              collectd run in bench/run.sh measures that.
 * Memory: RSS growth from before the plugin's config callback to after its
 * first read (in own mode), per address.
 *
 * With -c FILE, also compares with a real collectd 5.12 (write_prometheus)
 * running the same plugin, as measured by bench/run.sh: FILE holds
 * "addresses N", "reads N", "reader_ns N", "writer_ns N", "warmup_s X"
 * lines (CPU of collectd's reader#0 and writer#0 threads over the reads).
 *
 * With -m PREFIX:COUNT, instead: the same addresses (-n, default 100000)
 * on one interface (PREFIX0) and spread over COUNT interfaces (PREFIX0 ..,
 * found by the pattern /^PREFIX[0-9]+$/), without and with TopN 100: the
 * time init takes to attach them all, and the read callback per address,
 * side by side.
 *
 * Usage: itr-bench-host -p PLUGIN.so -i IFACE [-R ROUNDS] [-n ADDRESSES]...
 *                       [-c FILE]
 *        itr-bench-host -p PLUGIN.so -m PREFIX:COUNT [-R ROUNDS] [-n N]
 * Root, in the network namespace that holds IFACE. One child process per
 * ADDRESSES value, so that every run starts with a fresh plugin.
 */
#define _GNU_SOURCE
#include "collectd.h"
#include "plugin.h"
#include "utils/common/common.h"
#include "utils_complain.h"

#include <dlfcn.h>
#include <net/if.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"

#define MAX_ROUNDS 21
#define MAX_COUNTS 8

/* --- the daemon's side of the plugin API ---------------------------------- */

static int (*config_cb)(oconfig_item_t *);
static int (*init_cb)(void);
static int (*read_cb)(void);
static int (*shutdown_cb)(void);

int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *)) {
  (void)type;
  config_cb = callback;
  return 0;
}

int plugin_register_init(const char *name, plugin_init_cb callback) {
  (void)name;
  init_cb = callback;
  return 0;
}

int plugin_register_read(const char *name, int (*callback)(void)) {
  (void)name;
  read_cb = callback;
  return 0;
}

int plugin_register_shutdown(const char *name, plugin_shutdown_cb callback) {
  (void)name;
  shutdown_cb = callback;
  return 0;
}

int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name) {
  (void)name;
  return pthread_create(thread, NULL, start_routine, arg);
}

void plugin_log(int level, const char *format, ...) {
  va_list ap;

  if (level > LOG_WARNING && !getenv("ITR_BENCH_DEBUG"))
    return;
  va_start(ap, format);
  fputs("collectd stand-in log: ", stderr);
  vfprintf(stderr, format, ap);
  fputc('\n', stderr);
  va_end(ap);
}

cdtime_t cdtime(void) {
  struct timespec ts;

  clock_gettime(CLOCK_REALTIME, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

char *sstrncpy(char *dest, const char *src, size_t n) {
  strncpy(dest, src, n);
  if (n > 0)
    dest[n - 1] = '\0';
  return dest;
}

char *sstrerror(int errnum, char *buf, size_t buflen) {
  snprintf(buf, buflen, "%s", strerror(errnum));
  return buf;
}

void c_complain(int level, c_complain_t *c, const char *format, ...) {
  va_list ap;
  char msg[512];

  c->complained_once = true;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  plugin_log(level, "%s", msg);
}

void c_do_release(int level, c_complain_t *c, const char *format, ...) {
  (void)level;
  (void)format;
  c->complained_once = false;
}

/* Dispatch. */

enum mode { MODE_OWN, MODE_COLLECTD };

struct queued {
  value_list_t *vl;
  struct queued *next;
};

static enum mode mode;
static size_t dispatched;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t drained_cond = PTHREAD_COND_INITIALIZER;
static struct queued *queue_head, *queue_tail;
static size_t queue_len;
static const char hostname[] = "bench-host";

int plugin_dispatch_values(value_list_t const *vl) {
  struct queued *q;
  value_list_t *copy;

  dispatched++;
  if (mode == MODE_OWN)
    return 0;
  q = malloc(sizeof(*q));
  copy = malloc(sizeof(*copy));
  if (!q || !copy)
    return ENOMEM;
  memcpy(copy, vl, sizeof(*copy));
  if (copy->host[0] == '\0')
    sstrncpy(copy->host, hostname, sizeof(copy->host));
  copy->values = calloc(vl->values_len, sizeof(*copy->values));
  if (!copy->values)
    return ENOMEM;
  memcpy(copy->values, vl->values, vl->values_len * sizeof(*vl->values));
  copy->meta = NULL; /* the plugin sets no metadata */
  if (copy->time == 0)
    copy->time = cdtime();
  if (copy->interval == 0)
    copy->interval = TIME_T_TO_CDTIME_T(10);
  q->vl = copy;
  q->next = NULL;
  pthread_mutex_lock(&queue_lock);
  if (queue_tail)
    queue_tail->next = q;
  else
    queue_head = q;
  queue_tail = q;
  queue_len++;
  pthread_cond_signal(&queue_cond);
  pthread_mutex_unlock(&queue_lock);
  return 0;
}

static void *write_thread(void *arg) {
  (void)arg;
  pthread_mutex_lock(&queue_lock);
  for (;;) {
    struct queued *q;

    while (!queue_head)
      pthread_cond_wait(&queue_cond, &queue_lock);
    q = queue_head;
    queue_head = q->next;
    if (!queue_head)
      queue_tail = NULL;
    queue_len--;
    if (queue_len == 0)
      pthread_cond_broadcast(&drained_cond);
    pthread_mutex_unlock(&queue_lock);
    free(q->vl->values);
    free(q->vl);
    free(q);
    pthread_mutex_lock(&queue_lock);
  }
  return NULL;
}

static void wait_drained(void) {
  pthread_mutex_lock(&queue_lock);
  while (queue_len > 0)
    pthread_cond_wait(&drained_cond, &queue_lock);
  pthread_mutex_unlock(&queue_lock);
}

/* --- one run ------------------------------------------------------------- */

struct result {
  uint32_t n;
  double init_ms;           /* the init callback: load and attach */
  double lists;             /* value lists per read */
  double own_wall, own_cpu; /* us per address */
  double cd_wall, cd_cpu;   /* us per address */
  double rss;               /* bytes per address */
};

static const char *plugin_path, *ifname, *real_file;
static int rounds = 5;

/* What one run configures: Interface (a name or a pattern), the
 * interfaces to prefill, TopN. */
struct setup {
  const char *interface;
  const char *prefix; /* prefill PREFIX0 .. PREFIX<ifaces - 1>, or ifname */
  uint32_t ifaces;
  uint32_t top_n;
};
static struct setup one = {0};

static double timed_read(double *cpu_us) {
  uint64_t w0 = now_ns(), c0 = thread_cpu_ns();

  check(read_cb() == 0, "the read callback failed");
  *cpu_us = (double)(thread_cpu_ns() - c0) / 1e3;
  return (double)(now_ns() - w0) / 1e3;
}

static void run(uint32_t n, const struct setup *su, struct result *res) {
  oconfig_value_t name = {.value.string = "iptraffic",
                          .type = OCONFIG_TYPE_STRING};
  oconfig_value_t iface = {.value.string = (char *)su->interface,
                           .type = OCONFIG_TYPE_STRING};
  /* Room for the addresses and every interface's destination. */
  oconfig_value_t cap = {.value.number = n + n / 4 + su->ifaces,
                         .type = OCONFIG_TYPE_NUMBER};
  oconfig_value_t top = {.value.number = su->top_n,
                         .type = OCONFIG_TYPE_NUMBER};
  /* No state across runs: each one starts from empty tables. */
  oconfig_value_t nopin = {.value.string = "", .type = OCONFIG_TYPE_STRING};
  oconfig_item_t children[4] = {
      {.key = "Interface", .values = &iface, .values_num = 1},
      {.key = "MaxEntries", .values = &cap, .values_num = 1},
      {.key = "PinPath", .values = &nopin, .values_num = 1},
      {.key = "TopN", .values = &top, .values_num = 1},
  };
  oconfig_item_t block = {.key = "Plugin",
                          .values = &name,
                          .values_num = 1,
                          .children = children,
                          .children_num = 4}; /* TopN 0: every address */
  uint64_t t0;
  double own_w[MAX_ROUNDS], own_c[MAX_ROUNDS], cd_w[MAX_ROUNDS],
      cd_c[MAX_ROUNDS], cpu;
  void (*module_register)(void);
  long long rss0;
  pthread_t writer;
  void *so;

  memset(res, 0, sizeof(*res));
  res->n = n;
  so = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
  check(so != NULL, "dlopen %s: %s", plugin_path, dlerror());
  module_register = (void (*)(void))dlsym(so, "module_register");
  check(module_register != NULL, "module_register missing");
  module_register();
  check(config_cb && init_cb && read_cb && shutdown_cb,
        "the plugin did not register its callbacks");
  check(pthread_create(&writer, NULL, write_thread, NULL) == 0, "thread");

  rss0 = rss_bytes();
  check(config_cb(&block) == 0, "the config callback failed");
  t0 = now_ns();
  check(init_cb() == 0, "the init callback failed (see the log above)");
  res->init_ms = (double)(now_ns() - t0) / 1e6;
  for (uint32_t k = 0; k < su->ifaces; k++) {
    char dev[IF_NAMESIZE];

    if (su->prefix)
      snprintf(dev, sizeof(dev), "%s%u", su->prefix, k);
    else
      snprintf(dev, sizeof(dev), "%s", su->interface);
    int err = prefill_attached(dev, n / su->ifaces);

    check(err == 0, "prefilling through the plugin's XDP program on %s: %s",
          dev, strerror(-err));
  }
  mode = MODE_OWN;
  dispatched = 0;
  timed_read(&cpu);
  res->rss = (double)(rss_bytes() - rss0) / n;
  res->lists = (double)dispatched;

  for (int r = 0; r < rounds; r++) {
    mode = MODE_OWN;
    own_w[r] = timed_read(&own_c[r]) / n;
    own_c[r] /= n;
    mode = MODE_COLLECTD;
    cd_w[r] = timed_read(&cd_c[r]) / n;
    cd_c[r] /= n;
    wait_drained();
  }
  res->own_wall = median(own_w, rounds);
  res->own_cpu = median(own_c, rounds);
  res->cd_wall = median(cd_w, rounds);
  res->cd_cpu = median(cd_c, rounds);
  shutdown_cb();
}

/* Side by side with the real collectd run at the same size. */
static void compare_real(const struct result *res, int n) {
  double addresses = 0, reads = 0, reader_ns = 0, writer_ns = 0, warmup = 0;
  const struct result *mine = NULL;
  char key[32];
  double v;
  FILE *f = fopen(real_file, "r");

  if (!f) {
    printf("\n(no real collectd figures: %s: %s)\n", real_file,
           strerror(errno));
    return;
  }
  while (fscanf(f, "%31s %lf", key, &v) == 2) {
    if (strcmp(key, "addresses") == 0)
      addresses = v;
    else if (strcmp(key, "reads") == 0)
      reads = v;
    else if (strcmp(key, "reader_ns") == 0)
      reader_ns = v;
    else if (strcmp(key, "writer_ns") == 0)
      writer_ns = v;
    else if (strcmp(key, "warmup_s") == 0)
      warmup = v;
  }
  fclose(f);
  for (int i = 0; i < n; i++)
    if (res[i].n == (uint32_t)addresses)
      mine = &res[i];
  if (!mine || reads <= 0 || addresses <= 0) {
    printf("\n(no real collectd figures to compare with)\n");
    return;
  }
  double reader = reader_ns / reads / addresses / 1e3;
  double writer = writer_ns / reads / addresses / 1e3;

  printf("\nIn a real collectd 5.12 with write_prometheus, same plugin, %.0f "
         "addresses (%.0f reads, after the warm-up: every series exported "
         "%.1f s after the addresses appeared), CPU us per address and "
         "read:\n\n",
         addresses, reads, warmup);
  printf("| | us/address | stand-in, same run | plugin's own work / "
         "collectd's total |\n");
  printf("|---|---:|---:|---:|\n");
  printf("| reading thread (read callback + dispatch) | %.2f | %.2f "
         "(collectd mode) | |\n",
         reader, mine->cd_cpu);
  printf("| write thread (value cache, write_prometheus) | %.2f | | |\n",
         writer);
  printf("| total | %.2f | own work %.2f | %.2fx |\n", reader + writer,
         mine->own_cpu, mine->own_cpu / (reader + writer));
}

/* One run in a child process of its own (a fresh plugin). */
static void run_child(uint32_t n, const struct setup *su, struct result *res) {
  int pipefd[2], status;
  pid_t pid;

  check(pipe(pipefd) == 0, "pipe");
  fflush(NULL);
  pid = fork();
  check(pid >= 0, "fork");
  if (pid == 0) {
    close(pipefd[0]);
    run(n, su, res);
    check(write(pipefd[1], res, sizeof(*res)) == sizeof(*res), "pipe write");
    _exit(0);
  }
  close(pipefd[1]);
  check(read(pipefd[0], res, sizeof(*res)) == sizeof(*res),
        "the run with %u addresses on %s failed", n, su->interface);
  close(pipefd[0]);
  waitpid(pid, &status, 0);
}

/* The same addresses on one interface and over many, without and with
 * TopN 100. */
static int run_many(const char *spec, uint32_t n) {
  char prefix[IF_NAMESIZE], first[IF_NAMESIZE + 8], pattern[64];
  const char *colon = strchr(spec, ':');
  uint32_t count = colon ? (uint32_t)strtoul(colon + 1, NULL, 10) : 0;
  struct result r[2][2];

  check(plugin_path && colon && count > 0 &&
            (size_t)(colon - spec) < sizeof(prefix) - 5,
        "-p PLUGIN.so and -m PREFIX:COUNT are needed");
  snprintf(prefix, sizeof(prefix), "%.*s", (int)(colon - spec), spec);
  snprintf(first, sizeof(first), "%s0", prefix);
  snprintf(pattern, sizeof(pattern), "/^%s[0-9]+$/", prefix);
  for (int top = 0; top < 2; top++) {
    const struct setup single = {
        .interface = first, .ifaces = 1, .top_n = top ? 100 : 0};
    const struct setup spread = {.interface = pattern,
                                 .prefix = prefix,
                                 .ifaces = count,
                                 .top_n = top ? 100 : 0};

    run_child(n, &single, &r[top][0]);
    run_child(n, &spread, &r[top][1]);
  }
  printf("### Many interfaces (the built iptraffic.so in the stand-in; %u "
         "addresses, median of %d reads)\n\n",
         n, rounds);
  printf("The same addresses on one interface, and spread over %u found by "
         "the pattern %s: init = loading and attaching every interface; "
         "read = the whole read callback, own dispatch, us per address. "
         "TopN is per interface: over many interfaces it dispatches as many "
         "more members.\n\n",
         count, pattern);
  printf("| TopN | interfaces | value lists/read | init ms | init ms per "
         "interface | read (wall / CPU) | read, many / one | target | "
         "RSS/address |\n");
  printf("|---|---:|---:|---:|---:|---:|---:|---|---:|\n");
  for (int top = 0; top < 2; top++)
    for (int k = 0; k < 2; k++) {
      const struct result *x = &r[top][k];
      double ratio = x->own_wall / r[top][0].own_wall;

      printf("| %s | %u | %.0f | %.0f | %.2f | %.3f / %.3f | %s%.2fx%s | %s "
             "| %.0f B |\n",
             top ? "100" : "off", k ? count : 1, x->lists, x->init_ms,
             x->init_ms / (k ? count : 1), x->own_wall, x->own_cpu,
             k ? "" : "(", ratio, k ? "" : ")",
             k ? (ratio <= 1.2 ? "<= 1.2x: met" : "<= 1.2x: MISSED") : "",
             x->rss);
    }
  return 0;
}

int main(int argc, char **argv) {
  uint32_t counts[MAX_COUNTS] = {1000, 10000, 100000, 1000000};
  int ncounts = 4, opt;
  bool own = false;
  struct result res[MAX_COUNTS];

  const char *many = NULL;

  while ((opt = getopt(argc, argv, "p:i:R:n:c:m:")) != -1) {
    if (opt == 'm') {
      many = optarg;
    } else if (opt == 'c') {
      real_file = optarg;
    } else if (opt == 'p') {
      plugin_path = optarg;
    } else if (opt == 'i') {
      ifname = optarg;
    } else if (opt == 'R') {
      rounds = atoi(optarg);
    } else if (opt == 'n') {
      if (!own)
        ncounts = 0;
      own = true;
      check(ncounts < MAX_COUNTS, "too many -n");
      counts[ncounts++] = (uint32_t)strtoul(optarg, NULL, 0);
    } else {
      fprintf(stderr,
              "usage: %s -p PLUGIN.so -i IFACE [-R ROUNDS] [-n ADDRESSES]...\n",
              argv[0]);
      return 2;
    }
  }
  check(rounds >= 1 && rounds <= MAX_ROUNDS, "ROUNDS must be 1..%d",
        MAX_ROUNDS);
  if (many)
    return run_many(many, own ? counts[0] : 100000);
  check(plugin_path && ifname, "-p and -i are needed");
  one = (struct setup){.interface = ifname, .ifaces = 1};

  for (int i = 0; i < ncounts; i++)
    run_child(counts[i], &one, &res[i]);

  printf("### The whole read callback (the built iptraffic.so in a collectd "
         "stand-in; us per address, median of %d)\n\n",
         rounds);
  printf("own = the plugin's work with dispatch counting only; collectd = "
         "with collectd 5.12's reading-thread side of dispatch (copy and "
         "enqueue of every value list). wall and CPU time of the reading "
         "thread. RSS = growth from config to after the first read.\n\n");
  printf("| addresses | value lists/read | own (wall / CPU) | collectd (wall "
         "/ CPU) | callback at this size | target | RSS/address |\n");
  printf("|---:|---:|---:|---:|---:|---|---:|\n");
  for (int i = 0; i < ncounts; i++) {
    const struct result *r = &res[i];
    double total_s = r->cd_wall * r->n / 1e6;

    printf("| %u | %.0f | %.2f / %.2f | %.2f / %.2f | %.3f s |", r->n, r->lists,
           r->own_wall, r->own_cpu, r->cd_wall, r->cd_cpu, total_s);
    if (r->n == 100000)
      printf(" < 1 s: %s |", total_s < 1 ? "met" : "MISSED");
    else
      printf(" |");
    printf(" %.0f B |\n", r->rss);
  }
  for (int i = 0; i < ncounts; i++)
    if (res[i].n == 100000)
      printf("\nTarget: the whole read callback for 100k addresses under 1 "
             "s: %.3f s, %s.\n",
             res[i].cd_wall * res[i].n / 1e6,
             res[i].cd_wall * res[i].n / 1e6 < 1 ? "met" : "MISSED");
  if (real_file)
    compare_real(res, ncounts);
  return 0;
}
