// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * msm_testkit.bpf.c — instruments for tests and benchmarks, never attached
 * by the agent:
 *   msm_capture: TC ingress; copies the first bytes of every packet into a
 *                queue map for the test to inspect byte for byte, then drops.
 *   msm_capture_pass: the same, then passes the packet on.
 *   msm_sink:    TC ingress; counts packets/bytes per CPU and drops — the
 *                cheapest receiver (cheaper than a socket or veth XDP).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#define MSM_CAPTURE_BYTES 2048 /* a power of two, see below */

struct msm_capture_rec {
	__u32 len;       /* skb->len */
	__u32 ifindex;   /* device the program ran on */
	__u32 caplen;    /* bytes valid in data[] */
	__u32 pad;
	__u8  data[MSM_CAPTURE_BYTES];
};

struct msm_sink_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8192);
	__type(value, struct msm_capture_rec);
} msm_capture_q SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_capture_rec);
} msm_capture_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_sink_stats);
} msm_sink_stats SEC(".maps");

static __always_inline void msm_capture_one(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct msm_capture_rec *r = bpf_map_lookup_elem(&msm_capture_scratch, &zero);
	if (!r)
		return;
	__u64 n = skb->len;
	r->len = skb->len;
	r->ifindex = skb->ifindex;
	r->caplen = 0;
	if (n == 0)
		return;
	if (n > MSM_CAPTURE_BYTES)
		n = MSM_CAPTURE_BYTES;
	/* 6.1's verifier learns nothing from "n != 0" and refuses a size that
	 * may be 0: ((n - 1) & (CAP - 1)) + 1 is n for 1..CAP and provably so
	 * (the barrier keeps clang from folding it away) */
	barrier_var(n);
	n = ((n - 1) & (MSM_CAPTURE_BYTES - 1)) + 1;
	if (bpf_skb_load_bytes(skb, 0, r->data, n) == 0)
		r->caplen = n;
	bpf_map_push_elem(&msm_capture_q, r, 0);
}

SEC("tc")
int msm_capture(struct __sk_buff *skb)
{
	msm_capture_one(skb);
	return TC_ACT_SHOT;
}

/* the same, but the packet goes on to the stack (a socket can still get it) */
SEC("tc")
int msm_capture_pass(struct __sk_buff *skb)
{
	msm_capture_one(skb);
	return TC_ACT_OK;
}

SEC("tc")
int msm_sink(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct msm_sink_stats *s = bpf_map_lookup_elem(&msm_sink_stats, &zero);
	if (s) {
		s->packets++;
		s->bytes += skb->len;
	}
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
