/*
 * Link notifications from rtnetlink.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "linkwatch.h"

int itr_linkwatch_open(void) {
  struct sockaddr_nl sa;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                  NETLINK_ROUTE);

  if (fd < 0)
    return -errno;
  memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int err = -errno;

    close(fd);
    return err;
  }
  return fd;
}

int itr_linkwatch_wait(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char buf[8192];
  int any = 0, n = poll(&p, 1, timeout_ms);

  if (n < 0)
    return errno == EINTR ? 0 : -errno;
  if (n == 0)
    return 0;
  for (;;) {
    ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (got > 0) {
      any = 1;
      continue;
    }
    if (got < 0 && errno == ENOBUFS) {
      any = 1; /* some were lost: something changed all the same */
      continue;
    }
    if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return -errno;
    return any;
  }
}
