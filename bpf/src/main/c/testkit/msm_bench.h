/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_bench.h — what the fan-out benchmark's sender (bench/src/main/c/rtpsend.c)
 * writes into each packet and what its receiver (msm_bench_sink in
 * msm_testkit.bpf.c) keeps. Read from Java by io.msm.bench.fanout.BenchSink,
 * whose layouts and constants BenchLayoutMatchesBtfTest checks against the
 * testkit object's BTF.
 *
 * A benchmark packet's UDP payload: a 12-byte RTP header (version 2,
 * sequence number +1 per packet), then struct msm_bench_stamp, then filler.
 */
#ifndef MSM_BENCH_H
#define MSM_BENCH_H

#include <linux/types.h>

#define MSM_BENCH_MAGIC 0x424d534d /* "MSMB" little endian */

struct msm_bench_stamp {
	__u64 sent_ns; /* CLOCK_MONOTONIC at send, host order (same host) */
	__u32 magic;   /* MSM_BENCH_MAGIC */
	__u32 pad;
} __attribute__((packed));

/* enumerators, not #defines, so that the object's BTF carries them
 * (BenchLayoutMatchesBtfTest compares them with io.msm.bench.fanout) */
enum msm_bench_sizes {
	MSM_BENCH_MAX_RX = 4096,
	MSM_BENCH_SLOTS = 4096, /* power of two */
	MSM_BENCH_SUB_BITS = 4,
	MSM_BENCH_SUB = 16,	  /* buckets per power of two */
	MSM_BENCH_BUCKETS = 1024, /* power of two; covers up to 2^63 ns */
};

struct msm_bench_cfg {
	__u32 copies; /* copies expected per upstream packet (N), 0: no spread */
	__u32 pad;
};

struct msm_bench_rx {
	__u64 packets;
	__u64 bytes;
	__u64 late;	  /* arrived behind the highest sequence number seen */
	__u64 duplicates; /* same sequence number as the highest seen */
	__u32 max_seq;	  /* highest sequence number seen (16 bits used) */
	__u32 started;
	__u64 last_sent_ns; /* send time of the newest packet seen */
};

/* A receiver that heard nothing for this long starts its sequence afresh
 * (the sender's numbers moved on while other receivers were served). */
#define MSM_BENCH_RESYNC_NS 1000000000ULL

/* ns histograms, log-linear (bucket lower bounds: io.msm.bench.fanout.Histogram) */
struct msm_bench_hist {
	__u64 latency[MSM_BENCH_BUCKETS]; /* send -> this receiver, every copy */
	__u64 spread[MSM_BENCH_BUCKETS];  /* first -> last copy of one packet */
};

struct msm_bench_slot {
	__u64 sent_ns;
	__u64 first_ns;
	__u32 count;
	__u32 pad;
};

#endif /* MSM_BENCH_H */
