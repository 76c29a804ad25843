/*
 * Notifications of network interfaces coming, changing and going, and of
 * their addresses (rtnetlink: RTMGRP_LINK, RTMGRP_IPV4_IFADDR,
 * RTMGRP_IPV6_IFADDR), so that interfaces are attached when they appear,
 * and the node's own addresses followed, rather than at every read.
 *
 * libc only. Functions return 0 or a negative errno unless said
 * otherwise; they do not log.
 */
#ifndef ITR_LINKWATCH_H
#define ITR_LINKWATCH_H

/* A socket that receives the link notifications of this network
 * namespace (non-blocking, close-on-exec), or a negative errno. */
int itr_linkwatch_open(void);

/* Waits up to timeout_ms (0: does not wait) for notifications and reads
 * all there are. Returns 1 when any came (or some were lost: the socket's
 * buffer overran, which says as much), 0 when none did, or a negative
 * errno. */
int itr_linkwatch_wait(int fd, int timeout_ms);

#endif /* ITR_LINKWATCH_H */
