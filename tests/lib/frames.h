/*
 * Crafted Ethernet frames for the BPF program tests and the e2e sender.
 */
#ifndef ITR_FRAMES_H
#define ITR_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_MAX_VLAN 3

struct frame_spec {
  /* 4 or 6: an IPv4/IPv6 UDP datagram from src to dst.
   * 0: a frame with the given ethertype and payload_len bytes of zeros
   *    after the Ethernet (and VLAN) headers (e.g. ARP: 0x0806, 28 bytes). */
  int family;
  uint16_t ethertype;                 /* family 0 only, host byte order */
  uint8_t dst_mac[6];                 /* all zero: 02:00:00:00:00:02 */
  uint8_t src_mac[6];                 /* all zero: 02:00:00:00:00:01 */
  int vlan_num;                       /* VLAN tags, outermost first */
  uint16_t vlan_tpid[FRAME_MAX_VLAN]; /* 0x8100 or 0x88a8, host order */
  uint16_t vlan_id[FRAME_MAX_VLAN];
  const char *src; /* text address; family 4/6 */
  const char *dst;
  int ipv4_options_len; /* IPv4 options (NOPs + EOL), multiple of 4, <= 40 */
  int ipv6_ext_headers; /* number of 8-byte destination-options headers
                           inserted before UDP */
  uint16_t frag_offset; /* IPv4 fragment offset in 8-byte units */
  bool more_fragments;  /* IPv4 MF flag */
  size_t payload_len;   /* UDP payload bytes (family 4/6) */
};

/* Writes the frame described by spec into buf (no FCS). Returns its length,
 * or 0 if it does not fit in buflen or spec is invalid (bad address text,
 * options length). Checksums are valid. */
size_t frame_build(const struct frame_spec *spec, uint8_t *buf, size_t buflen);

/* The table key (struct iptraffic_key) under which the plugin counts the
 * address text on ifindex: kind, full prefix length, address bytes.
 * Returns 0, or -1 for text that is no IPv4 or IPv6 address. */
struct iptraffic_key;
int frame_address_key(const char *text, uint32_t ifindex,
                      struct iptraffic_key *key);

/* Parses "aa:bb:cc:dd:ee:ff" into mac. Returns 0 or -1. */
int frame_parse_mac(const char *text, uint8_t mac[6]);

#endif /* ITR_FRAMES_H */
