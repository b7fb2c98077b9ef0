/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_parse.h — one packet parser for TC and XDP (they differ only in how
 * they obtain data/data_end). Every header read is preceded by a bounds check
 * against data_end; anything not understood returns a non-OK verdict and the
 * caller passes the packet untouched.
 *
 * Once the IP header's version has been read, key.family, key.saddr and
 * key.daddr are filled whatever the verdict (except MSM_PARSE_NOT_IP for
 * non-IP frames), so that XDP's deny-list can judge a packet by its IP
 * header alone: ICMP, fragments, malformed or unknown L4, unfinished IPv6
 * extension chains.
 */
#ifndef MSM_PARSE_H
#define MSM_PARSE_H

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <linux/in.h>
#include <bpf/bpf_endian.h>
#include "msm_shared.h"

enum msm_parse_rc {
	MSM_PARSE_OK = 0,	   /* L4 header found, key filled */
	MSM_PARSE_NOT_IP = 1,	   /* not IPv4/IPv6, or an L4 we do not track */
	MSM_PARSE_MALFORMED = 2,   /* truncated or inconsistent headers */
	MSM_PARSE_FRAGMENT = 3,	   /* non-first fragment: no ports */
	MSM_PARSE_V6_EXT_LONG = 4, /* IPv6 extension chain longer than MSM_MAX_V6_EXT */
};

#define MSM_MAX_VLAN 2
/* header offsets past this are not followed (keeps packet pointer ranges
 * small enough for the verifier's range tracking) */
#define MSM_MAX_HDR_OFF 1024
#define MSM_MAX_V6_EXT	4

#ifndef IPPROTO_HOPOPTS
#define IPPROTO_HOPOPTS 0
#endif
#ifndef IPPROTO_ROUTING
#define IPPROTO_ROUTING 43
#endif
#ifndef IPPROTO_FRAGMENT
#define IPPROTO_FRAGMENT 44
#endif
#ifndef IPPROTO_DSTOPTS
#define IPPROTO_DSTOPTS 60
#endif

struct vlan_hdr_msm {
	__be16 tci;
	__be16 proto;
};

struct ipv6_opt_hdr_msm {
	__u8 nexthdr;
	__u8 hdrlen; /* 8-octet units, not counting the first 8 */
};

struct ipv6_frag_hdr_msm {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
};

struct msm_pkt {
	__u32 l3_off;	   /* offset of the IP header from data */
	__u32 l4_off;	   /* offset of the UDP/TCP header */
	__u32 payload_off; /* offset of the L4 payload */
	__u32 payload_len; /* UDP: from the UDP length; TCP: from the IP length */
	__u32 ip_hlen;	   /* IPv4 header length in bytes */
	__u8 tcp_flags;
	__u8 pad[3];
	struct msm_flow_key key;
};

static __always_inline int msm_parse_l4(void *data, void *data_end, __u8 proto, __u32 l4_off,
					__u32 l4_len, struct msm_pkt *p)
{
	p->key.proto = proto;
	p->l4_off = l4_off;
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = data + l4_off;
		if ((void *)(udp + 1) > data_end)
			return MSM_PARSE_MALFORMED;
		__u32 ulen = bpf_ntohs(udp->len);
		/* the UDP length must cover its header and fit the IP payload */
		if (ulen < sizeof(*udp) || ulen > l4_len)
			return MSM_PARSE_MALFORMED;
		p->key.sport = bpf_ntohs(udp->source);
		p->key.dport = bpf_ntohs(udp->dest);
		p->payload_off = l4_off + sizeof(*udp);
		p->payload_len = ulen - sizeof(*udp);
		return MSM_PARSE_OK;
	}
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + l4_off;
		if ((void *)(tcp + 1) > data_end)
			return MSM_PARSE_MALFORMED;
		__u32 doff = tcp->doff * 4;
		if (doff < sizeof(*tcp) || doff > l4_len)
			return MSM_PARSE_MALFORMED;
		p->key.sport = bpf_ntohs(tcp->source);
		p->key.dport = bpf_ntohs(tcp->dest);
		p->tcp_flags = ((__u8 *)tcp)[13];
		p->payload_off = l4_off + doff;
		p->payload_len = l4_len - doff;
		return MSM_PARSE_OK;
	}
	return MSM_PARSE_NOT_IP;
}

static __always_inline int msm_parse_ipv4(void *data, void *data_end, __u32 off, __u32 pkt_len,
					  struct msm_pkt *p)
{
	struct iphdr *ip = data + off;
	if ((void *)(ip + 1) > data_end)
		return MSM_PARSE_MALFORMED;
	if (ip->version != 4)
		return MSM_PARSE_MALFORMED;
	p->key.family = MSM_FAMILY_IPV4;
	p->key.saddr[0] = ip->saddr;
	p->key.daddr[0] = ip->daddr;
	__u32 hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip))
		return MSM_PARSE_MALFORMED;
	__u32 tot = bpf_ntohs(ip->tot_len);
	if (tot < hlen)
		return MSM_PARSE_MALFORMED;
	/* the datagram must lie within the frame (trailing padding is fine) */
	if (off + tot > pkt_len || (void *)ip + hlen > data_end)
		return MSM_PARSE_MALFORMED;
	p->l3_off = off;
	p->ip_hlen = hlen;
	p->key.proto = ip->protocol;
	if (bpf_ntohs(ip->frag_off) & 0x1fff)
		return MSM_PARSE_FRAGMENT;
	return msm_parse_l4(data, data_end, ip->protocol, off + hlen, tot - hlen, p);
}

static __always_inline int msm_parse_ipv6(void *data, void *data_end, __u32 off, __u32 pkt_len,
					  struct msm_pkt *p)
{
	struct ipv6hdr *ip6 = data + off;
	if ((void *)(ip6 + 1) > data_end)
		return MSM_PARSE_MALFORMED;
	if (ip6->version != 6)
		return MSM_PARSE_MALFORMED;
	p->l3_off = off;
	p->key.family = MSM_FAMILY_IPV6;
	__builtin_memcpy(p->key.saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->key.daddr, &ip6->daddr, 16);

	__u8 nexthdr = ip6->nexthdr;
	__u32 plen = bpf_ntohs(ip6->payload_len);
	if (off + sizeof(*ip6) + plen > pkt_len)
		return MSM_PARSE_MALFORMED;
	__u32 l4 = off + sizeof(*ip6);
	__u32 ext = 0;

	/* a bounded walk over the extension headers that may precede UDP/TCP */
#pragma unroll
	for (int i = 0; i < MSM_MAX_V6_EXT; i++) {
		if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
		    nexthdr == IPPROTO_DSTOPTS) {
			struct ipv6_opt_hdr_msm *oh = data + l4;
			if ((void *)(oh + 1) > data_end)
				return MSM_PARSE_MALFORMED;
			__u32 len = (oh->hdrlen + 1) * 8;
			nexthdr = oh->nexthdr;
			l4 += len;
			ext += len;
		} else if (nexthdr == IPPROTO_FRAGMENT) {
			struct ipv6_frag_hdr_msm *fh = data + l4;
			if ((void *)(fh + 1) > data_end)
				return MSM_PARSE_MALFORMED;
			nexthdr = fh->nexthdr;
			if (bpf_ntohs(fh->frag_off) & 0xfff8) {
				p->key.proto = nexthdr;
				return MSM_PARSE_FRAGMENT;
			}
			l4 += sizeof(*fh);
			ext += sizeof(*fh);
		} else {
			break;
		}
	}
	/* still in the chain after MSM_MAX_V6_EXT headers: the L4 header is
	 * out of the parser's reach (TC passes it, XDP drops it) */
	if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	    nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_FRAGMENT)
		return MSM_PARSE_V6_EXT_LONG;
	if (ext > plen)
		return MSM_PARSE_MALFORMED;
	if (l4 > 0xffff)
		return MSM_PARSE_MALFORMED;
	return msm_parse_l4(data, data_end, nexthdr, l4, plen - ext, p);
}

/* Parse Ethernet (+ up to two 802.1Q/802.1ad tags), IPv4/IPv6, UDP/TCP.
 * pkt_len is the whole frame's length (skb->len; for XDP data_end - data),
 * which may exceed the linear part that data..data_end covers. */
static __always_inline int msm_parse(void *data, void *data_end, __u32 pkt_len, struct msm_pkt *p)
{
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > data_end)
		return MSM_PARSE_MALFORMED;
	__u16 proto = eth->h_proto;
	__u32 off = sizeof(*eth);

#pragma unroll
	for (int i = 0; i < MSM_MAX_VLAN; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr_msm *vh = data + off;
		if ((void *)(vh + 1) > data_end)
			return MSM_PARSE_MALFORMED;
		proto = vh->proto;
		off += sizeof(*vh);
	}

	if (proto == bpf_htons(ETH_P_IP))
		return msm_parse_ipv4(data, data_end, off, pkt_len, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return msm_parse_ipv6(data, data_end, off, pkt_len, p);
	return MSM_PARSE_NOT_IP;
}

#endif /* MSM_PARSE_H */
