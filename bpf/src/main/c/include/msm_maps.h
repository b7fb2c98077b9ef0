/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_maps.h — every map of the datapath. msm_maps.bpf.c defines them
 * (MSM_MAPS_DEFINE); the program files see them as extern, and the static
 * linker (bpftool gen object) makes one object where TC and XDP share them.
 * Pinned by the loader under the bpffs directory by their names.
 */
#ifndef MSM_MAPS_H
#define MSM_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "msm_shared.h"

#ifdef MSM_MAPS_DEFINE
#define MSM_MAP
#else
#define MSM_MAP extern
#endif

/* 5-tuple -> flow state; LRU is the last resort, the agent expires idle flows */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MSM_DEFAULT_FLOWS);
	__type(key, struct msm_flow_key);
	__type(value, struct msm_flow);
} msm_flows SEC(".maps");

/* global per-CPU counters: per class and per datapath event */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_counters);
} msm_counters SEC(".maps");

/* classifier configuration written by the agent */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_config);
} msm_config SEC(".maps");

/* port number -> MSM_PORT_F_* flags, written by the agent */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MSM_NUM_PORTS);
	__type(key, __u32);
	__type(value, __u8);
} msm_ports SEC(".maps");

/* identity of the pinned state: layout version and object hash */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_meta);
} msm_meta SEC(".maps");

/* upstream (dst addr:port, proto) -> subscriber group; preallocated so that
 * an update swaps in a whole new group and a reader never sees half of one */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MSM_DEFAULT_GROUPS);
	__type(key, struct msm_fanout_key);
	__type(value, struct msm_fanout_group);
} msm_fanout_groups SEC(".maps");

/* per-group counters, indexed by msm_fanout_group.group_id */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MSM_DEFAULT_GROUPS);
	__type(key, __u32);
	__type(value, struct msm_group_stats);
} msm_group_stats SEC(".maps");

/* per-group rewrite state (MSM_GROUP_F_REWRITE), indexed by group_id */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MSM_DEFAULT_GROUPS);
	__type(key, __u32);
	__type(value, struct msm_rewrite);
} msm_rewrites SEC(".maps");

/* per-group labels for people, indexed by group_id (agent only) */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MSM_DEFAULT_GROUPS);
	__type(key, __u32);
	__type(value, struct msm_group_info);
} msm_group_info SEC(".maps");

/* per-subscriber counters, indexed by msm_fanout_sub.sub_id */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MSM_DEFAULT_SUB_IDS);
	__type(key, __u32);
	__type(value, struct msm_sub_stats);
} msm_sub_stats SEC(".maps");

/* the fan-out loop's working state (see msm_fanout.h); not pinned */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct msm_fanout_scratch);
} msm_fanout_scratch SEC(".maps");

/* source address -> workload identity (absent: MSM_IDENTITY_WORLD), written
 * by the agent from what it learns of pods; read by TC for groups with
 * MSM_GROUP_F_IDENTITY. An address is removed before another workload gets it. */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MSM_DEFAULT_IDENTITIES);
	__type(key, struct msm_identity_key);
	__type(value, struct msm_source_identity);
} msm_identities SEC(".maps");

/* identity -> SPIFFE ID, for people (agent and CLI only) */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MSM_DEFAULT_IDENTITY_NAMES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct msm_identity_name);
} msm_identity_names SEC(".maps");

/* {group, identity} present: that identity may feed that group (groups with
 * MSM_GROUP_F_IDENTITY); the value is 1 */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MSM_DEFAULT_GROUP_ALLOW);
	__type(key, struct msm_allow_key);
	__type(value, __u32);
} msm_group_allow SEC(".maps");

/* XDP source deny-list (prefixes); value counts drops */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MSM_DEFAULT_DENY);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct msm_deny_key);
	__type(value, __u64);
} msm_deny SEC(".maps");

/* XDP per-source token buckets for new flows */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MSM_DEFAULT_RATELIMIT);
	__type(key, struct msm_ratelimit_key);
	__type(value, struct msm_ratelimit_state);
} msm_ratelimit SEC(".maps");

/* ifindex -> what msm attached there, so that cleanup (also by a restarted
 * agent) removes exactly what msm added and nothing else */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct msm_attachment);
} msm_attachments SEC(".maps");

/* ---- game services (msm_game.h) ---- */
/* service address:port -> service */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MSM_DEFAULT_GAME_SERVICES);
	__type(key, struct msm_game_svc_key);
	__type(value, struct msm_game_svc);
} msm_game_services SEC(".maps");

/* svc_id * MSM_GAME_MAGLEV_SIZE + slot -> backend id (built by the agent) */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MSM_GAME_MAX_SERVICES *MSM_GAME_MAGLEV_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} msm_game_maglev SEC(".maps");

/* backend id -> backend */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MSM_GAME_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct msm_game_backend);
} msm_game_backends SEC(".maps");

/* client session -> its backend (pinned until idle or the backend goes) */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MSM_DEFAULT_GAME_SESSIONS);
	__type(key, struct msm_game_session_key);
	__type(value, struct msm_game_session);
} msm_game_sessions SEC(".maps");

/* replies: (backend, first client address) -> session */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MSM_DEFAULT_GAME_SESSIONS);
	__type(key, struct msm_game_rev_key);
	__type(value, struct msm_game_rev);
} msm_game_rev SEC(".maps");

/* {service, routing token} -> backend id */
MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MSM_DEFAULT_GAME_TOKENS);
	__type(key, struct msm_game_token_key);
	__type(value, __u32);
} msm_game_tokens SEC(".maps");

MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MSM_GAME_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct msm_game_be_stats);
} msm_game_be_stats SEC(".maps");

MSM_MAP struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MSM_GAME_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct msm_game_svc_stats);
} msm_game_svc_stats SEC(".maps");

#endif /* MSM_MAPS_H */
