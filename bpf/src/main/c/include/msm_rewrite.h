/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_rewrite.h — one continuous RTP stream across source switches
 * (MSM_GROUP_F_REWRITE; the scheme is described at struct msm_rewrite in
 * msm_shared.h). Runs once per upstream packet, before the copies, so every
 * subscriber (and the local stack of an F_LOCAL group: taps, interleaved
 * viewers) gets the rewritten packet.
 */
#ifndef MSM_REWRITE_H
#define MSM_REWRITE_H

#include "msm_maps.h"
#include "msm_csum.h"

enum msm_rw_verdict {
	MSM_RW_PASS = 0,
	MSM_RW_DROP = 1,
};

/* the timestamp step at a switch is the silence at clock rate, at most this */
#define MSM_RW_MAX_GAP_NS (10ULL * 1000000000ULL)

static __always_inline int msm_rw_from_alt(const struct msm_rewrite *rw, const struct msm_pkt *p)
{
	return rw->alt_addr && p->key.saddr[0] == rw->alt_addr &&
	       (!rw->alt_port || p->key.sport == rw->alt_port);
}

/* Store `len` bytes at `off` and fold their checksum difference `d` into
 * the UDP checksum (a zero checksum stays zero). */
static __always_inline int msm_rw_store(struct __sk_buff *skb, const struct msm_pkt *p, __u32 off,
					const void *from, __u32 len, __u32 d)
{
	if (bpf_skb_store_bytes(skb, off, from, len, 0))
		return -1;
	return bpf_l4_csum_replace(skb, p->l4_off + offsetof(struct udphdr, check), 0, d,
				   BPF_F_MARK_MANGLED_0);
}

static __always_inline int msm_rewrite_rtp(struct __sk_buff *skb, struct msm_rewrite *rw,
					   const struct msm_pkt *p, int from_alt)
{
	__u64 now = bpf_ktime_get_ns();

	if (rw->alt_addr) {
		if (from_alt != rw->active_alt) {
			if (now - rw->active_ns < rw->silence_ns) {
				rw->dropped++;
				return MSM_RW_DROP;
			}
			rw->active_alt = from_alt; /* the active one fell silent */
			/* another sender: a new source, even with the same SSRC */
			rw->flags |= MSM_RW_F_RESYNC;
		}
		rw->active_ns = now;
	}

	__u32 off = p->payload_off;
	if (p->payload_len < 12 || off > MSM_MAX_HDR_OFF)
		return MSM_RW_PASS;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *h = data + off;
	if ((void *)(h + 12) > data_end)
		return MSM_RW_PASS;
	if ((h[0] & 0xc0) != 0x80)
		return MSM_RW_PASS; /* not RTP version 2 */
	struct {
		__u32 w0; /* V P X CC, M PT, seq */
		__u32 ts;
		__u32 ssrc;
	} in, out;
	__builtin_memcpy(&in, h, 12);

	__u16 in_seq = bpf_ntohs((__u16)(in.w0 >> 16));
	__u32 in_ts = bpf_ntohl(in.ts);
	__u32 flags = rw->flags;
	if (!(flags & MSM_RW_F_PRIMED)) {
		rw->flags = (flags | MSM_RW_F_PRIMED) & ~MSM_RW_F_RESYNC;
		rw->in_ssrc = in.ssrc;
		if (!rw->out_ssrc)
			rw->out_ssrc = in.ssrc;
		rw->seq_delta = 0;
		rw->ts_delta = 0;
	} else if (in.ssrc != rw->in_ssrc || (flags & MSM_RW_F_RESYNC)) {
		/* a new source (or one resumed with its old SSRC: RESYNC) continues the
		 * output where the last one left it */
		__u64 gap = now - rw->last_ns;
		if (gap > MSM_RW_MAX_GAP_NS)
			gap = MSM_RW_MAX_GAP_NS;
		__u64 rate = rw->clock_rate ? rw->clock_rate : 90000;
		__u32 step = (__u32)(gap * rate / 1000000000ULL);
		if (!step)
			step = 1;
		rw->seq_delta = (__u16)(rw->last_seq + 1 - in_seq);
		rw->ts_delta = rw->last_ts + step - in_ts;
		rw->in_ssrc = in.ssrc;
		rw->flags = flags & ~MSM_RW_F_RESYNC;
		rw->switches++;
	}
	__u16 out_seq = in_seq + rw->seq_delta;
	__u32 out_ts = in_ts + rw->ts_delta;
	rw->last_seq = out_seq;
	rw->last_ts = out_ts;
	rw->last_ns = now;
	if (!rw->seq_delta && !rw->ts_delta && in.ssrc == rw->out_ssrc)
		return MSM_RW_PASS; /* the first source as it is: nothing to write */

	out.w0 = (in.w0 & 0xffff) | ((__u32)bpf_htons(out_seq) << 16);
	out.ts = bpf_htonl(out_ts);
	out.ssrc = rw->out_ssrc;
	__u32 d = msm_csum_add(
		msm_csum_add(msm_csum_diff32(in.w0, out.w0), msm_csum_diff32(in.ts, out.ts)),
		msm_csum_diff32(in.ssrc, out.ssrc));
	if (msm_rw_store(skb, p, off, &out, 12, d) == 0)
		rw->rewritten++;
	return MSM_RW_PASS;
}

static __always_inline int msm_rewrite_rtcp(struct __sk_buff *skb, struct msm_rewrite *rw,
					    const struct msm_pkt *p)
{
	__u32 g = rw->rtp_group;
	struct msm_rewrite *src = bpf_map_lookup_elem(&msm_rewrites, &g);
	if (!src || !(src->flags & MSM_RW_F_PRIMED))
		return MSM_RW_PASS;
	__u32 off = p->payload_off;
	if (p->payload_len < 28 || off > MSM_MAX_HDR_OFF)
		return MSM_RW_PASS;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 *h = data + off;
	if ((void *)(h + 28) > data_end)
		return MSM_RW_PASS;
	if ((h[0] & 0xc0) != 0x80 || h[1] != 200)
		return MSM_RW_PASS; /* only sender reports carry an SSRC and RTP time to follow */
	struct {
		__u32 ssrc;
		__u32 ntp[2];
		__u32 ts;
	} in, out;
	__builtin_memcpy(&in, h + 4, 16);
	if (in.ssrc != src->in_ssrc) {
		rw->dropped++; /* an old or standby source's report */
		return MSM_RW_DROP;
	}
	if (!src->ts_delta && in.ssrc == src->out_ssrc)
		return MSM_RW_PASS;
	out = in;
	out.ssrc = src->out_ssrc;
	out.ts = bpf_htonl(bpf_ntohl(in.ts) + src->ts_delta);
	__u32 d = msm_csum_add(msm_csum_diff32(in.ssrc, out.ssrc), msm_csum_diff32(in.ts, out.ts));
	if (msm_rw_store(skb, p, off + 4, &out, 16, d) == 0)
		rw->rewritten++;
	return MSM_RW_PASS;
}

/* The group's rewrite: RTP (rtp_group is the group itself) or RTCP. */
static __always_inline int msm_rewrite_packet(struct __sk_buff *skb, struct msm_rewrite *rw,
					      const struct msm_pkt *p, __u32 gid, int from_alt)
{
	if (rw->rtp_group == gid)
		return msm_rewrite_rtp(skb, rw, p, from_alt);
	return msm_rewrite_rtcp(skb, rw, p);
}

#endif /* MSM_REWRITE_H */
