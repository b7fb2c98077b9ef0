/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_classify.h — decides a packet's class from ports and the first bytes
 * of the UDP payload.
 *
 * Order (first match wins):
 *   1. control ports (RTSP on TCP, SIP on UDP/TCP; msm_ports table)
 *   2. TCP anything else                         -> other
 *   3. configured game UDP port ranges           -> game (msm_ports table)
 *   4. RakNet offline-message magic              -> game (before STUN: a
 *      RakNet ping starts with 0x01, inside the STUN range)
 *   5. RFC 7983 first-byte demux:
 *        0..3 STUN (>= 20 bytes), 20..63 DTLS (>= 13 bytes),
 *        128..191 RTP/RTCP, split by RFC 5761: second byte 192..223 is RTCP
 *        (>= 8 bytes), else RTP (>= 12 bytes)
 *   6. anything else                              -> other
 */
#ifndef MSM_CLASSIFY_H
#define MSM_CLASSIFY_H

#include "msm_shared.h"
#include "msm_parse.h"
#include "msm_maps.h"

/* RakNet's OFFLINE_MESSAGE_DATA_ID */
static const __u8 msm_raknet_magic[16] = {
	0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe,
	0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78,
};

static __always_inline __u8 msm_port_flags(__u16 port)
{
	__u32 k = port;
	__u8 *f = bpf_map_lookup_elem(&msm_ports, &k);
	return f ? *f : 0;
}

/* RakNet offline messages carry the 16-byte magic at an offset fixed by the
 * message id: ping 0x01/0x02 after id + 8-byte time; open-connection
 * request/reply 0x05..0x08 right after the id; pong 0x1c after id + time +
 * server GUID. */
static __always_inline int msm_raknet(const __u8 *pl, void *data_end, __u32 len)
{
	if ((void *)(pl + 1) > data_end || len < 17)
		return 0;
	__u8 id = pl[0];
	__u32 at;
	if (id == 0x01 || id == 0x02)
		at = 9;
	else if (id >= 0x05 && id <= 0x08)
		at = 1;
	else if (id == 0x1c)
		at = 17;
	else
		return 0;
	if (len < at + 16)
		return 0;
	const __u8 *m = pl + at;
	if ((void *)(m + 16) > data_end)
		return 0;
	/* compare as two 8-byte words: cheap and verifier-friendly */
	__u64 a, b, ma, mb;
	__builtin_memcpy(&a, m, 8);
	__builtin_memcpy(&b, m + 8, 8);
	__builtin_memcpy(&ma, msm_raknet_magic, 8);
	__builtin_memcpy(&mb, msm_raknet_magic + 8, 8);
	return a == ma && b == mb;
}

static __always_inline __u8 msm_classify(void *data, void *data_end, const struct msm_pkt *p,
					 const struct msm_config *cfg)
{
	__u8 pf = msm_port_flags(p->key.sport) | msm_port_flags(p->key.dport);

	if (p->key.proto == IPPROTO_TCP)
		return (pf & MSM_PORT_F_CONTROL_TCP) ? MSM_CLASS_CONTROL : MSM_CLASS_OTHER;
	if (p->key.proto != IPPROTO_UDP)
		return MSM_CLASS_OTHER;
	if (pf & MSM_PORT_F_CONTROL_UDP)
		return MSM_CLASS_CONTROL;
	if (pf & MSM_PORT_F_GAME_UDP)
		return MSM_CLASS_GAME;

	__u32 len = p->payload_len;
	__u32 off = p->payload_off;
	if (off > MSM_MAX_HDR_OFF)
		return MSM_CLASS_OTHER;
	const __u8 *pl = data + off;
	if ((void *)(pl + 2) > data_end || len < 2)
		return MSM_CLASS_OTHER;

	if ((cfg->flags & MSM_CFG_F_RAKNET) && msm_raknet(pl, data_end, len))
		return MSM_CLASS_GAME;

	__u8 b0 = pl[0];
	if (b0 <= 3)
		return len >= 20 ? MSM_CLASS_STUN : MSM_CLASS_OTHER;
	if (b0 >= 20 && b0 <= 63)
		return len >= 13 ? MSM_CLASS_DTLS : MSM_CLASS_OTHER;
	if (b0 >= 128 && b0 <= 191) {
		__u8 b1 = pl[1];
		if (b1 >= 192 && b1 <= 223)
			return len >= 8 ? MSM_CLASS_RTCP : MSM_CLASS_OTHER;
		return len >= 12 ? MSM_CLASS_RTP : MSM_CLASS_OTHER;
	}
	return MSM_CLASS_OTHER;
}

#endif /* MSM_CLASSIFY_H */
