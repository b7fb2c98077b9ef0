// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * msm_testkit.bpf.c — instruments for tests and benchmarks, never attached
 * by the agent:
 *   msm_capture: TC ingress; copies the first bytes of every packet into a
 *                queue map for the test to inspect byte for byte, then drops.
 *   msm_capture_pass: the same, then passes the packet on.
 *   msm_sink:    TC ingress; counts packets/bytes per CPU and drops — the
 *                cheapest receiver (cheaper than a socket or veth XDP).
 *   msm_bench_sink: the fan-out benchmark's receiver (bench/): like msm_sink,
 *                but for the benchmark's own packets (see msm_bench.h) it also
 *                keeps per-receiver RTP sequence state (loss, reordering),
 *                the one-way latency from the send time in the payload, and
 *                the spread between the first and the last copy of a packet.
 *                Other packets (ARP, probes) go on to the stack.
 *   msm_clone_floor: the floor under any clone-per-copy fan-out, for the
 *                benchmark's cost breakdown: N bpf_clone_redirect()s of the
 *                packet to one ifindex, untouched (mode 0) or with the UDP
 *                destination port rewritten before each (mode 1: one head
 *                copy per clone, as any per-copy rewrite needs), then drop.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "msm_bench.h"

enum msm_capture {
	MSM_CAPTURE_BYTES = 2048, /* a power of two, see below */
};

struct msm_capture_rec {
	__u32 len;     /* skb->len */
	__u32 ifindex; /* device the program ran on */
	__u32 caplen;  /* bytes valid in data[] */
	__u32 pad;
	__u8 data[MSM_CAPTURE_BYTES];
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

/* ---- msm_bench_sink ------------------------------------------------------ */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_bench_cfg);
} msm_bench_cfg SEC(".maps");

/* per receiver, keyed by its IPv4 address (network order) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MSM_BENCH_MAX_RX);
	__type(key, __u32);
	__type(value, struct msm_bench_rx);
} msm_bench_rx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_bench_hist);
} msm_bench_hist SEC(".maps");

/* copies seen per upstream packet, slot = seq % MSM_BENCH_SLOTS; the send
 * time tells one packet from another with the same slot */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MSM_BENCH_SLOTS);
	__type(key, __u32);
	__type(value, struct msm_bench_slot);
} msm_bench_slots SEC(".maps");

/* index of the highest set bit (v > 0), without a loop: BPF has no clz */
static __always_inline __u32 msm_msb(__u64 v)
{
	__u32 r = 0;
	if (v >> 32) {
		v >>= 32;
		r += 32;
	}
	if (v >> 16) {
		v >>= 16;
		r += 16;
	}
	if (v >> 8) {
		v >>= 8;
		r += 8;
	}
	if (v >> 4) {
		v >>= 4;
		r += 4;
	}
	if (v >> 2) {
		v >>= 2;
		r += 2;
	}
	if (v >> 1) {
		r += 1;
	}
	return r;
}

/* log-linear bucket: exact below 16 ns, then 16 per power of two (6 %) */
static __always_inline __u32 msm_bucket(__u64 ns)
{
	if (ns < MSM_BENCH_SUB)
		return ns;
	__u32 msb = msm_msb(ns);
	__u32 sub = (ns >> (msb - MSM_BENCH_SUB_BITS)) & (MSM_BENCH_SUB - 1);
	__u32 idx = (msb - MSM_BENCH_SUB_BITS + 1) * MSM_BENCH_SUB + sub;
	return idx < MSM_BENCH_BUCKETS ? idx : MSM_BENCH_BUCKETS - 1;
}

SEC("tc")
int msm_bench_sink(struct __sk_buff *skb)
{
	struct {
		__u8 eth[14];
		__u8 ip[20];
		__u8 udp[8];
		__u8 rtp[12];
		struct msm_bench_stamp stamp;
	} __attribute__((packed)) h;
	__u32 zero = 0;

	if (bpf_skb_load_bytes(skb, 0, &h, sizeof(h)))
		return TC_ACT_OK;
	if (h.eth[12] != 0x08 || h.eth[13] != 0x00 || h.ip[0] != 0x45 || h.ip[9] != 17)
		return TC_ACT_OK;
	if (h.stamp.magic != MSM_BENCH_MAGIC || (h.rtp[0] & 0xc0) != 0x80)
		return TC_ACT_OK;

	__u64 now = bpf_ktime_get_ns();
	__u32 daddr;
	__builtin_memcpy(&daddr, &h.ip[16], 4);
	__u16 seq = ((__u16)h.rtp[2] << 8) | h.rtp[3];

	struct msm_bench_rx *r = bpf_map_lookup_elem(&msm_bench_rx, &daddr);
	if (!r) {
		struct msm_bench_rx fresh = {};
		bpf_map_update_elem(&msm_bench_rx, &daddr, &fresh, BPF_NOEXIST);
		r = bpf_map_lookup_elem(&msm_bench_rx, &daddr);
		if (!r)
			return TC_ACT_SHOT;
	}
	int dup = 0;
	r->packets++;
	r->bytes += skb->len;
	if (!r->started || h.stamp.sent_ns > r->last_sent_ns + MSM_BENCH_RESYNC_NS) {
		r->started = 1;
		r->max_seq = seq;
	} else {
		__u16 delta = seq - (__u16)r->max_seq;
		if (delta == 0) {
			r->duplicates++;
			dup = 1;
		} else if (delta < 0x8000)
			r->max_seq = seq; /* in order, or after a gap (loss) */
		else
			r->late++; /* behind the highest seen: reordered */
	}
	if (h.stamp.sent_ns > r->last_sent_ns)
		r->last_sent_ns = h.stamp.sent_ns;

	struct msm_bench_hist *hist = bpf_map_lookup_elem(&msm_bench_hist, &zero);
	if (!hist)
		return TC_ACT_SHOT;
	__u64 lat = now > h.stamp.sent_ns ? now - h.stamp.sent_ns : 0;
	hist->latency[msm_bucket(lat) & (MSM_BENCH_BUCKETS - 1)]++;

	struct msm_bench_cfg *cfg = bpf_map_lookup_elem(&msm_bench_cfg, &zero);
	__u32 slot_i = seq & (MSM_BENCH_SLOTS - 1);
	struct msm_bench_slot *slot = bpf_map_lookup_elem(&msm_bench_slots, &slot_i);
	/* a duplicate is not another receiver's copy */
	if (!cfg || !slot || cfg->copies == 0 || dup)
		return TC_ACT_SHOT;
	if (slot->sent_ns != h.stamp.sent_ns) {
		slot->sent_ns = h.stamp.sent_ns;
		slot->first_ns = now;
		slot->count = 1;
	} else {
		slot->count++;
	}
	if (slot->count == cfg->copies)
		hist->spread[msm_bucket(now - slot->first_ns) & (MSM_BENCH_BUCKETS - 1)]++;
	return TC_ACT_SHOT;
}

/* ---- msm_clone_floor ---------------------------------------------------- */

struct msm_clone_floor_cfg {
	__u32 copies;
	__u32 ifindex;
	__u32 mode;   /* 0: clone only; 1: rewrite the UDP dport, then clone */
	__u32 l4_off; /* UDP header offset (no parsing here: the benchmark knows its packet) */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_clone_floor_cfg);
} msm_clone_floor_cfg SEC(".maps");

struct msm_clone_floor_ctx {
	struct __sk_buff *skb;
	struct msm_clone_floor_cfg *cfg;
};

static long msm_clone_floor_one(__u32 i, void *data)
{
	struct msm_clone_floor_ctx *c = data;
	if (c->cfg->mode == 1) {
		__u16 old = bpf_htons(6000 + ((i - 1) & 0x3ff));
		__u16 port = bpf_htons(6000 + (i & 0x3ff));
		__u32 off = c->cfg->l4_off & 0xff;
		bpf_l4_csum_replace(c->skb, off + 6, old, port,
				    sizeof(port) | BPF_F_MARK_MANGLED_0);
		bpf_skb_store_bytes(c->skb, off + 2, &port, sizeof(port), 0);
	}
	bpf_clone_redirect(c->skb, c->cfg->ifindex, 0);
	return 0;
}

SEC("tc")
int msm_clone_floor(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct msm_clone_floor_cfg *cfg = bpf_map_lookup_elem(&msm_clone_floor_cfg, &zero);
	if (!cfg || cfg->copies == 0 || cfg->copies > 65536)
		return TC_ACT_OK;
	struct msm_clone_floor_ctx c = { .skb = skb, .cfg = cfg };
	bpf_loop(cfg->copies, msm_clone_floor_one, &c, 0);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Used by no program: puts the enums Java mirrors into the object's BTF (the
 * compiler writes only types something refers to) for the testkit and bench
 * layout tests. libbpf skips this section: no map. */
struct msm_btf_enums {
	enum msm_capture capture;
	enum msm_bench_sizes bench_sizes;
};
struct msm_btf_enums msm_btf_enums SEC(".msm.btf") = {
	.capture = MSM_CAPTURE_BYTES,
};
