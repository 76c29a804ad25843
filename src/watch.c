/**
 * collectd - iptraffic plugin: following the interfaces as the kernel
 * announces them.
 *
 * A thread of collectd's (plugin_thread_create) waits for rtnetlink's
 * notifications (linkwatch.c) and, under g.lock, attaches the interfaces
 * that appeared and detaches those that went, instead of waiting for the
 * next read.
 */
#include "glue.h"

#include "utils/common/common.h"

#include <stdatomic.h>
#include <unistd.h>

#include "linkwatch.h"

static pthread_t watcher;
static bool watching;
static atomic_bool watcher_stop;
static atomic_bool watcher_alive; /* false once the watcher gave up */
static int watch_fd = -1;
static unsigned reads_since_sync;
#define SYNC_EVERY_READS 60

/* Every interface checked (come, gone, recreated), and what patterns
 * select found. */
void sync_ifaces(void) {
  for (size_t i = 0; i < g.ifaces_num; i++)
    check_iface(&g.ifaces[i]);
  discover();
}

/* Attaches interfaces as the kernel announces them, instead of at the next
 * read: a burst of notifications (a container's interfaces) is taken in
 * one go after 10 ms. */
static void *watch_links(void *arg) {
  (void)arg;
  while (!atomic_load(&watcher_stop)) {
    int got = itr_linkwatch_wait(watch_fd, 200);

    if (got < 0) {
      ERROR(LOG_PREFIX "reading interface notifications failed (%s): "
                       "interfaces are followed at every read only",
            STRERROR(-got));
      atomic_store(&watcher_alive, false);
      break;
    }
    if (got == 0)
      continue;
    usleep(10000);
    itr_linkwatch_wait(watch_fd, 0);
    pthread_mutex_lock(&g.lock);
    sync_ifaces();
    refresh_hot();
    pthread_mutex_unlock(&g.lock);
  }
  return NULL;
}

void start_watching(void) {
  watch_fd = itr_linkwatch_open();
  if (watch_fd < 0) {
    INFO(LOG_PREFIX "no interface notifications (%s): interfaces are "
                    "followed at every read only",
         STRERROR(-watch_fd));
    return;
  }
  atomic_store(&watcher_stop, false);
  atomic_store(&watcher_alive, true);
  if (plugin_thread_create(&watcher, watch_links, NULL, "iptraffic links") !=
      0) {
    INFO(LOG_PREFIX "no thread for interface notifications: interfaces are "
                    "followed at every read only");
    close(watch_fd);
    watch_fd = -1;
    return;
  }
  watching = true;
}

void stop_watching(void) {
  atomic_store(&watcher_alive, false);
  if (watching) {
    atomic_store(&watcher_stop, true);
    pthread_join(watcher, NULL);
    watching = false;
  }
  if (watch_fd >= 0)
    close(watch_fd);
  watch_fd = -1;
}

bool sync_due(void) {
  if (atomic_load(&watcher_alive) && reads_since_sync++ < SYNC_EVERY_READS)
    return false;
  reads_since_sync = 0;
  return true;
}
