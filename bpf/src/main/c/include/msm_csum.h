/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_csum.h — one's complement arithmetic (RFC 1071/1624) to build the
 * checksum *differences* handed to bpf_l3_csum_replace/bpf_l4_csum_replace in
 * their diff mode (size 0). The helpers apply the difference correctly for
 * every skb checksum state (NONE, PARTIAL, COMPLETE) and keep a zero UDP
 * checksum zero (BPF_F_MARK_MANGLED_0); doing the arithmetic ourselves lets a
 * copy rewrite all addresses with one call per checksum.
 *
 * Values are 32-bit words exactly as they lie in the packet: one's complement
 * sums are byte-order independent as long as both sides load the same way.
 */
#ifndef MSM_CSUM_H
#define MSM_CSUM_H

#include <linux/types.h>

static __always_inline __u32 msm_csum_add(__u32 a, __u32 b)
{
	a += b;
	return a + (a < b);
}

/* the difference that turns a checksum over `from` into one over `to` */
static __always_inline __u32 msm_csum_diff32(__u32 from, __u32 to)
{
	return msm_csum_add(~from, to);
}

#endif /* MSM_CSUM_H */
