// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * msm_intercept.bpf.c — transparent interception of a pod's RTSP (later SIP)
 * connections, attached to the pod's cgroup v2 directory:
 *
 *   msm_icpt_connect4     cgroup/connect4: a TCP connect() to a port listed in
 *                         msm_icpt_ports is rewritten to the node's proxy
 *                         (address:port from the map). The kernel connects
 *                         to the proxy; the application never knows. Loopback
 *                         destinations and the proxy itself are left alone.
 *   msm_icpt_getpeername4 cgroup/getpeername4: a redirected socket reports the
 *                         destination the application asked for, not the
 *                         proxy (as Cilium and Merbridge do).
 *
 * Only BPF features of Linux 6.1 (sock_addr programs since 4.17,
 * getpeername hooks and bpf_get_socket_cookie on sock_addr since 5.8).
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "msm_intercept.h"

#ifndef SOCK_STREAM
#define SOCK_STREAM 1
#endif

/* destination port -> the proxy that answers for it */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MSM_ICPT_MAX_PORTS);
	__type(key, struct msm_icpt_key);
	__type(value, struct msm_icpt_target);
} msm_icpt_ports SEC(".maps");

/* socket cookie -> original destination; LRU: closed sockets age out */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MSM_ICPT_MAX_ORIG);
	__type(key, __u64);
	__type(value, struct msm_icpt_orig);
} msm_icpt_orig SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_icpt_stats);
} msm_icpt_stats SEC(".maps");

static __always_inline struct msm_icpt_stats *stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&msm_icpt_stats, &zero);
}

SEC("cgroup/connect4")
int msm_icpt_connect4(struct bpf_sock_addr *ctx)
{
	struct msm_icpt_stats *st;
	struct msm_icpt_target *t;
	struct msm_icpt_key key;
	struct msm_icpt_orig orig;
	__u32 dst;
	__u16 port;
	__u64 cookie;

	if (ctx->type != SOCK_STREAM || ctx->protocol != IPPROTO_TCP)
		return 1;
	dst = ctx->user_ip4;
	port = bpf_ntohs((__u16)ctx->user_port);
	st = stats();
	/* the pod talking to itself (127.0.0.0/8) is never the mesh's business */
	if ((bpf_ntohl(dst) >> 24) == 127)
		goto pass;
	__builtin_memset(&key, 0, sizeof(key));
	key.port = port;
	key.proto = IPPROTO_TCP;
	t = bpf_map_lookup_elem(&msm_icpt_ports, &key);
	if (!t || t->addr == 0)
		goto pass;
	if (t->addr == dst && t->port == port)
		goto pass; /* already the proxy */

	cookie = bpf_get_socket_cookie(ctx);
	__builtin_memset(&orig, 0, sizeof(orig));
	orig.addr = dst;
	orig.port = port;
	bpf_map_update_elem(&msm_icpt_orig, &cookie, &orig, BPF_ANY);

	ctx->user_ip4 = t->addr;
	ctx->user_port = bpf_htons(t->port);
	if (st)
		__sync_fetch_and_add(&st->redirected, 1);
	return 1;
pass:
	if (st)
		__sync_fetch_and_add(&st->passed, 1);
	return 1;
}

SEC("cgroup/getpeername4")
int msm_icpt_getpeername4(struct bpf_sock_addr *ctx)
{
	struct msm_icpt_stats *st;
	struct msm_icpt_orig *o;
	__u64 cookie;

	cookie = bpf_get_socket_cookie(ctx);
	o = bpf_map_lookup_elem(&msm_icpt_orig, &cookie);
	if (!o)
		return 1;
	ctx->user_ip4 = o->addr;
	ctx->user_port = bpf_htons(o->port);
	st = stats();
	if (st)
		__sync_fetch_and_add(&st->peer_restored, 1);
	return 1;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Used by no program: puts enum msm_icpt_limits into the object's BTF (the
 * compiler writes only types something refers to) for
 * InterceptLayoutMatchesBtfTest. libbpf skips this section: no map. */
enum msm_icpt_limits msm_btf_enums SEC(".msm.btf") = MSM_ICPT_MAX_PORTS;
