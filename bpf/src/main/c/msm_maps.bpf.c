// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The one place the datapath's maps are defined; see include/msm_maps.h. */
#define MSM_MAPS_DEFINE
#include "msm_maps.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
