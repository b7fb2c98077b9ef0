/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_fanout.h — in-kernel stream fan-out: one upstream packet, one rewritten
 * copy per subscriber.
 *
 * For subscriber i the packet's Ethernet addresses, IPv4 source/destination
 * and UDP ports are rewritten in place (checksums updated incrementally from
 * the previous copy's values), then bpf_clone_redirect() sends a clone out of
 * the subscriber's ifindex. The clone shares the packet data, so the next
 * rewrite un-clones the head first (the helpers do this: one head copy per
 * subscriber, the floor for this design). The last subscriber gets the
 * original itself with bpf_redirect() — one clone saved — unless the group
 * also delivers the original to the local stack (MSM_GROUP_F_LOCAL), in which
 * case every subscriber gets a clone and the original headers are restored.
 *
 * The loop runs in bpf_loop(), so its length is bounded by MSM_MAX_SUBS and
 * not by verifier complexity.
 */
#ifndef MSM_FANOUT_H
#define MSM_FANOUT_H

#include <linux/pkt_cls.h>
#include "msm_maps.h"
#include "msm_csum.h"
#include "msm_rewrite.h"

/* The loop's working state lives in a per-CPU map value (msm_fanout_scratch)
 * rather than on the stack: the verifier does not track map contents, so
 * every iteration of the callback looks the same to it and bpf_loop's
 * callback is verified in a few hundred instructions on kernels that
 * simulate callback iterations (6.7+), and on 6.1 alike. Only the two
 * pointers stay on the stack. */
struct msm_fanout_ctx {
	struct __sk_buff *skb;
	struct msm_fanout_group *grp;
	struct msm_fanout_scratch *st;
};

static __always_inline __u32 msm_ports_word(__u16 sport, __u16 dport)
{
	/* sport then dport in network order, read back as one word */
	return ((__u32)bpf_htons(dport) << 16) | bpf_htons(sport);
}

static __always_inline int msm_eth_differs(const __u8 *a, const __u8 *b)
{
	__u64 a0, b0;
	__u32 a1, b1;
	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&a1, a + 8, 4);
	__builtin_memcpy(&b1, b + 8, 4);
	return a0 != b0 || a1 != b1;
}

/* Rewrite the packet's headers from ctx->cur to `want`; returns 0 or <0. */
static __always_inline int msm_rewrite(struct __sk_buff *skb, struct msm_fanout_scratch *c,
				       const struct msm_hdr_state *want)
{
	long rc;

	if (msm_eth_differs(c->cur.eth, want->eth)) {
		/* the L2 header is inside skb->csum while at TC ingress */
		rc = bpf_skb_store_bytes(skb, 0, want->eth, 12, BPF_F_RECOMPUTE_CSUM);
		if (rc)
			return rc;
		__builtin_memcpy(c->cur.eth, want->eth, 12);
	}

	int addrs = c->cur.saddr != want->saddr || c->cur.daddr != want->daddr;
	int ports = c->cur.ports != want->ports;
	if (!addrs && !ports)
		return 0;

	if (addrs) {
		__u32 d = msm_csum_add(msm_csum_diff32(c->cur.saddr, want->saddr),
				       msm_csum_diff32(c->cur.daddr, want->daddr));
		rc = bpf_l3_csum_replace(skb, c->l3_off + offsetof(struct iphdr, check), 0, d, 0);
		if (rc)
			return rc;
		rc = bpf_l4_csum_replace(skb, c->l4_off + offsetof(struct udphdr, check), 0, d,
					 BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0);
		if (rc)
			return rc;
	}
	if (ports) {
		__u32 d = msm_csum_diff32(c->cur.ports, want->ports);
		rc = bpf_l4_csum_replace(skb, c->l4_off + offsetof(struct udphdr, check), 0, d,
					 BPF_F_MARK_MANGLED_0);
		if (rc)
			return rc;
	}

	/* addresses and ports: one store when they are adjacent (no IP options) */
	struct {
		__u32 saddr;
		__u32 daddr;
		__u32 ports;
	} w = { want->saddr, want->daddr, want->ports };
	if (c->contiguous) {
		rc = bpf_skb_store_bytes(skb, c->l3_off + offsetof(struct iphdr, saddr), &w, 12, 0);
	} else {
		rc = bpf_skb_store_bytes(skb, c->l3_off + offsetof(struct iphdr, saddr), &w, 8, 0);
		if (!rc)
			rc = bpf_skb_store_bytes(skb, c->l4_off, &w.ports, 4, 0);
	}
	if (rc)
		return rc;
	c->cur.saddr = want->saddr;
	c->cur.daddr = want->daddr;
	c->cur.ports = want->ports;
	return 0;
}

static __always_inline void msm_sub_count(__u32 sub_id, __u32 bytes, int ok)
{
	struct msm_sub_stats *ss = bpf_map_lookup_elem(&msm_sub_stats, &sub_id);
	if (!ss)
		return;
	if (ok) {
		ss->packets++;
		ss->bytes += bytes;
	} else {
		ss->errors++;
	}
}

/* Rewrite for subscriber i; a clone is sent for i < n_clone. */
static long msm_fanout_one(__u32 i, void *data)
{
	struct msm_fanout_ctx *ctx = data;
	struct msm_fanout_scratch *c = ctx->st;
	if (i >= MSM_MAX_SUBS)
		return 1;
	const struct msm_fanout_sub *s = &ctx->grp->subs[i];

	struct msm_hdr_state want;
	__builtin_memcpy(want.eth, s->dmac, 6);
	__builtin_memcpy(want.eth + 6, s->smac, 6);
	want.saddr = s->saddr;
	want.daddr = s->daddr;
	want.ports = msm_ports_word(s->sport, s->dport);

	int ok = msm_rewrite(ctx->skb, c, &want) == 0;
	if (i < c->n_clone) {
		if (ok) {
			__u64 fl = (s->flags & MSM_SUB_F_INGRESS) ? BPF_F_INGRESS : 0;
			ok = bpf_clone_redirect(ctx->skb, s->ifindex, fl) == 0;
		}
		if (ok)
			c->copies++;
		else
			c->errors++;
		msm_sub_count(s->sub_id, c->bytes, ok);
	} else {
		/* the last one: sent by the caller with bpf_redirect() */
		c->last_ok = ok;
		if (!ok) {
			c->errors++;
			msm_sub_count(s->sub_id, 0, 0);
		}
	}
	return 0;
}

static __always_inline void msm_hdr_from_packet(struct msm_hdr_state *h, void *data, void *data_end,
						__u32 l3_off, __u32 l4_off, int *ok)
{
	*ok = 0;
	if (l3_off > MSM_MAX_HDR_OFF || l4_off > MSM_MAX_HDR_OFF)
		return;
	__u8 *eth = data;
	struct iphdr *ip = data + l3_off;
	__u32 *ports = data + l4_off;
	if ((void *)(eth + 12) > data_end || (void *)(ip + 1) > data_end ||
	    (void *)(ports + 1) > data_end)
		return;
	__builtin_memcpy(h->eth, eth, 12);
	h->saddr = ip->saddr;
	h->daddr = ip->daddr;
	h->ports = *ports;
	*ok = 1;
}

/*
 * MSM_GROUP_F_IDENTITY: may the packet's sender feed grp? 0 if so, else the
 * MSM_STAT_IDENTITY_* of the reason (the sender has no identity, or one the
 * group does not list). Two hash lookups; the keys are built on this stack
 * (see msm_tc_flow on why not straight from p).
 */
static __always_inline __u32 msm_identity_refusal(const struct msm_fanout_group *grp,
						  const struct msm_pkt *p)
{
	struct msm_identity_key ik = {};
	ik.family = MSM_FAMILY_IPV4;
	ik.addr[0] = p->key.saddr[0];
	struct msm_source_identity *si = bpf_map_lookup_elem(&msm_identities, &ik);
	struct msm_allow_key ak = {};
	ak.group_id = grp->group_id;
	ak.identity = si ? si->identity : MSM_IDENTITY_WORLD;
	if (bpf_map_lookup_elem(&msm_group_allow, &ak))
		return 0;
	return ak.identity == MSM_IDENTITY_WORLD ? MSM_STAT_IDENT_UNKNOWN : MSM_STAT_IDENT_DENIED;
}

/*
 * Fan the packet out to grp's subscribers. Returns the TC verdict:
 * TC_ACT_REDIRECT (the original went to the last subscriber), TC_ACT_SHOT
 * (every copy sent, original consumed) or TC_ACT_OK (MSM_GROUP_F_LOCAL).
 */
__noinline int msm_fanout_packet(struct __sk_buff *skb, struct msm_fanout_group *grp,
				 struct msm_pkt *p, struct msm_counters *ctr)
{
	if (!grp || !p || !ctr)
		return TC_ACT_OK;
	__u32 gid = grp->group_id;
	struct msm_group_stats *gs = bpf_map_lookup_elem(&msm_group_stats, &gid);
	int local = grp->flags & MSM_GROUP_F_LOCAL;

	/* continuity (and hot standby: a second admitted source) */
	struct msm_rewrite *rw = NULL;
	int from_alt = 0;
	if (grp->flags & MSM_GROUP_F_REWRITE) {
		rw = bpf_map_lookup_elem(&msm_rewrites, &gid);
		if (rw)
			from_alt = msm_rw_from_alt(rw, p);
	}

	if ((grp->flags & MSM_GROUP_F_STRICT) && !from_alt) {
		if (p->key.saddr[0] != grp->src_addr ||
		    (grp->src_port && p->key.sport != grp->src_port)) {
			if (grp->flags & MSM_GROUP_F_PASS_OTHERS)
				return TC_ACT_OK;
			ctr->stat[MSM_STAT_STRICT_DROP]++;
			if (gs)
				gs->strict_drops++;
			return TC_ACT_SHOT;
		}
	}

	/* who sent it, after where it came from: a refused packet is not copied
	 * (dropped, or handed to the stack like STRICT's others) and counted */
	if (grp->flags & MSM_GROUP_F_IDENTITY) {
		__u32 why = 0;
		if (skb->mark == MSM_MARK_INJECTED)
			skb->mark = 0; /* the agent's own: authorised on its connection */
		else
			why = msm_identity_refusal(grp, p);
		if (why) {
			int unknown = why == MSM_STAT_IDENT_UNKNOWN;
			ctr->stat[unknown ? MSM_STAT_IDENT_UNKNOWN : MSM_STAT_IDENT_DENIED]++;
			if (gs) {
				if (unknown)
					gs->identity_unknown++;
				else
					gs->identity_denied++;
			}
			if (grp->flags & MSM_GROUP_F_PASS_OTHERS) {
				ctr->stat[MSM_STAT_IDENT_LOCAL]++;
				return TC_ACT_OK;
			}
			return TC_ACT_SHOT;
		}
	}

	/* once per upstream packet, before the copies (and the local delivery) */
	if (rw && msm_rewrite_packet(skb, rw, p, gid, from_alt) == MSM_RW_DROP) {
		ctr->stat[MSM_STAT_REWRITE_DROP]++;
		return TC_ACT_SHOT;
	}

	__u32 n = grp->n_subs;
	if (n > MSM_MAX_SUBS)
		n = MSM_MAX_SUBS;
	ctr->stat[MSM_STAT_FANOUT_PACKETS]++;
	if (gs) {
		gs->packets++;
		gs->bytes += skb->len;
	}
	if (n == 0) {
		ctr->stat[MSM_STAT_FANOUT_EMPTY]++;
		return local ? TC_ACT_OK : TC_ACT_SHOT;
	}

	__u32 zero = 0;
	struct msm_fanout_scratch *c = bpf_map_lookup_elem(&msm_fanout_scratch, &zero);
	if (!c)
		return TC_ACT_OK;
	c->l3_off = p->l3_off;
	c->l4_off = p->l4_off;
	c->contiguous = p->ip_hlen == sizeof(struct iphdr);
	c->n_clone = local ? n : n - 1;
	c->copies = 0;
	c->errors = 0;
	c->last_ok = 0;
	c->bytes = skb->len;

	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int ok;
	msm_hdr_from_packet(&c->cur, data, data_end, p->l3_off, p->l4_off, &ok);
	if (!ok) {
		ctr->stat[MSM_STAT_FANOUT_ERRORS]++;
		return TC_ACT_OK;
	}
	struct msm_hdr_state orig = c->cur;

	struct msm_fanout_ctx lc = { .skb = skb, .grp = grp, .st = c };
	bpf_loop(n, msm_fanout_one, &lc, 0);

	ctr->stat[MSM_STAT_FANOUT_COPIES] += c->copies;
	ctr->stat[MSM_STAT_FANOUT_ERRORS] += c->errors;
	if (gs) {
		gs->copies += c->copies;
		gs->errors += c->errors;
	}

	if (local) {
		/* give the stack the packet as it arrived */
		if (msm_rewrite(skb, c, &orig) == 0) {
			ctr->stat[MSM_STAT_FANOUT_LOCAL]++;
			return TC_ACT_OK;
		}
		ctr->stat[MSM_STAT_FANOUT_ERRORS]++;
		return TC_ACT_SHOT;
	}

	/* the last subscriber takes the original (already rewritten for it) */
	__u32 last = n - 1;
	if (last >= MSM_MAX_SUBS)
		return TC_ACT_SHOT;
	/* 6.1's verifier loses the 64-bit bound of the 32-bit compare above once
	 * last is spilled ("R9 unbounded memory access"): bound it again with a
	 * mask, kept from clang (which knows it changes nothing) by the barrier */
	barrier_var(last);
	last &= MSM_MAX_SUBS - 1;
	const struct msm_fanout_sub *s = &grp->subs[last];
	if (!c->last_ok)
		return TC_ACT_SHOT;
	ctr->stat[MSM_STAT_FANOUT_COPIES]++;
	if (gs)
		gs->copies++;
	msm_sub_count(s->sub_id, c->bytes, 1);
	return bpf_redirect(s->ifindex, (s->flags & MSM_SUB_F_INGRESS) ? BPF_F_INGRESS : 0);
}

#endif /* MSM_FANOUT_H */
