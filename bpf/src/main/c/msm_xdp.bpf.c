// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * msm_xdp.bpf.c — the first line, and the protection layer:
 *   - a source deny-list (LPM, IPv4 and IPv6) judged on the IP header alone,
 *     whatever follows it (ICMP, fragments, an unknown or malformed L4, an
 *     IPv6 extension chain the parser does not finish);
 *   - IPv6 packets whose extension-header chain is longer than the parser
 *     follows (MSM_MAX_V6_EXT) are dropped and counted: nothing behind them
 *     (the TC classifier, the agent's view of flows) could see their ports;
 *   - a per-source token bucket on *new* flows (UDP/TCP 5-tuples not yet in
 *     the flow table), which keeps one source from churning the LRU flow
 *     table; IPv6 sources share a bucket per /64.
 * Everything else: XDP_PASS. Native mode on veth, generic elsewhere. (The TC
 * program passes what it does not understand, by design.)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "msm_shared.h"
#include "msm_maps.h"
#include "msm_parse.h"

#define MSM_NS_PER_TOKEN  1000000000ULL
#define MSM_MAX_REFILL_NS (100ULL * 1000000000ULL)

static __always_inline int msm_denied(const struct msm_flow_key *k)
{
	struct msm_deny_key dk = {};
	dk.family = k->family;
	if (k->family == MSM_FAMILY_IPV4) {
		dk.prefixlen = 8 + 32;
		__builtin_memcpy(dk.addr, k->saddr, 4);
	} else {
		dk.prefixlen = 8 + 128;
		__builtin_memcpy(dk.addr, k->saddr, 16);
	}
	__u64 *hits = bpf_map_lookup_elem(&msm_deny, &dk);
	if (!hits)
		return 0;
	__sync_fetch_and_add(hits, 1);
	return 1;
}

/* 1: allowed to open a new flow; 0: over the source's budget */
static __always_inline int msm_newflow_allowed(const struct msm_flow_key *k,
					       const struct msm_config *cfg)
{
	__u64 rate = cfg->newflow_rate;
	if (!rate)
		return 1;
	__u64 burst = cfg->newflow_burst ? cfg->newflow_burst : rate;
	__u64 cap = burst * MSM_NS_PER_TOKEN;
	__u64 now = bpf_ktime_get_ns();

	/* IPv4: the address (saddr[1] is zero); IPv6: its /64 */
	struct msm_ratelimit_key rk = {};
	rk.family = k->family;
	rk.addr[0] = k->saddr[0];
	rk.addr[1] = k->saddr[1];
	struct msm_ratelimit_state *st = bpf_map_lookup_elem(&msm_ratelimit, &rk);
	if (!st) {
		struct msm_ratelimit_state ns = {};
		ns.tokens = cap - MSM_NS_PER_TOKEN;
		ns.last_ns = now;
		bpf_map_update_elem(&msm_ratelimit, &rk, &ns, BPF_ANY);
		return 1;
	}
	__u64 elapsed = now - st->last_ns;
	if (elapsed > MSM_MAX_REFILL_NS)
		elapsed = MSM_MAX_REFILL_NS;
	__u64 tokens = st->tokens + elapsed * rate;
	if (tokens > cap)
		tokens = cap;
	st->last_ns = now;
	if (tokens < MSM_NS_PER_TOKEN) {
		st->tokens = tokens;
		st->dropped++;
		return 0;
	}
	st->tokens = tokens - MSM_NS_PER_TOKEN;
	return 1;
}

__noinline int msm_xdp_parse(struct xdp_md *ctx, struct msm_pkt *p)
{
	if (!p)
		return MSM_PARSE_MALFORMED;
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	return msm_parse(data, data_end, data_end - data, p);
}

SEC("xdp")
int msm_xdp(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct msm_counters *ctr = bpf_map_lookup_elem(&msm_counters, &zero);
	struct msm_config *cfg = bpf_map_lookup_elem(&msm_config, &zero);
	if (!ctr || !cfg)
		return XDP_PASS;
	ctr->stat[MSM_STAT_XDP_PACKETS]++;

	struct msm_pkt p = {};
	int rc = msm_xdp_parse(ctx, &p);
	/* the parser fills the addresses as soon as it has read an IP header's
	 * version: the deny-list applies whatever follows it */
	if (p.key.family && msm_denied(&p.key)) {
		ctr->stat[MSM_STAT_XDP_DENY]++;
		return XDP_DROP;
	}
	if (rc == MSM_PARSE_V6_EXT_LONG) {
		ctr->stat[MSM_STAT_XDP_V6_EXT]++;
		return XDP_DROP;
	}
	if (rc != MSM_PARSE_OK)
		return XDP_PASS;

	if (bpf_map_lookup_elem(&msm_flows, &p.key))
		return XDP_PASS;
	ctr->stat[MSM_STAT_XDP_NEWFLOW]++;
	if (!msm_newflow_allowed(&p.key, cfg)) {
		ctr->stat[MSM_STAT_XDP_RATELIMIT]++;
		return XDP_DROP;
	}
	return XDP_PASS;
}
