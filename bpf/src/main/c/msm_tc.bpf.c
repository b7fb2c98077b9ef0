// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * msm_tc.bpf.c — the TC ingress classifier (clsact, direct-action).
 *
 *   parse -> classify -> per-class counters -> flow table (+ RTP receiver
 *   statistics) -> fan-out group for the destination? copy to every
 *   subscriber : pass to the stack untouched.
 *
 * Packets the parser does not understand are counted and passed untouched.
 *
 * The stages are global (noinline, non-static) functions: the verifier checks
 * each once with unknown inputs instead of once per path through the parser,
 * which keeps the verified instruction count low and flat.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "msm_shared.h"
#include "msm_maps.h"
#include "msm_parse.h"
#include "msm_classify.h"
#include "msm_rtp.h"
#include "msm_fanout.h"
#include "msm_game.h"

/* enough linear bytes for Ethernet + 2 VLAN tags + IPv4 with options + UDP
 * + the longest payload signature we read (RakNet: 33 bytes) */
#define MSM_PULL_LEN 128

__noinline int msm_tc_parse(struct __sk_buff *skb, struct msm_pkt *p)
{
	if (!p)
		return MSM_PARSE_MALFORMED;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	/* headers in paged data (GRO, some drivers): make them linear */
	if (data + MSM_PULL_LEN > data_end && skb->len > data_end - data) {
		__u32 want = skb->len < MSM_PULL_LEN ? skb->len : MSM_PULL_LEN;
		bpf_skb_pull_data(skb, want);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	return msm_parse(data, data_end, skb->len, p);
}

__noinline int msm_tc_classify(struct __sk_buff *skb, struct msm_pkt *p, struct msm_config *cfg)
{
	if (!p || !cfg)
		return MSM_CLASS_OTHER;
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	return msm_classify(data, data_end, p, cfg);
}

/* cls_fanned: the class in bits 0..7, bit 8 set when a fan-out group matched
 * (BPF functions take five arguments at most) */
__noinline int msm_tc_flow(struct __sk_buff *skb, struct msm_pkt *p, struct msm_config *cfg,
			   struct msm_counters *ctr, __u32 cls_fanned)
{
	if (!p || !cfg || !ctr)
		return 0;
	__u32 cls = cls_fanned & (MSM_CLASS_MAX - 1);
	__u32 fanned = cls_fanned & 0x100;
	__u64 now = bpf_ktime_get_ns();
	/* a copy on this function's stack: before 6.2 (or so) the verifier takes map
	 * keys only from the stack, packet or a map value, and p, an argument of a
	 * global function, is plain memory to it ("R2 type=mem expected=fp, ...") */
	struct msm_flow_key key = p->key;
	struct msm_flow *f = bpf_map_lookup_elem(&msm_flows, &key);
	if (!f) {
		struct msm_flow nf = {};
		nf.class = cls;
		nf.first_ns = now;
		if (bpf_map_update_elem(&msm_flows, &key, &nf, BPF_NOEXIST) == 0)
			ctr->stat[MSM_STAT_FLOW_NEW]++;
		f = bpf_map_lookup_elem(&msm_flows, &key);
		if (!f) {
			ctr->stat[MSM_STAT_FLOW_FAIL]++;
			return 0;
		}
	}
	__sync_fetch_and_add(&f->packets, 1);
	__sync_fetch_and_add(&f->bytes, skb->len);
	f->last_ns = now;
	f->class_mask |= 1 << (cls & 7);
	/* media classes win: a 5-tuple that muxes STUN/DTLS and RTP is RTP */
	if (cls == MSM_CLASS_RTP || cls == MSM_CLASS_RTCP || f->class == MSM_CLASS_OTHER)
		f->class = cls;
	if (fanned)
		f->flags |= MSM_FLOW_F_FANOUT;

	if (cls == MSM_CLASS_RTP) {
		void *data = (void *)(long)skb->data;
		void *data_end = (void *)(long)skb->data_end;
		__u32 off = p->payload_off;
		if (off > MSM_MAX_HDR_OFF)
			return 0;
		msm_rtp_update(f, data + off, data_end, now, cfg);
	}
	return 0;
}

SEC("tc")
int msm_tc_ingress(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct msm_counters *ctr = bpf_map_lookup_elem(&msm_counters, &zero);
	struct msm_config *cfg = bpf_map_lookup_elem(&msm_config, &zero);
	if (!ctr || !cfg)
		return TC_ACT_OK;
	ctr->stat[MSM_STAT_TC_PACKETS]++;

	struct msm_pkt p = {};
	int rc = msm_tc_parse(skb, &p);
	/* an IPv6 extension chain the parser does not finish is passed as
	 * before (XDP, the protection layer, drops it) */
	if (rc == MSM_PARSE_NOT_IP || rc == MSM_PARSE_V6_EXT_LONG) {
		ctr->stat[MSM_STAT_NOT_IP]++;
		return TC_ACT_OK;
	}
	if (rc == MSM_PARSE_FRAGMENT) {
		ctr->stat[MSM_STAT_FRAGMENT]++;
		return TC_ACT_OK;
	}
	if (rc != MSM_PARSE_OK) {
		ctr->stat[MSM_STAT_MALFORMED]++;
		return TC_ACT_OK;
	}

	__u32 cls = msm_tc_classify(skb, &p, cfg) & (MSM_CLASS_MAX - 1);
	ctr->class_packets[cls]++;
	ctr->class_bytes[cls] += skb->len;

	struct msm_fanout_group *grp = NULL;
	if ((cfg->flags & MSM_CFG_F_FANOUT) && p.key.proto == IPPROTO_UDP &&
	    p.key.family == MSM_FAMILY_IPV4 && cls != MSM_CLASS_CONTROL) {
		struct msm_fanout_key fk = {};
		fk.family = MSM_FAMILY_IPV4;
		fk.proto = IPPROTO_UDP;
		fk.port = p.key.dport;
		fk.addr[0] = p.key.daddr[0];
		grp = bpf_map_lookup_elem(&msm_fanout_groups, &fk);
	}

	if (cfg->flags & MSM_CFG_F_FLOWS)
		msm_tc_flow(skb, &p, cfg, ctr, cls | (grp ? 0x100 : 0));

	if (grp)
		return msm_fanout_packet(skb, grp, &p, ctr);
	if (cfg->flags & MSM_CFG_F_GAME) {
		int g = msm_game_packet(skb, &p, ctr);
		if (g != MSM_GAME_NOT_MINE)
			return g;
	}
	return TC_ACT_OK;
}
