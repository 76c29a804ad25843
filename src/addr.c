/*
 * Text form of table keys: the type instance of a value list.
 *
 * Pure logic: libc only.
 */
#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const char *special_name(unsigned kind) {
  switch (kind) {
  case IPTRAFFIC_KIND_NONIP:
    return "non-ip";
  case IPTRAFFIC_KIND_MALFORMED:
    return "malformed";
  case IPTRAFFIC_KIND_UNTRACKED:
    return "untracked";
  case IPTRAFFIC_KIND_IGNORED:
    return "ignored";
  default:
    return NULL;
  }
}

/* The address, then "_<prefixlen>" when the prefix is shorter than the
 * family's full length. */
static int format_address(const struct iptraffic_key *key, char *out,
                          size_t len) {
  int family;
  unsigned full;
  size_t n;

  switch (key->kind) {
  case IPTRAFFIC_KIND_IPV4:
    family = AF_INET;
    full = 32;
    break;
  case IPTRAFFIC_KIND_IPV6:
    family = AF_INET6;
    full = 128;
    break;
  default:
    return -EINVAL;
  }
  if (key->prefixlen > full)
    return -EINVAL;
  if (inet_ntop(family, key->addr, out, (socklen_t)len) == NULL)
    return -errno;
  n = strlen(out);
  if (key->prefixlen < full)
    snprintf(out + n, len - n, "_%u", (unsigned)key->prefixlen);
  return 0;
}

int itr_key_format(const struct iptraffic_key *key, char *buf, size_t len) {
  char text[ITR_INSTANCE_LEN];
  const char *name;
  size_t n;

  if (key == NULL || (buf == NULL && len > 0))
    return -EINVAL;
  name = special_name(key->kind);
  if (name != NULL) {
    n = strlen(name);
    memcpy(text, name, n + 1);
  } else {
    int ret = format_address(key, text, sizeof(text));

    if (ret < 0)
      return ret;
    n = strlen(text);
  }
  if (n >= len) {
    if (len > 0)
      buf[0] = '\0';
    return -ENOSPC;
  }
  memcpy(buf, text, n + 1);
  return 0;
}
