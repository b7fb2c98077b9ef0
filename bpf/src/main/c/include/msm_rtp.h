/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_rtp.h — RTP receiver statistics as RFC 3550 defines them:
 *   A.1 sequence number validation (probation, MAX_DROPOUT, MAX_MISORDER),
 *   A.3 extended highest sequence number and cumulative loss
 *       (expected = cycles + max_seq - base_seq + 1; lost = expected - received,
 *        computed by the reader),
 *   A.8 interarrival jitter, integer form: J += |D| - ((J + 8) >> 4), J scaled by 16.
 * The Java reference io.msm.bpf.rtp.RtpReceiverStats implements the same
 * arithmetic; the kernel tests compare the two packet by packet.
 */
#ifndef MSM_RTP_H
#define MSM_RTP_H

#include "msm_shared.h"

#define MSM_RTP_SEQ_MOD	       (1U << 16)
#define MSM_RTP_MAX_DROPOUT    3000
#define MSM_RTP_MAX_MISORDER   100
#define MSM_RTP_MIN_SEQUENTIAL 2

struct msm_rtp_hdr {
	__u8 vpxcc;
	__u8 mpt;
	__be16 seq;
	__be32 ts;
	__be32 ssrc;
};

/* Built-in default when msm_config.clock_rate[pt] is 0: 90 kHz for video
 * and dynamic payload types, 8 kHz for the rest (PCMU/PCMA/G.729...). */
static __always_inline __u32 msm_rtp_clock_rate(const struct msm_config *cfg, __u8 pt)
{
	__u32 r = cfg->clock_rate[pt & (MSM_NUM_PT - 1)];
	if (r)
		return r;
	if (pt >= 96 || (pt >= 25 && pt <= 34))
		return 90000;
	return 8000;
}

static __always_inline void msm_rtp_init_seq(struct msm_rtp_stats *s, __u16 seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = MSM_RTP_SEQ_MOD + 1;
	s->cycles = 0;
	s->received = 0;
	s->late = 0;
}

/* RFC 3550 A.1 update_seq(); returns 1 when the packet counts as received */
static __always_inline int msm_rtp_update_seq(struct msm_rtp_stats *s, __u16 seq)
{
	__u16 udelta = seq - s->max_seq;

	if (s->probation) {
		if ((__u32)seq == (__u32)s->max_seq + 1) {
			s->probation--;
			s->max_seq = seq;
			if (s->probation == 0) {
				msm_rtp_init_seq(s, seq);
				s->received++;
				return 1;
			}
		} else {
			s->probation = MSM_RTP_MIN_SEQUENTIAL - 1;
			s->max_seq = seq;
		}
		return 0;
	} else if (udelta < MSM_RTP_MAX_DROPOUT) {
		/* in order, with permissible gap */
		if (seq < s->max_seq)
			s->cycles += MSM_RTP_SEQ_MOD; /* sequence number wrapped */
		s->max_seq = seq;
	} else if (udelta <= MSM_RTP_SEQ_MOD - MSM_RTP_MAX_MISORDER) {
		/* the sequence number made a very large jump */
		if ((__u32)seq == s->bad_seq) {
			/* two sequential packets: assume the other side restarted */
			msm_rtp_init_seq(s, seq);
		} else {
			s->bad_seq = (seq + 1) & (MSM_RTP_SEQ_MOD - 1);
			return 0;
		}
	} else {
		/* duplicate or reordered packet */
		s->late++;
	}
	s->received++;
	return 1;
}

/* Update the flow's RTP state from the header at pl. now_ns - first_ns is the
 * arrival time, converted to RTP timestamp units with the payload type's
 * clock rate (microsecond resolution, no overflow for years of flow age). */
static __always_inline void msm_rtp_update(struct msm_flow *f, const __u8 *pl, void *data_end,
					   __u64 now_ns, const struct msm_config *cfg)
{
	const struct msm_rtp_hdr *h = (const void *)pl;
	if ((void *)(h + 1) > data_end)
		return;
	if ((h->vpxcc >> 6) != 2)
		return;

	struct msm_rtp_stats *s = &f->rtp;
	__u32 ssrc = bpf_ntohl(h->ssrc);
	__u16 seq = bpf_ntohs(h->seq);
	__u32 ts = bpf_ntohl(h->ts);
	__u8 pt = h->mpt & 0x7f;

	if (!(s->flags & MSM_RTP_F_INIT) || s->ssrc != ssrc) {
		/* a new source on this 5-tuple: start over (A.1) */
		s->ssrc = ssrc;
		msm_rtp_init_seq(s, seq);
		s->max_seq = seq - 1;
		s->probation = MSM_RTP_MIN_SEQUENTIAL;
		s->jitter = 0;
		s->transit = 0;
		s->clock_rate = msm_rtp_clock_rate(cfg, pt);
		s->flags = MSM_RTP_F_INIT;
	}
	s->pt = pt;
	msm_rtp_update_seq(s, seq);

	__u64 rate = s->clock_rate;
	__u64 age_us = (now_ns - f->first_ns) / 1000;
	__u32 arrival = (__u32)(age_us * rate / 1000000);
	__u32 transit = arrival - ts;
	if (s->flags & MSM_RTP_F_TRANSIT) {
		__s32 d = (__s32)(transit - s->transit);
		if (d < 0)
			d = -d;
		s->jitter += (__u32)d - ((s->jitter + 8) >> 4);
	}
	s->transit = transit;
	s->flags |= MSM_RTP_F_TRANSIT;
}

#endif /* MSM_RTP_H */
