/*
 * Text form of table keys: the type instance of a value list.
 *
 * Pure logic: libc only.
 */
#ifndef ITR_ADDR_H
#define ITR_ADDR_H

#include <stddef.h>

#include "iptraffic.h"

/* Longest text an instance can take: an IPv6 address, '_', a prefix
 * length and the terminating NUL. */
#define ITR_INSTANCE_LEN 51

/* Writes the instance text of key to buf:
 *   IPv4 "192.0.2.1", IPv6 RFC 5952 form "2001:db8::1" (as inet_ntop),
 *   a prefix shorter than the full length "10.1.2.0_24", "2001:db8:1::_48",
 *   special keys "non-ip", "malformed", "untracked".
 * Returns 0, -ENOSPC if len is too small, or -EINVAL for a key that is not
 * valid (unknown kind, prefix length out of range). */
int itr_key_format(const struct iptraffic_key *key, char *buf, size_t len);

#endif /* ITR_ADDR_H */
