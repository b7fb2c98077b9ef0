/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_game.h — game services: UDP routed per client session in TC.
 *
 *   client -> service addr:port   (msm_game_services hit)
 *     session key: token | KCP conversation id | client addr:port (for RakNet
 *     pinned to the backend of the client GUID of Open Connection Request 2)
 *     session (msm_game_sessions, LRU) pinned to its backend until idle or
 *     until the backend is gone (neither LIVE nor DRAINING); a new session
 *     takes the Maglev slot of its key's hash (the agent's table holds only
 *     LIVE backends, weights as slot counts)
 *     rewrite: src = session's first client addr:port, dst = backend
 *   backend -> first client addr:port   (msm_game_rev hit)
 *     rewrite: src = service addr:port, dst = client's current addr:port
 *
 * Rebinding (a KCP session seen from a new address): replies move there only
 * if the service's policy allows the new address next to the session's first
 * one (same IP by default; msm_game_rebind) and, with rebind_confirm N, after
 * N packets in a row from it; a packet against the policy is dropped and
 * counted (rebind_refused). Without it, whoever knows a conversation id could
 * take that session's replies.
 *
 * The rewritten packet leaves by the interface the FIB gives for its new
 * destination (msm_game_out), without the stack's input path. Why TC and not XDP: the rewrite
 * needs the skb checksum helpers (CHECKSUM_PARTIAL from veths and local
 * senders; XDP sees no checksum state) and bpf_skb_change_tail for token
 * stripping; XDP stays the protection layer in front (deny-list, new-flow
 * buckets: game 5-tuples enter msm_flows like any flow, so a source churning
 * ports is limited before it reaches the session table).
 */
#ifndef MSM_GAME_H
#define MSM_GAME_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "msm_shared.h"
#include "msm_maps.h"
#include "msm_parse.h"
#include "msm_csum.h"

#define MSM_GAME_NOT_MINE (-1)

static __always_inline __u32 msm_game_mix(__u32 h, __u32 v)
{
	v *= 0xcc9e2d51;
	v = (v << 15) | (v >> 17);
	v *= 0x1b873593;
	h ^= v;
	h = (h << 13) | (h >> 19);
	return h * 5 + 0xe6546b64;
}

/* murmur3-style hash of a session key (the same on every node: a client that
 * moves between nodes of one service lands on the same backend) */
static __always_inline __u32 msm_game_hash(const struct msm_game_session_key *k)
{
	__u32 h = 0x6d736d67;
	h = msm_game_mix(h, k->svc_id);
	h = msm_game_mix(h, k->kind);
	h = msm_game_mix(h, k->id[0]);
	h = msm_game_mix(h, k->id[1]);
	h = msm_game_mix(h, k->id[2]);
	h ^= 16;
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* rewrite addresses and ports (all as they lie in the packet) with one
 * checksum difference per checksum */
static __always_inline int msm_game_nat(struct __sk_buff *skb, __u32 l3_off, __u32 l4_off,
					__u32 osaddr, __u32 odaddr, __u32 oports, __u32 saddr,
					__u32 daddr, __u32 ports)
{
	long rc;
	__u32 d = msm_csum_add(msm_csum_diff32(osaddr, saddr), msm_csum_diff32(odaddr, daddr));
	rc = bpf_l3_csum_replace(skb, l3_off + offsetof(struct iphdr, check), 0, d, 0);
	if (rc)
		return rc;
	rc = bpf_l4_csum_replace(skb, l4_off + offsetof(struct udphdr, check), 0, d,
				 BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0);
	if (rc)
		return rc;
	if (oports != ports) {
		d = msm_csum_diff32(oports, ports);
		rc = bpf_l4_csum_replace(skb, l4_off + offsetof(struct udphdr, check), 0, d,
					 BPF_F_MARK_MANGLED_0);
		if (rc)
			return rc;
	}
	__u32 addrs[2] = { saddr, daddr };
	rc = bpf_skb_store_bytes(skb, l3_off + offsetof(struct iphdr, saddr), addrs, 8, 0);
	if (rc)
		return rc;
	return bpf_skb_store_bytes(skb, l4_off, &ports, 4, 0);
}

static __always_inline __u32 msm_game_ports(__u16 sport, __u16 dport)
{
	/* as the 4 bytes lie in the UDP header, loaded little endian */
	return (__u32)bpf_htons(sport) | ((__u32)bpf_htons(dport) << 16);
}

/* Strip the last n bytes of the UDP payload (the routing token, already
 * read into tok) and fix lengths and checksums. */
static __always_inline int msm_game_strip(struct __sk_buff *skb, __u32 l3_off, __u32 l4_off,
					  __u32 udp_len, __u32 n, const __u8 *tok)
{
	long rc;
	__u32 pos = udp_len - n; /* token offset from the UDP header */
	/* the removed bytes, placed at their 16-bit lane parity */
	__u8 buf[MSM_GAME_TOKEN_MAX + 4] = {};
	__u32 odd = pos & 1;
#pragma unroll
	for (int i = 0; i < MSM_GAME_TOKEN_MAX; i++) {
		if (i < n) {
			if (odd)
				buf[i + 1] = tok[i];
			else
				buf[i] = tok[i];
		}
	}
	__s64 sum = bpf_csum_diff((__be32 *)buf, sizeof(buf), NULL, 0, 0);
	if (sum < 0)
		return -1;
	/* payload bytes: not in a CHECKSUM_PARTIAL skb's check field yet */
	rc = bpf_l4_csum_replace(skb, l4_off + offsetof(struct udphdr, check), 0, (__u32)sum,
				 BPF_F_MARK_MANGLED_0);
	if (rc)
		return rc;
	/* the UDP length: in the header and in the pseudo-header */
	__u32 olen = bpf_htons((__u16)udp_len), nlen = bpf_htons((__u16)(udp_len - n));
	__u32 d = msm_csum_diff32(olen, nlen);
	rc = bpf_l4_csum_replace(skb, l4_off + offsetof(struct udphdr, check), 0, d,
				 BPF_F_MARK_MANGLED_0);
	if (rc)
		return rc;
	rc = bpf_l4_csum_replace(skb, l4_off + offsetof(struct udphdr, check), 0, d,
				 BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0);
	if (rc)
		return rc;
	__u16 nlen16 = (__u16)nlen;
	rc = bpf_skb_store_bytes(skb, l4_off + offsetof(struct udphdr, len), &nlen16, 2, 0);
	if (rc)
		return rc;
	/* IPv4 total length */
	__u16 otot = 0;
	rc = bpf_skb_load_bytes(skb, l3_off + offsetof(struct iphdr, tot_len), &otot, 2);
	if (rc)
		return rc;
	__u16 ntot = bpf_htons(bpf_ntohs(otot) - (__u16)n);
	rc = bpf_l3_csum_replace(skb, l3_off + offsetof(struct iphdr, check), 0,
				 msm_csum_diff32(otot, ntot), 0);
	if (rc)
		return rc;
	rc = bpf_skb_store_bytes(skb, l3_off + offsetof(struct iphdr, tot_len), &ntot, 2, 0);
	if (rc)
		return rc;
	return bpf_skb_change_tail(skb, l4_off + udp_len - n, 0);
}

/* After the rewrite: route by the new destination and send it out of the
 * interface the FIB picks (TTL decremented; MACs from the neighbour table).
 * Not through the stack's input path: a reply's new source is the node's own
 * (service) address, which the stack would reject as martian. No route or
 * TTL expiring: the stack decides (TC_ACT_OK). */
static __always_inline int msm_game_out(struct __sk_buff *skb, __u32 l3_off, __u32 saddr,
					__u32 daddr)
{
	struct bpf_fib_lookup fl = {};
	fl.family = 2; /* AF_INET */
	fl.ipv4_src = saddr;
	fl.ipv4_dst = daddr;
	fl.ifindex = skb->ingress_ifindex;
	__u8 ttl = 0;
	if (bpf_skb_load_bytes(skb, l3_off + offsetof(struct iphdr, ttl), &ttl, 1) || ttl <= 1)
		return TC_ACT_OK;
	long rc = bpf_fib_lookup(skb, &fl, sizeof(fl), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return TC_ACT_OK;
	/* TTL and protocol share a 16-bit word of the checksum */
	__u16 old = 0;
	if (bpf_skb_load_bytes(skb, l3_off + offsetof(struct iphdr, ttl), &old, 2))
		return TC_ACT_OK;
	__u16 nw = old;
	((__u8 *)&nw)[0] = ttl - 1;
	if (bpf_l3_csum_replace(skb, l3_off + offsetof(struct iphdr, check), old, nw, 2) ||
	    bpf_skb_store_bytes(skb, l3_off + offsetof(struct iphdr, ttl), &nw, 2, 0))
		return TC_ACT_SHOT;
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return bpf_redirect_neigh(fl.ifindex, NULL, 0, 0);
	if (bpf_skb_store_bytes(skb, 0, fl.dmac, 6, 0) ||
	    bpf_skb_store_bytes(skb, 6, fl.smac, 6, 0))
		return TC_ACT_SHOT;
	return bpf_redirect(fl.ifindex, 0);
}

static __always_inline struct msm_game_svc_stats *msm_game_svc_stats_of(__u32 svc_id)
{
	return bpf_map_lookup_elem(&msm_game_svc_stats, &svc_id);
}

/* May a session first seen from orig (network order) move its replies to
 * addr? See enum msm_game_rebind and the bpf README ("game services"). */
static __always_inline int msm_game_rebind_ok(__u8 policy, __u32 orig, __u32 addr)
{
	switch (policy) {
	case MSM_GAME_REBIND_PORT:
		return orig == addr;
	case MSM_GAME_REBIND_PREFIX:
		return ((orig ^ addr) & bpf_htonl(0xffffff00)) == 0;
	case MSM_GAME_REBIND_ANY:
		return 1;
	default:
		return 0;
	}
}

/* Remove the reply entry of a session that ends here (re-chosen or idle),
 * only if it is this session's: two sessions from one client address:port
 * to one backend share the entry (the later one wrote it), and the agent's
 * sweep gives it back to the one that remains. */
static __always_inline void msm_game_rev_forget(const struct msm_game_backend *be,
						const struct msm_game_session *s,
						const struct msm_game_session_key *sk)
{
	struct msm_game_rev_key rk = {};
	rk.backend_addr = be->addr;
	rk.backend_port = be->port;
	rk.client_addr = s->orig_addr;
	rk.client_port = s->orig_port;
	struct msm_game_rev *rev = bpf_map_lookup_elem(&msm_game_rev, &rk);
	if (rev && rev->session.svc_id == sk->svc_id && rev->session.kind == sk->kind &&
	    rev->session.id[0] == sk->id[0] && rev->session.id[1] == sk->id[1] &&
	    rev->session.id[2] == sk->id[2] && rev->session.id[3] == sk->id[3])
		bpf_map_delete_elem(&msm_game_rev, &rk);
}

/* backend -> client: the reply of a session */
__noinline int msm_game_reply(struct __sk_buff *skb, struct msm_pkt *p, struct msm_counters *ctr)
{
	if (!p || !ctr)
		return MSM_GAME_NOT_MINE;
	struct msm_game_rev_key rk = {};
	rk.backend_addr = p->key.saddr[0];
	rk.backend_port = p->key.sport;
	rk.client_addr = p->key.daddr[0];
	rk.client_port = p->key.dport;
	struct msm_game_rev *rev = bpf_map_lookup_elem(&msm_game_rev, &rk);
	if (!rev)
		return MSM_GAME_NOT_MINE;
	struct msm_game_session_key sk = rev->session;
	struct msm_game_session *s = bpf_map_lookup_elem(&msm_game_sessions, &sk);
	__u32 be = s ? s->backend : MSM_GAME_NO_BACKEND;
	struct msm_game_backend *b = s ? bpf_map_lookup_elem(&msm_game_backends, &be) : NULL;
	/* a stale entry (its session evicted, idle or re-chosen): removed here,
	 * the agent's sweep removes the rest */
	if (!s || !b || s->orig_addr != rk.client_addr || s->orig_port != rk.client_port ||
	    b->addr != rk.backend_addr || b->port != rk.backend_port) {
		bpf_map_delete_elem(&msm_game_rev, &rk);
		return MSM_GAME_NOT_MINE;
	}
	__u32 svc_addr = rev->svc_addr;
	__u16 svc_port = rev->svc_port;
	__sync_fetch_and_add(&s->packets_out, 1);

	int rc = msm_game_nat(skb, p->l3_off, p->l4_off, p->key.saddr[0], p->key.daddr[0],
			      msm_game_ports(p->key.sport, p->key.dport), svc_addr, s->cur_addr,
			      msm_game_ports(svc_port, s->cur_port));
	struct msm_game_be_stats *bs = bpf_map_lookup_elem(&msm_game_be_stats, &be);
	if (rc) {
		ctr->stat[MSM_STAT_GAME_DROPS]++;
		return TC_ACT_SHOT;
	}
	if (bs) {
		bs->from_packets++;
		bs->from_bytes += skb->len;
	}
	ctr->stat[MSM_STAT_GAME_PACKETS]++;
	return msm_game_out(skb, p->l3_off, svc_addr, s->cur_addr);
}

/* RakNet's offline-message magic, as four little-endian loads */
#define MSM_RAKNET_MAGIC0	  0x00ffff00
#define MSM_RAKNET_MAGIC1	  0xfefefefe
#define MSM_RAKNET_MAGIC2	  0xfdfdfdfd
#define MSM_RAKNET_MAGIC3	  0x78563412
#define MSM_RAKNET_OPEN_CONN_REQ2 0x07

/* An Open Connection Request 2 (id, magic, server address: 7 bytes for IPv4,
 * 29 for IPv6, MTU, client GUID): the backend of the client's GUID session
 * (found or chosen now; the client's address session then follows it), or -1
 * when the packet is not one or no backend is live. A client that reconnects
 * from another address:port (its NAT changed) finds its GUID's backend again
 * while the GUID session lasts (idle time, LRU). */
__noinline int msm_game_raknet(struct __sk_buff *skb, struct msm_pkt *p, struct msm_game_svc *svc)
{
	if (!p || !svc)
		return -1;
	__u32 len = p->payload_len;
	if (len != 1 + 16 + 7 + 2 + 8 && len != 1 + 16 + 29 + 2 + 8)
		return -1;
	__u8 id = 0;
	__u32 magic[4] = {};
	__u32 guid[2] = {};
	if (bpf_skb_load_bytes(skb, p->payload_off, &id, 1) || id != MSM_RAKNET_OPEN_CONN_REQ2 ||
	    bpf_skb_load_bytes(skb, p->payload_off + 1, magic, 16) ||
	    magic[0] != MSM_RAKNET_MAGIC0 || magic[1] != MSM_RAKNET_MAGIC1 ||
	    magic[2] != MSM_RAKNET_MAGIC2 || magic[3] != MSM_RAKNET_MAGIC3 ||
	    bpf_skb_load_bytes(skb, p->payload_off + len - 8, guid, 8))
		return -1;
	__u32 svc_id = svc->svc_id;
	if (svc_id >= MSM_GAME_MAX_SERVICES)
		return -1;
	struct msm_game_session_key gk = {};
	gk.svc_id = svc_id;
	gk.kind = MSM_GAME_KEY_RAKNET;
	gk.id[0] = guid[0];
	gk.id[1] = guid[1];
	__u64 now = bpf_ktime_get_ns();
	__u32 caddr = p->key.saddr[0];
	__u16 cport = p->key.sport;
	struct msm_game_session *gs = bpf_map_lookup_elem(&msm_game_sessions, &gk);
	if (gs) {
		__u32 b = gs->backend;
		struct msm_game_backend *be = bpf_map_lookup_elem(&msm_game_backends, &b);
		int idle = svc->idle_ns && now - gs->last_ns > svc->idle_ns;
		if (be && (be->flags & (MSM_GAME_BE_F_LIVE | MSM_GAME_BE_F_DRAINING)) && !idle) {
			gs->last_ns = now;
			if (gs->cur_addr != caddr || gs->cur_port != cport) {
				gs->cur_addr = caddr;
				gs->cur_port = cport;
				gs->rebinds++;
			}
			__sync_fetch_and_add(&gs->packets_in, 1);
			return (int)(b & 0xffff);
		}
		bpf_map_delete_elem(&msm_game_sessions, &gk);
	}
	__u32 slot = svc_id * MSM_GAME_MAGLEV_SIZE + msm_game_hash(&gk) % MSM_GAME_MAGLEV_SIZE;
	__u32 *bp = bpf_map_lookup_elem(&msm_game_maglev, &slot);
	if (!bp)
		return -1;
	__u32 b = *bp;
	struct msm_game_backend *be = bpf_map_lookup_elem(&msm_game_backends, &b);
	if (!be || !(be->flags & MSM_GAME_BE_F_LIVE) || be->svc_id != svc_id)
		return -1;
	struct msm_game_session ns = {};
	ns.backend = b;
	ns.orig_addr = caddr;
	ns.orig_port = cport;
	ns.cur_addr = caddr;
	ns.cur_port = cport;
	ns.first_ns = now;
	ns.last_ns = now;
	ns.packets_in = 1;
	bpf_map_update_elem(&msm_game_sessions, &gk, &ns, BPF_ANY);
	return (int)(b & 0xffff);
}

/* client -> service; raknet_be: the backend of a RakNet client GUID
 * (msm_game_raknet, called before: a third nested call would pass the
 * 512-byte stack limit), or -1 */
__noinline int msm_game_forward(struct __sk_buff *skb, struct msm_pkt *p, struct msm_counters *ctr,
				struct msm_game_svc *svc, int raknet_be)
{
	if (!p || !ctr || !svc)
		return MSM_GAME_NOT_MINE;
	__u32 svc_id = svc->svc_id;
	if (svc_id >= MSM_GAME_MAX_SERVICES)
		return MSM_GAME_NOT_MINE;
	struct msm_game_svc_stats *st = msm_game_svc_stats_of(svc_id);
	if (!st)
		return MSM_GAME_NOT_MINE;
	st->packets++;
	st->bytes += skb->len;

	__u32 l3_off = p->l3_off, l4_off = p->l4_off;
	__u32 udp_len = p->payload_len + 8;
	__u32 caddr = p->key.saddr[0];
	__u16 cport = p->key.sport;
	__u64 now = bpf_ktime_get_ns();

	struct msm_game_session_key sk = {};
	sk.svc_id = svc_id;
	/* the backend a token or a RakNet GUID names */
	__u32 token_be = MSM_GAME_NO_BACKEND;
	int strip = 0;
	/* a new session may take a draining backend (a RakNet GUID's) */
	__u32 takes = MSM_GAME_BE_F_LIVE;
	__u8 tok[MSM_GAME_TOKEN_MAX] = {};
	__u32 n = svc->token_len;

	if (svc->flags & MSM_GAME_F_TOKEN) {
		struct msm_game_token_key tk = {};
		tk.svc_id = svc_id;
		/* n is 1..16 after the first test; 6.1's verifier loses the lower bound,
		 * so the length is rebuilt as ((n - 1) & 15) + 1, hidden from clang
		 * (which would fold it back to n) */
		__u32 len = n - 1;
		asm volatile("" : "+r"(len));
		len = (len & (MSM_GAME_TOKEN_MAX - 1)) + 1;
		if (n < 1 || n > MSM_GAME_TOKEN_MAX || p->payload_len < n ||
		    bpf_skb_load_bytes(skb, l4_off + udp_len - n, tok, len)) {
			st->token_unknown++;
			ctr->stat[MSM_STAT_GAME_DROPS]++;
			return TC_ACT_SHOT;
		}
		__builtin_memcpy(tk.token, tok, MSM_GAME_TOKEN_MAX);
		__u32 *b = bpf_map_lookup_elem(&msm_game_tokens, &tk);
		if (!b) {
			st->token_unknown++;
			ctr->stat[MSM_STAT_GAME_DROPS]++;
			return TC_ACT_SHOT;
		}
		token_be = *b;
		strip = 1;
		sk.kind = MSM_GAME_KEY_TOKEN;
		sk.id[0] = token_be;
		sk.id[1] = caddr;
		sk.id[2] = cport;
	} else if (svc->flags & MSM_GAME_F_KCP) {
		__u32 conv = 0;
		__u32 off = svc->key_off;
		if (off + 4 <= p->payload_len &&
		    !bpf_skb_load_bytes(skb, p->payload_off + off, &conv, 4)) {
			sk.kind = MSM_GAME_KEY_KCP;
			sk.id[0] = conv; /* as it lies: little endian on the wire */
		}
	} else if (raknet_be >= 0) {
		token_be = (__u32)raknet_be;
		takes |= MSM_GAME_BE_F_DRAINING;
	}
	if (!sk.kind) {
		sk.kind = MSM_GAME_KEY_ADDR;
		sk.id[0] = caddr;
		sk.id[1] = cport;
	}

	struct msm_game_session *s = bpf_map_lookup_elem(&msm_game_sessions, &sk);
	struct msm_game_backend *be = NULL;
	if (s) {
		__u32 b = s->backend;
		be = bpf_map_lookup_elem(&msm_game_backends, &b);
		int gone = !be || !(be->flags & (MSM_GAME_BE_F_LIVE | MSM_GAME_BE_F_DRAINING));
		int idle = svc->idle_ns && now - s->last_ns > svc->idle_ns;
		if (token_be != MSM_GAME_NO_BACKEND && token_be != b)
			gone = 1;
		if (gone || idle) {
			if (be)
				msm_game_rev_forget(be, s, &sk);
			bpf_map_delete_elem(&msm_game_sessions, &sk);
			s = NULL;
			be = NULL;
		}
	}
	if (!s) {
		__u32 b = token_be;
		if (b == MSM_GAME_NO_BACKEND) {
			__u32 slot = svc_id * MSM_GAME_MAGLEV_SIZE +
				     msm_game_hash(&sk) % MSM_GAME_MAGLEV_SIZE;
			__u32 *bp = bpf_map_lookup_elem(&msm_game_maglev, &slot);
			if (bp)
				b = *bp;
		}
		be = bpf_map_lookup_elem(&msm_game_backends, &b);
		if (!be || !(be->flags & takes) || be->svc_id != svc_id) {
			st->no_backend++;
			ctr->stat[MSM_STAT_GAME_DROPS]++;
			return TC_ACT_SHOT;
		}
		struct msm_game_session ns = {};
		ns.backend = b;
		ns.orig_addr = caddr;
		ns.orig_port = cport;
		ns.cur_addr = caddr;
		ns.cur_port = cport;
		ns.first_ns = now;
		ns.last_ns = now;
		bpf_map_update_elem(&msm_game_sessions, &sk, &ns, BPF_ANY);
		s = bpf_map_lookup_elem(&msm_game_sessions, &sk);
		if (!s) {
			st->errors++;
			ctr->stat[MSM_STAT_GAME_DROPS]++;
			return TC_ACT_SHOT;
		}
		st->sessions++;
		struct msm_game_be_stats *bs = bpf_map_lookup_elem(&msm_game_be_stats, &b);
		if (bs)
			bs->sessions++;
		struct msm_game_rev_key rk = {};
		rk.backend_addr = be->addr;
		rk.backend_port = be->port;
		rk.client_addr = caddr;
		rk.client_port = cport;
		struct msm_game_rev rv = {};
		rv.session = sk;
		rv.svc_addr = p->key.daddr[0];
		rv.svc_port = p->key.dport;
		bpf_map_update_elem(&msm_game_rev, &rk, &rv, BPF_ANY);
	} else if (s->cur_addr != caddr || s->cur_port != cport) {
		/* NAT rebinding: replies follow the client's new address, if the
		 * service's policy allows it and it is confirmed */
		if (!msm_game_rebind_ok(svc->rebind, s->orig_addr, caddr)) {
			st->rebind_refused++;
			ctr->stat[MSM_STAT_GAME_DROPS]++;
			return TC_ACT_SHOT;
		}
		__u16 need = svc->rebind_confirm;
		if (s->cand_addr == caddr && s->cand_port == cport) {
			s->cand_packets++;
		} else {
			s->cand_addr = caddr;
			s->cand_port = cport;
			s->cand_packets = 1;
		}
		if (s->cand_packets >= need) {
			s->cur_addr = caddr;
			s->cur_port = cport;
			s->cand_addr = 0;
			s->cand_port = 0;
			s->cand_packets = 0;
			s->rebinds++;
			st->rebinds++;
		}
	} else if (s->cand_packets) {
		/* the current address is alive: a candidate starts again */
		s->cand_packets = 0;
	}
	s->last_ns = now;
	__sync_fetch_and_add(&s->packets_in, 1);
	__u32 b = s->backend;
	__u32 oaddr = s->orig_addr;
	__u16 oport = s->orig_port;
	__u32 baddr = be->addr;
	__u16 bport = be->port;

	if (strip) {
		if (msm_game_strip(skb, l3_off, l4_off, udp_len, n, tok)) {
			st->errors++;
			ctr->stat[MSM_STAT_GAME_DROPS]++;
			return TC_ACT_SHOT;
		}
	}
	int rc = msm_game_nat(skb, l3_off, l4_off, caddr, p->key.daddr[0],
			      msm_game_ports(cport, p->key.dport), oaddr, baddr,
			      msm_game_ports(oport, bport));
	if (rc) {
		st->errors++;
		ctr->stat[MSM_STAT_GAME_DROPS]++;
		return TC_ACT_SHOT;
	}
	struct msm_game_be_stats *bs = bpf_map_lookup_elem(&msm_game_be_stats, &b);
	if (bs) {
		bs->to_packets++;
		bs->to_bytes += skb->len;
	}
	ctr->stat[MSM_STAT_GAME_PACKETS]++;
	return msm_game_out(skb, l3_off, oaddr, baddr);
}

/* TC's entry: MSM_GAME_NOT_MINE, or the packet's verdict */
static __always_inline int msm_game_packet(struct __sk_buff *skb, struct msm_pkt *p,
					   struct msm_counters *ctr)
{
	if (p->key.proto != IPPROTO_UDP || p->key.family != MSM_FAMILY_IPV4)
		return MSM_GAME_NOT_MINE;
	struct msm_game_svc_key k = {};
	k.addr = p->key.daddr[0];
	k.port = p->key.dport;
	k.proto = IPPROTO_UDP;
	struct msm_game_svc *svc = bpf_map_lookup_elem(&msm_game_services, &k);
	if (svc) {
		int g = -1;
		if (svc->flags & MSM_GAME_F_RAKNET)
			g = msm_game_raknet(skb, p, svc);
		return msm_game_forward(skb, p, ctr, svc, g);
	}
	return msm_game_reply(skb, p, ctr);
}

#endif /* MSM_GAME_H */
