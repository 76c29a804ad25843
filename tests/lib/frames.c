/*
 * Crafted Ethernet frames for the BPF program tests and the e2e sender.
 *
 * Layout of a frame built here (sizes in bytes):
 *
 *   Ethernet header                  14 (dst MAC, src MAC, ethertype)
 *   VLAN tags                         4 each, outermost first
 *   family 0: payload_len zero bytes
 *   family 4: IPv4 header            20 + ipv4_options_len
 *             UDP header              8
 *             payload                 payload_len
 *   family 6: IPv6 header            40
 *             destination options     8 each (ipv6_ext_headers)
 *             UDP header              8
 *             payload                 payload_len
 *
 * Multi-byte header fields are written in network byte order. The UDP
 * checksum covers the pseudo-header, the UDP header and the payload, as
 * RFC 768 / RFC 8200 require; the IPv4 header checksum covers the header
 * with its options.
 */
#include "frames.h"
#include "iptraffic.h"

#include <arpa/inet.h>
#include <string.h>

#define ETH_HDR_LEN 14
#define VLAN_HDR_LEN 4
#define IPV4_HDR_LEN 20
#define IPV4_MAX_OPTIONS 40
#define IPV6_HDR_LEN 40
#define IPV6_EXT_LEN 8
#define UDP_HDR_LEN 8

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define IPPROTO_DSTOPTS_NUM 60
#define IPPROTO_UDP_NUM 17

#define IPV4_FLAG_MF 0x2000
#define IPV4_FRAG_OFFSET_MAX 0x1fff
#define VLAN_ID_MAX 0x0fff

#define UDP_SRC_PORT 40000
#define UDP_DST_PORT 9 /* discard */

/* At most this many destination-options headers: enough for any test, and
 * far below what would overflow the IPv6 payload length. */
#define FRAME_MAX_IPV6_EXT 32

static const uint8_t default_dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t default_src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)(v & 0xff);
}

static bool mac_is_zero(const uint8_t mac[6]) {
  for (int i = 0; i < 6; i++)
    if (mac[i] != 0)
      return false;
  return true;
}

/* One's complement sum of len bytes, big-endian 16-bit words; an odd last
 * byte is padded with zero. Not folded. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len) {
  size_t i;
  for (i = 0; i + 1 < len; i += 2)
    sum += (uint32_t)p[i] << 8 | p[i + 1];
  if (i < len)
    sum += (uint32_t)p[i] << 8;
  return sum;
}

static uint16_t csum_fold(uint32_t sum) {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

/* Payload bytes follow a fixed pattern, so that checksums cover more than
 * zeros and a dump shows where the payload starts. */
static void fill_payload(uint8_t *p, size_t len) {
  for (size_t i = 0; i < len; i++)
    p[i] = (uint8_t)(i & 0xff);
}

/* UDP header at udp, followed by payload_len pattern bytes; the checksum
 * starts from the pseudo-header sum. */
static void write_udp(uint8_t *udp, size_t payload_len, uint32_t pseudo_sum) {
  size_t udp_len = UDP_HDR_LEN + payload_len;

  put16(udp, UDP_SRC_PORT);
  put16(udp + 2, UDP_DST_PORT);
  put16(udp + 4, (uint16_t)udp_len);
  put16(udp + 6, 0);
  fill_payload(udp + UDP_HDR_LEN, payload_len);

  uint16_t csum = csum_fold(csum_add(pseudo_sum, udp, udp_len));
  if (csum == 0)
    csum = 0xffff; /* 0 means "no checksum" in UDP */
  put16(udp + 6, csum);
}

/* Length of the frame spec describes (0 if invalid or too long); sets
 * *ethertype to the innermost ethertype. */
static size_t frame_length(const struct frame_spec *spec, uint16_t *ethertype) {
  size_t len = ETH_HDR_LEN;

  if (spec->vlan_num < 0 || spec->vlan_num > FRAME_MAX_VLAN)
    return 0;
  for (int i = 0; i < spec->vlan_num; i++)
    if (spec->vlan_id[i] > VLAN_ID_MAX)
      return 0;
  len += (size_t)spec->vlan_num * VLAN_HDR_LEN;

  switch (spec->family) {
  case 0:
    *ethertype = spec->ethertype;
    if (spec->payload_len > 65535)
      return 0;
    return len + spec->payload_len;
  case 4: {
    if (spec->ipv4_options_len < 0 ||
        spec->ipv4_options_len > IPV4_MAX_OPTIONS ||
        spec->ipv4_options_len % 4 != 0)
      return 0;
    if (spec->frag_offset > IPV4_FRAG_OFFSET_MAX)
      return 0;
    size_t ip_len = IPV4_HDR_LEN + (size_t)spec->ipv4_options_len +
                    UDP_HDR_LEN + spec->payload_len;
    if (spec->payload_len > 65535 || ip_len > 65535)
      return 0;
    *ethertype = ETHERTYPE_IPV4;
    return len + ip_len;
  }
  case 6: {
    if (spec->ipv6_ext_headers < 0 ||
        spec->ipv6_ext_headers > FRAME_MAX_IPV6_EXT)
      return 0;
    size_t ip_payload = (size_t)spec->ipv6_ext_headers * IPV6_EXT_LEN +
                        UDP_HDR_LEN + spec->payload_len;
    if (spec->payload_len > 65535 || ip_payload > 65535)
      return 0;
    *ethertype = ETHERTYPE_IPV6;
    return len + IPV6_HDR_LEN + ip_payload;
  }
  default:
    return 0;
  }
}

static size_t write_ipv4(const struct frame_spec *spec, uint8_t *ip) {
  struct in_addr src, dst;
  if (spec->src == NULL || spec->dst == NULL ||
      inet_pton(AF_INET, spec->src, &src) != 1 ||
      inet_pton(AF_INET, spec->dst, &dst) != 1)
    return 0;

  size_t hdr_len = IPV4_HDR_LEN + (size_t)spec->ipv4_options_len;
  size_t total = hdr_len + UDP_HDR_LEN + spec->payload_len;

  ip[0] = (uint8_t)(0x40 | (hdr_len / 4)); /* version 4, IHL */
  ip[1] = 0;                               /* DSCP/ECN */
  put16(ip + 2, (uint16_t)total);
  put16(ip + 4, 0x1234); /* identification */
  put16(ip + 6, (uint16_t)((spec->more_fragments ? IPV4_FLAG_MF : 0) |
                           spec->frag_offset));
  ip[8] = 64; /* TTL */
  ip[9] = IPPROTO_UDP_NUM;
  put16(ip + 10, 0);
  memcpy(ip + 12, &src, 4);
  memcpy(ip + 16, &dst, 4);
  /* Options: NOPs, the last byte End of Options List. */
  if (spec->ipv4_options_len > 0) {
    memset(ip + IPV4_HDR_LEN, 1, (size_t)spec->ipv4_options_len);
    ip[hdr_len - 1] = 0;
  }
  put16(ip + 10, csum_fold(csum_add(0, ip, hdr_len)));

  /* Pseudo-header: source, destination, zero, protocol, UDP length. */
  size_t udp_len = UDP_HDR_LEN + spec->payload_len;
  uint32_t sum = csum_add(0, ip + 12, 8);
  sum += IPPROTO_UDP_NUM;
  sum += (uint32_t)udp_len;
  write_udp(ip + hdr_len, spec->payload_len, sum);
  return total;
}

static size_t write_ipv6(const struct frame_spec *spec, uint8_t *ip) {
  struct in6_addr src, dst;
  if (spec->src == NULL || spec->dst == NULL ||
      inet_pton(AF_INET6, spec->src, &src) != 1 ||
      inet_pton(AF_INET6, spec->dst, &dst) != 1)
    return 0;

  size_t ext_len = (size_t)spec->ipv6_ext_headers * IPV6_EXT_LEN;
  size_t udp_len = UDP_HDR_LEN + spec->payload_len;

  put16(ip, 0x6000); /* version 6, traffic class 0, flow label 0 */
  put16(ip + 2, 0);
  put16(ip + 4, (uint16_t)(ext_len + udp_len));
  ip[6] = spec->ipv6_ext_headers > 0 ? IPPROTO_DSTOPTS_NUM : IPPROTO_UDP_NUM;
  ip[7] = 64; /* hop limit */
  memcpy(ip + 8, &src, 16);
  memcpy(ip + 24, &dst, 16);

  /* Destination options headers: next header, length 0 (8 bytes), and one
   * PadN option filling the remaining 6 bytes. */
  uint8_t *ext = ip + IPV6_HDR_LEN;
  for (int i = 0; i < spec->ipv6_ext_headers; i++, ext += IPV6_EXT_LEN) {
    bool last = i == spec->ipv6_ext_headers - 1;
    ext[0] = last ? IPPROTO_UDP_NUM : IPPROTO_DSTOPTS_NUM;
    ext[1] = 0;
    ext[2] = 1; /* PadN */
    ext[3] = 4;
    memset(ext + 4, 0, 4);
  }

  /* Pseudo-header: source, destination, upper-layer length, next header. */
  uint32_t sum = csum_add(0, ip + 8, 32);
  sum += (uint32_t)(udp_len >> 16) + (uint32_t)(udp_len & 0xffff);
  sum += IPPROTO_UDP_NUM;
  write_udp(ext, spec->payload_len, sum);
  return IPV6_HDR_LEN + ext_len + udp_len;
}

size_t frame_build(const struct frame_spec *spec, uint8_t *buf, size_t buflen) {
  uint16_t ethertype = 0;

  if (spec == NULL || buf == NULL)
    return 0;
  size_t len = frame_length(spec, &ethertype);
  if (len == 0 || len > buflen)
    return 0;

  uint8_t *p = buf;
  memcpy(p, mac_is_zero(spec->dst_mac) ? default_dst_mac : spec->dst_mac, 6);
  memcpy(p + 6, mac_is_zero(spec->src_mac) ? default_src_mac : spec->src_mac,
         6);
  p += 12;
  for (int i = 0; i < spec->vlan_num; i++, p += VLAN_HDR_LEN) {
    put16(p, spec->vlan_tpid[i]);
    put16(p + 2, spec->vlan_id[i]); /* PCP 0, DEI 0 */
  }
  put16(p, ethertype);
  p += 2;

  size_t l3_len;
  switch (spec->family) {
  case 0:
    memset(p, 0, spec->payload_len);
    l3_len = spec->payload_len;
    break;
  case 4:
    l3_len = write_ipv4(spec, p);
    break;
  default:
    l3_len = write_ipv6(spec, p);
    break;
  }
  if (spec->family != 0 && l3_len == 0)
    return 0;
  if ((size_t)(p - buf) + l3_len != len)
    return 0;
  return len;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int frame_parse_mac(const char *text, uint8_t mac[6]) {
  uint8_t out[6];

  if (text == NULL || mac == NULL)
    return -1;
  for (int i = 0; i < 6; i++) {
    int hi = hex_digit(text[0]);
    int lo = hi < 0 ? -1 : hex_digit(text[1]);
    if (lo < 0)
      return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
    text += 2;
    if (i < 5) {
      if (*text != ':')
        return -1;
      text++;
    }
  }
  if (*text != '\0')
    return -1;
  memcpy(mac, out, 6);
  return 0;
}

int frame_address_key(const char *text, uint32_t ifindex,
                      struct iptraffic_key *key) {
  memset(key, 0, sizeof(*key));
  key->ifindex = ifindex;
  if (inet_pton(AF_INET, text, key->addr) == 1) {
    key->kind = IPTRAFFIC_KIND_IPV4;
    key->prefixlen = 32;
  } else if (inet_pton(AF_INET6, text, key->addr) == 1) {
    key->kind = IPTRAFFIC_KIND_IPV6;
    key->prefixlen = 128;
  } else {
    return -1;
  }
  return 0;
}
