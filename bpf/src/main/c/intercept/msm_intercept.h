/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_intercept.h — structs and constants shared by msm_intercept.bpf.c and
 * the Java side (io.msm.bpf.intercept.*, whose layouts, codecs and constants
 * are checked against this object's BTF by InterceptLayoutMatchesBtfTest).
 * Same conventions as msm_shared.h: fixed-width types, explicit padding,
 * addresses in network byte order, ports in host byte order, shared
 * constants as enumerators.
 *
 * This object is separate from msm.bpf.o: it is attached to pod cgroups
 * (cgroup/connect4), not to interfaces, and its lifecycle follows the pods.
 */
#ifndef MSM_INTERCEPT_H
#define MSM_INTERCEPT_H

#include <linux/types.h>

/* what a redirected connection was heading for (msm_icpt_ports key) */
struct msm_icpt_key {
	__u16 port; /* destination port, host order */
	__u8 proto; /* IPPROTO_TCP */
	__u8 pad;
};

/* where it goes instead: the node's proxy */
struct msm_icpt_target {
	__u32 addr;  /* IPv4, network order; 0 = configured but no address yet: pass */
	__u16 port;  /* host order */
	__u16 flags; /* reserved, 0 */
};

/* the original destination of a redirected socket, by socket cookie, so that
 * getpeername() answers what the application connected to */
struct msm_icpt_orig {
	__u32 addr; /* network order */
	__u16 port; /* host order */
	__u16 pad;
};

/* per-CPU counters (msm_icpt_stats, one entry) */
struct msm_icpt_stats {
	__u64 redirected;    /* connect() calls rewritten to the proxy */
	__u64 passed;	     /* TCP connect() calls on other ports, or to loopback */
	__u64 peer_restored; /* getpeername() answers rewritten to the original */
};

/* enumerators, not #defines, so that the object's BTF carries them */
enum msm_icpt_limits {
	MSM_ICPT_MAX_PORTS = 64,   /* entries of msm_icpt_ports */
	MSM_ICPT_MAX_ORIG = 65536, /* entries of msm_icpt_orig */
};

#endif
