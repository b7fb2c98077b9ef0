// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The one place the datapath's maps are defined; see include/msm_maps.h. */
#define MSM_MAPS_DEFINE
#include "msm_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Used by no program: the compiler writes into BTF only the types something
 * refers to, and this refers to every enum of msm_shared.h, so the object's
 * BTF carries the constants the Java side shares (LayoutMatchesBtfTest
 * compares them; `bpftool btf dump` shows them). libbpf creates maps only for
 * .data/.rodata/.bss sections and skips others, so this costs no map. */
struct msm_btf_enums {
	enum msm_identity identity;
	enum msm_class class;
	enum msm_stat stat;
	enum msm_family family;
	enum msm_rtp_flags rtp_flags;
	enum msm_flow_flags flow_flags;
	enum msm_sizes sizes;
	enum msm_port_flags port_flags;
	enum msm_cfg_flags cfg_flags;
	enum msm_fanout_limits fanout_limits;
	enum msm_sub_flags sub_flags;
	enum msm_group_flags group_flags;
	enum msm_label label;
	enum msm_attach_flags attach_flags;
	enum msm_map_defaults map_defaults;
	enum msm_identities identities;
	enum msm_marks marks;
	enum msm_game_limits game_limits;
	enum msm_game_svc_flags game_svc_flags;
	enum msm_game_rebind game_rebind;
	enum msm_game_be_flags game_be_flags;
	enum msm_game_key_kind game_key_kind;
	enum msm_game_map_defaults game_map_defaults;
};
struct msm_btf_enums msm_btf_enums SEC(".msm.btf") = {
	.identity = MSM_LAYOUT_VERSION,
};
