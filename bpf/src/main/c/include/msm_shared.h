/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * msm_shared.h — every struct and constant shared by the BPF programs and the
 * Java side (io.msm.bpf.maps.*). How drift is caught: each Java mirror has a
 * StructLayout (size, and offset and size of every member) and its codec
 * takes every offset from it; LayoutMatchesBtfTest compares each layout, and
 * each shared constant, with this object's BTF — the compiler's own record —
 * so a change here that is not made in Java (or the reverse) fails the build.
 *
 * Conventions:
 *   - fixed-width types only, explicit padding, no implicit holes;
 *   - constants the Java side shares are enumerators, not #defines: BTF
 *     carries enums but not macros, and only the enums something refers
 *     to — a new enum gets a member in struct msm_btf_enums
 *     (msm_maps.bpf.c) and rows in LayoutMatchesBtfTest, which fails on an
 *     enumerator Java does not mirror;
 *   - IP addresses in network byte order (as on the wire), IPv4 in addr[0];
 *   - ports in host byte order (readable by both sides without swapping);
 *   - times from bpf_ktime_get_ns() (CLOCK_MONOTONIC).
 */
#ifndef MSM_SHARED_H
#define MSM_SHARED_H

#include <linux/types.h>

/* MSM_LAYOUT_VERSION is bumped whenever a map's key/value layout or a map's
 * meaning changes. The agent refuses to adopt pinned maps whose
 * msm_meta.layout_version differs. */
enum msm_identity {
	MSM_LAYOUT_VERSION = 7,
	MSM_META_MAGIC = 0x314d534d, /* "MSM1" little endian */
};

/* ---- traffic classes ---------------------------------------------------- */
enum msm_class {
	MSM_CLASS_OTHER = 0,
	MSM_CLASS_RTP = 1,
	MSM_CLASS_RTCP = 2,
	MSM_CLASS_STUN = 3,
	MSM_CLASS_DTLS = 4,
	MSM_CLASS_GAME = 5,
	MSM_CLASS_CONTROL = 6,
	MSM_CLASS_MAX = 8, /* array size, keep a power of two */
};

/* ---- global per-CPU counters (msm_counters, one entry) ----------------- */
enum msm_stat {
	MSM_STAT_TC_PACKETS = 0,     /* packets seen by the TC classifier */
	MSM_STAT_NOT_IP = 1,	     /* non-IP frames, passed untouched */
	MSM_STAT_MALFORMED = 2,	     /* truncated / inconsistent headers, passed */
	MSM_STAT_FRAGMENT = 3,	     /* non-first IP fragments, passed */
	MSM_STAT_FLOW_NEW = 4,	     /* flow table entries created */
	MSM_STAT_FLOW_FAIL = 5,	     /* flow table insert failures */
	MSM_STAT_FANOUT_PACKETS = 6, /* upstream packets that hit a fan-out group */
	MSM_STAT_FANOUT_COPIES = 7,  /* copies sent to subscribers */
	MSM_STAT_FANOUT_ERRORS = 8,  /* failed rewrites / redirects */
	MSM_STAT_FANOUT_LOCAL = 9,   /* originals also passed to the local stack */
	MSM_STAT_FANOUT_EMPTY = 10,  /* packets for a group with no subscriber */
	MSM_STAT_XDP_PACKETS = 11,   /* packets seen by the XDP program */
	MSM_STAT_XDP_DENY = 12,	     /* dropped by the source deny-list */
	MSM_STAT_XDP_RATELIMIT = 13, /* dropped by the new-flow rate limit */
	MSM_STAT_XDP_NEWFLOW = 14,   /* packets of flows not yet in the table */
	MSM_STAT_STRICT_DROP = 15,   /* fan-out packets from a non-negotiated source */
	MSM_STAT_XDP_V6_EXT = 16, /* IPv6 dropped: extension chain longer than the parser follows */
	MSM_STAT_IDENT_UNKNOWN = 17, /* fan-out refused: sender has no identity (not allowed) */
	MSM_STAT_IDENT_DENIED = 18,  /* fan-out refused: sender's identity not allowed */
	MSM_STAT_IDENT_LOCAL = 19,   /* of those refused, handed to the local stack */
	MSM_STAT_GAME_PACKETS = 20,  /* packets NATed for a game service (both ways) */
	MSM_STAT_GAME_DROPS = 21,    /* game packets dropped (no backend, unknown token, ...) */
	MSM_STAT_REWRITE_DROP =
		23,	   /* MSM_GROUP_F_REWRITE: SRs of a non-current source, standby packets */
	MSM_STAT_MAX = 24, /* array size */
};

struct msm_counters {
	__u64 class_packets[MSM_CLASS_MAX];
	__u64 class_bytes[MSM_CLASS_MAX];
	__u64 stat[MSM_STAT_MAX];
};

/* ---- flow table (msm_flows, LRU hash) ----------------------------------- */
enum msm_family {
	MSM_FAMILY_IPV4 = 4,
	MSM_FAMILY_IPV6 = 6,
};

struct msm_flow_key {
	__u8 family;	/* MSM_FAMILY_IPV4 / MSM_FAMILY_IPV6 */
	__u8 proto;	/* IPPROTO_UDP / IPPROTO_TCP */
	__u16 sport;	/* host order */
	__u16 dport;	/* host order */
	__u16 pad;	/* always zero */
	__u32 saddr[4]; /* network order; IPv4 in saddr[0], rest zero */
	__u32 daddr[4];
};

/* RFC 3550 appendix A.1/A.3/A.8 receiver state for one RTP source */
struct msm_rtp_stats {
	__u32 ssrc;
	__u8 pt;	  /* payload type of the last packet */
	__u8 probation;	  /* sequential packets still needed before valid */
	__u16 max_seq;	  /* highest sequence number seen */
	__u32 cycles;	  /* shifted count of sequence number wraps (n << 16) */
	__u32 base_seq;	  /* first sequence number counted */
	__u32 bad_seq;	  /* last 'bad' sequence number + 1 */
	__u32 received;	  /* packets received (A.3) */
	__u32 late;	  /* duplicates / packets older than max_seq */
	__u32 transit;	  /* relative transit time of the previous packet */
	__u32 jitter;	  /* interarrival jitter * 16, RTP timestamp units (A.8) */
	__u32 clock_rate; /* Hz used for this flow's jitter */
	__u32 flags;	  /* MSM_RTP_F_* */
	__u32 pad;
};
enum msm_rtp_flags {
	MSM_RTP_F_INIT = 1,    /* state initialised (first packet seen) */
	MSM_RTP_F_TRANSIT = 2, /* transit holds a valid previous value */
};

enum msm_flow_flags {
	MSM_FLOW_F_FANOUT = 1, /* at least one packet of this flow was fanned out */
};

struct msm_flow {
	__u8 class;	 /* enum msm_class: RTP/RTCP win over others once seen */
	__u8 flags;	 /* MSM_FLOW_F_* */
	__u8 class_mask; /* bit per class ever seen on this 5-tuple */
	__u8 pad0;
	__u32 pad1;
	__u64 packets;
	__u64 bytes;
	__u64 first_ns;
	__u64 last_ns;
	struct msm_rtp_stats rtp;
};

/* ---- classifier configuration (msm_config, one entry) ------------------ */
/* msm_ports: one byte of MSM_PORT_F_* per port number (0..65535), written
 * by the agent from its control-port lists and game port ranges; a port's
 * meaning costs one array lookup per packet instead of a scan of lists. */
enum msm_sizes {
	MSM_NUM_PT = 128,      /* RTP payload types (msm_config.clock_rate) */
	MSM_NUM_PORTS = 65536, /* entries of msm_ports */
};

enum msm_port_flags {
	MSM_PORT_F_CONTROL_TCP = 1, /* RTSP/SIP over TCP */
	MSM_PORT_F_CONTROL_UDP = 2, /* SIP over UDP */
	MSM_PORT_F_GAME_UDP = 4,    /* configured game UDP ports */
};

enum msm_cfg_flags {
	MSM_CFG_F_FLOWS = 1,  /* keep per-flow state (off: counters only) */
	MSM_CFG_F_FANOUT = 2, /* fan-out groups active */
	MSM_CFG_F_RAKNET = 4, /* classify RakNet offline messages as game */
	MSM_CFG_F_GAME = 8,   /* game services (msm_game_*) active */
};

struct msm_config {
	__u32 flags;
	__u32 newflow_rate;  /* XDP: new flows per second per source, 0 = unlimited */
	__u32 newflow_burst; /* XDP: bucket depth */
	__u32 pad;
	__u32 clock_rate[MSM_NUM_PT]; /* Hz per RTP payload type, 0 = built-in default */
};

/* ---- pinned-state identity (msm_meta, one entry) ----------------------- */
struct msm_meta {
	__u32 magic;	      /* MSM_META_MAGIC once written by the agent */
	__u32 layout_version; /* MSM_LAYOUT_VERSION of the object that created the maps */
	__u64 created_ns;     /* CLOCK_MONOTONIC when the maps were created */
	__u8 object_sha256[32];
};

/* ---- fan-out ------------------------------------------------------------ */
/* Largest group: the copy loop runs in bpf_loop(), so the verifier does not
 * bound it; the cost is memory (sizeof(struct msm_fanout_group) per group
 * slot, preallocated) and time in softirq per packet. A build may change it
 * with -DMSM_BUILD_MAX_SUBS=n (bpf/scripts/group-size-probe.sh). Power of two. */
#ifndef MSM_BUILD_MAX_SUBS
#define MSM_BUILD_MAX_SUBS 1024
#endif
enum msm_fanout_limits {
	MSM_MAX_SUBS = MSM_BUILD_MAX_SUBS,
};

struct msm_fanout_key {
	__u8 family;   /* MSM_FAMILY_IPV4 (only IPv4 is fanned out) */
	__u8 proto;    /* IPPROTO_UDP */
	__u16 port;    /* upstream destination port, host order */
	__u32 addr[4]; /* upstream destination address, network order */
};

enum msm_sub_flags {
	MSM_SUB_F_INGRESS = 1, /* redirect into the ifindex's ingress, not egress */
};

struct msm_fanout_sub {
	__u32 ifindex; /* device the copy leaves by */
	__u32 sub_id;  /* index into msm_sub_stats */
	__u8 dmac[6];  /* written as-is over the Ethernet header: dmac then smac */
	__u8 smac[6];
	__u32 saddr; /* new IPv4 source, network order */
	__u32 daddr; /* new IPv4 destination, network order */
	__u16 sport; /* new UDP source port, host order */
	__u16 dport; /* new UDP destination port, host order */
	__u32 flags; /* MSM_SUB_F_* */
};

enum msm_group_flags {
	MSM_GROUP_F_LOCAL = 1,	     /* after the copies, deliver the original to the local stack */
	MSM_GROUP_F_STRICT = 2,	     /* only relay packets from src_addr[:src_port] ... */
	MSM_GROUP_F_PASS_OTHERS = 4, /* ... and hand the others to the local stack instead of
				      * dropping them (e.g. viewers' RTCP receiver reports
				      * sent to the same node port as the publisher's SRs);
				      * likewise for senders MSM_GROUP_F_IDENTITY refuses */
	MSM_GROUP_F_IDENTITY = 8,    /* only relay packets whose source address has an identity
				      * (msm_identities; none: MSM_IDENTITY_WORLD) listed for
				      * this group in msm_group_allow; checked after STRICT */
	MSM_GROUP_F_REWRITE = 16,    /* one continuous RTP stream across source switches:
				      * msm_rewrite[group_id] (below) */
};

struct msm_fanout_group {
	__u32 group_id; /* index into msm_group_stats */
	__u32 flags;	/* MSM_GROUP_F_* */
	__u32 n_subs;	/* valid entries in subs[] */
	__u16 src_port; /* MSM_GROUP_F_STRICT: expected source port, host order */
	__u16 pad;
	__u32 src_addr; /* MSM_GROUP_F_STRICT: expected source address, network order */
	__u32 pad2;
	struct msm_fanout_sub subs[MSM_MAX_SUBS];
};

/* internal: the fan-out loop's per-CPU working state (not mirrored in Java) */
struct msm_hdr_state {
	__u8 eth[12]; /* dmac, smac as in the packet */
	__u32 saddr;  /* network order */
	__u32 daddr;
	__u32 ports; /* sport, dport as the 4 bytes lie in the UDP header */
};

struct msm_fanout_scratch {
	__u32 l3_off;
	__u32 l4_off;
	__u32 contiguous; /* IHL == 5: addresses and ports are one 12-byte run */
	__u32 n_clone;	  /* subscribers served by a clone (the rest: redirect) */
	__u32 copies;
	__u32 errors;
	__u32 bytes;
	__u32 last_ok;		  /* the redirected (last) subscriber's rewrite succeeded */
	struct msm_hdr_state cur; /* header values in the packet right now */
};

/* what a group is for, written by the agent for people (msm fanout) */
enum msm_label {
	MSM_LABEL_LEN = 64,
};
struct msm_group_info {
	char label[MSM_LABEL_LEN]; /* e.g. "rtsp/cam1/track0/rtp", NUL-terminated */
};

struct msm_group_stats {
	__u64 packets; /* upstream packets */
	__u64 bytes;   /* upstream bytes */
	__u64 copies;  /* copies sent */
	__u64 errors;  /* copies that failed */
	__u64 strict_drops;
	__u64 identity_unknown; /* MSM_GROUP_F_IDENTITY refused: sender has no identity */
	__u64 identity_denied;	/* MSM_GROUP_F_IDENTITY refused: sender's identity not allowed */
};

/* ---- continuity across source switches (msm_rewrites, by group_id) ------
 * A group with MSM_GROUP_F_REWRITE rewrites each upstream packet once, before
 * the copies, so that its subscribers see one RTP stream whoever feeds it.
 *
 * RTP group (rtp_group == its own group_id): a packet whose SSRC is not the
 * current source's (in_ssrc) starts a new source — the first ever is taken as
 * it is (deltas 0; out_ssrc 0 becomes its SSRC), a later one continues the
 * output: seq_delta makes its first packet last_seq + 1, ts_delta makes its
 * first timestamp last_ts + the time since the last packet at clock_rate (at
 * least 1, at most 10 s). Every packet then goes out as out_ssrc, seq +
 * seq_delta, timestamp + ts_delta; the UDP checksum is updated incrementally.
 * Nothing is written while the deltas are 0 and the SSRC is out_ssrc.
 * MSM_RW_F_RESYNC (set by the agent when a publisher resumes, by the kernel
 * when the standby becomes active) makes the next packet start a new source
 * even with the current SSRC — a sender that comes back with the SSRC it had
 * would otherwise jump the players' sequence numbers — and is cleared by it.
 *
 * Hot standby (alt_addr != 0): the group also takes packets from
 * alt_addr:alt_port (besides src_addr:src_port of MSM_GROUP_F_STRICT); only
 * the active one (active_alt) is relayed. A packet from the other while the
 * active one has been silent for silence_ns makes the other active (then its
 * SSRC starts a new source as above); otherwise it is dropped (standby_drops).
 *
 * RTCP group (rtp_group: the RTP group it follows): a sender report whose SSRC
 * is the RTP group's current source goes out with out_ssrc and its RTP
 * timestamp + ts_delta; SRs of other sources (an old or standby publisher)
 * are dropped; other RTCP passes untouched. alt_addr:alt_port admits the
 * standby's RTCP alike.
 *
 * The state is updated without locks: one source's packets are handled on one
 * CPU (one flow, one RSS queue); at a switch two CPUs may race over one
 * packet's worth of state, which costs a glitch, never a wrong checksum. */
enum msm_rewrite_flags {
	MSM_RW_F_PRIMED = 1, /* a source has been seen (in_ssrc is valid) */
	MSM_RW_F_RESYNC = 2, /* the next packet starts a new source, whatever its SSRC */
};

struct msm_rewrite {
	__u32 flags;	  /* MSM_RW_F_* (kernel) */
	__u32 rtp_group;  /* the RTP group whose source state applies (itself for RTP) */
	__u32 out_ssrc;	  /* SSRC the subscribers see, network order (0: the first source's) */
	__u32 in_ssrc;	  /* the current source's SSRC, network order */
	__u32 clock_rate; /* Hz of the RTP timestamps (0: 90000) */
	__u16 seq_delta;  /* out seq = in seq + seq_delta */
	__u16 last_seq;	  /* last seq sent, host order */
	__u32 ts_delta;	  /* out ts = in ts + ts_delta */
	__u32 last_ts;	  /* last timestamp sent, host order */
	__u64 last_ns;	  /* when the last packet was rewritten */
	__u64 switches;	  /* sources after the first */
	__u64 rewritten;  /* packets (RTP) or SRs (RTCP) rewritten */
	__u64 dropped;	  /* SRs of a non-current source; standby packets */
	__u32 alt_addr;	  /* hot standby: the other source's address, network order (0: none) */
	__u16 alt_port;	  /* its port, host order (0: any) */
	__u16 active_alt; /* 1: the alt source is the active one */
	__u64 silence_ns; /* the active source silent this long: the other one takes over */
	__u64 active_ns;  /* last packet from the active source */
};

struct msm_sub_stats {
	__u64 packets;
	__u64 bytes;
	__u64 errors;
};

/* ---- workload identities ------------------------------------------------
 * Who sent a packet, as the agent learnt it (Kubernetes: a pod's namespace and
 * ServiceAccount, named by a SPIFFE ID): source address -> small node-local
 * number in msm_identities; an address not there is MSM_IDENTITY_WORLD. A
 * group with MSM_GROUP_F_IDENTITY relays only senders whose number is listed
 * for it in msm_group_allow (WORLD may be listed too). msm_identity_names holds
 * the SPIFFE IDs for people ('msm fanout', 'msm flows'); no program reads it. */
enum msm_identities {
	MSM_IDENTITY_WORLD = 0,	     /* no identity: outside the cluster, or not (yet) known */
	MSM_IDENTITY_NAME_LEN = 256, /* bytes of msm_identity_name.name, NUL included */
};

/* skb->mark of a packet the agent injects through BPF_PROG_TEST_RUN (an
 * interleaved RTSP publisher's media, already authorised on its connection):
 * MSM_GROUP_F_IDENTITY does not check its source, and clears the mark. Packets
 * that arrive from a device carry no such mark (a veth scrubs it crossing
 * namespaces; only the node's root could set it). */
enum msm_marks {
	MSM_MARK_INJECTED = 0x6d736d69, /* "imsm" little endian */
};

/* key of msm_identities: one address (not a prefix) */
struct msm_identity_key {
	__u8 family; /* MSM_FAMILY_IPV4 / MSM_FAMILY_IPV6 */
	__u8 pad[3];
	__u32 addr[4]; /* network order; IPv4 in addr[0], rest zero */
};

struct msm_source_identity {
	__u32 identity; /* never MSM_IDENTITY_WORLD (the address is removed instead) */
	__u32 pad;
};

struct msm_identity_name {
	char name[MSM_IDENTITY_NAME_LEN]; /* "spiffe://td/ns/x/sa/y", NUL-terminated */
};

/* key of msm_group_allow: identity may feed group_id (value: __u32, 1) */
struct msm_allow_key {
	__u32 group_id; /* msm_fanout_group.group_id */
	__u32 identity; /* may be MSM_IDENTITY_WORLD: senders with no identity */
};

/* ---- XDP protection ----------------------------------------------------- */
struct msm_deny_key {
	__u32 prefixlen; /* LPM: 8 bits family + address prefix length */
	__u8 family;	 /* MSM_FAMILY_IPV4 / MSM_FAMILY_IPV6 */
	__u8 addr[16];	 /* network order; IPv4 in the first 4 bytes */
	__u8 pad[3];
};

/* a new-flow bucket's source: an IPv4 address, or an IPv6 /64 (addr[0..1],
 * addr[2..3] zero) — one host owns a /64 and picks addresses in it freely */
struct msm_ratelimit_key {
	__u8 family;
	__u8 pad[3];
	__u32 addr[4];
};

struct msm_ratelimit_state {
	__u64 tokens; /* nanotokens: 1e9 per flow allowed */
	__u64 last_ns;
	__u64 dropped;
};

/* ---- bookkeeping for the agent (not used by the programs) -------------- */
enum msm_attach_flags {
	MSM_ATTACH_F_TC = 1,	      /* msm's TC filter is attached */
	MSM_ATTACH_F_TC_QDISC = 2,    /* msm created the clsact qdisc */
	MSM_ATTACH_F_XDP = 4,	      /* msm's XDP program is attached */
	MSM_ATTACH_F_XDP_GENERIC = 8, /* ... in generic (skb) mode */
};

struct msm_attachment {
	__u32 flags; /* MSM_ATTACH_F_* */
	__u32 tc_handle;
	__u32 tc_priority;
	__u32 tc_prog_id;
	__u32 xdp_prog_id;
	__u32 pad;
	char ifname[16];
};

/* Default map sizes (io.msm.bpf.DatapathSpec.DEFAULT); the loader may change
 * them before load. A build may change the groups' with
 * -DMSM_BUILD_DEFAULT_GROUPS=n. */
#ifndef MSM_BUILD_DEFAULT_GROUPS
#define MSM_BUILD_DEFAULT_GROUPS 256
#endif
enum msm_map_defaults {
	MSM_DEFAULT_FLOWS = 65536,
	MSM_DEFAULT_GROUPS = MSM_BUILD_DEFAULT_GROUPS,
	MSM_DEFAULT_SUB_IDS = 8192,
	MSM_DEFAULT_DENY = 4096,
	MSM_DEFAULT_RATELIMIT = 65536,
	MSM_DEFAULT_IDENTITIES = 16384,
	MSM_DEFAULT_IDENTITY_NAMES = 4096,
	MSM_DEFAULT_GROUP_ALLOW = 16384,
};

/* ---- game services (msm_game.h) ------------------------------------------
 * A UDP service address:port (a Gateway listener) -> backends chosen per
 * client session by a Maglev table the agent builds (weights as repeated
 * slots); the session is pinned in msm_game_sessions and NATed both ways:
 * client -> service becomes (session's first client address) -> backend,
 * backend -> that address becomes service -> the client's current address.
 * The backend thus always sees one peer per session, also when the client's
 * NAT changes its port (KCP sessions keyed by conversation id). IPv4 only. */
enum msm_game_limits {
	MSM_GAME_MAGLEV_SIZE = 16381, /* prime; slots per service, >= 100 x backends */
	MSM_GAME_MAX_SERVICES = 64,   /* rows of msm_game_maglev, service ids */
	MSM_GAME_MAX_BACKENDS = 4096, /* backend ids */
	MSM_GAME_TOKEN_MAX = 16,      /* longest routing token, bytes */
	MSM_GAME_NO_BACKEND = 0xffffffff,
};

enum msm_game_svc_flags {
	MSM_GAME_F_KCP = 1,   /* session key: KCP conversation id at key_off (LE u32) */
	MSM_GAME_F_TOKEN = 2, /* token routing: the last token_len bytes name the backend */
	/* RakNet: the client GUID of Open Connection Request 2 picks the backend
	 * (a MSM_GAME_KEY_RAKNET session); the client's address session follows it */
	MSM_GAME_F_RAKNET = 4,
};

/* Who may move a session's replies to a new client address (KCP sessions:
 * the key is the conversation id, not the address). Compared with the
 * session's first address; a packet that would rebind against the policy is
 * dropped and counted (rebind_refused). */
enum msm_game_rebind {
	MSM_GAME_REBIND_PORT = 0,   /* default: same IP, another port (NAT rebinding) */
	MSM_GAME_REBIND_PREFIX = 1, /* same IPv4 /24 */
	MSM_GAME_REBIND_ANY = 2,    /* any address: unsafe (a guessed id takes the replies) */
	MSM_GAME_REBIND_NONE = 3,   /* never: only the first address:port */
};

enum msm_game_be_flags {
	MSM_GAME_BE_F_LIVE = 1,	    /* takes new sessions */
	MSM_GAME_BE_F_DRAINING = 2, /* removed/silent: keeps its sessions, takes no new */
};

enum msm_game_key_kind {
	MSM_GAME_KEY_ADDR = 1,	 /* id[0] client address, id[1] client port */
	MSM_GAME_KEY_KCP = 2,	 /* id[0] conversation id */
	MSM_GAME_KEY_TOKEN = 3,	 /* id[0] backend, id[1] client address, id[2] port */
	MSM_GAME_KEY_RAKNET = 4, /* id[0], id[1] the client GUID (8 bytes as they lie) */
};

struct msm_game_svc_key {
	__u32 addr; /* network order */
	__u16 port; /* host order */
	__u8 proto; /* IPPROTO_UDP */
	__u8 pad;
};

struct msm_game_svc {
	__u32 svc_id;	/* row of msm_game_maglev, index of msm_game_svc_stats */
	__u32 flags;	/* MSM_GAME_F_* */
	__u16 key_off;	/* MSM_GAME_F_KCP: offset of the conversation id in the payload */
	__u8 token_len; /* MSM_GAME_F_TOKEN: 1..MSM_GAME_TOKEN_MAX */
	__u8 rebind;	/* MSM_GAME_REBIND_* */
	/* packets in a row from a new address before replies move to it (0, 1: the first) */
	__u16 rebind_confirm;
	__u16 pad;
	__u64 idle_ns; /* a session idle this long picks its backend again */
};

struct msm_game_backend {
	__u32 addr; /* network order */
	__u16 port; /* host order */
	__u16 pad;
	__u32 flags; /* MSM_GAME_BE_F_* */
	__u32 svc_id;
};

struct msm_game_session_key {
	__u32 svc_id;
	__u32 kind; /* MSM_GAME_KEY_* */
	__u32 id[4];
};

struct msm_game_session {
	__u32 backend;	 /* backend id */
	__u32 orig_addr; /* first client address: what the backend sees, network order */
	__u32 cur_addr;	 /* current client address: where replies go */
	__u16 orig_port; /* host order */
	__u16 cur_port;
	__u64 first_ns;
	__u64 last_ns;
	__u64 packets_in;   /* client -> backend */
	__u64 packets_out;  /* backend -> client */
	__u32 rebinds;	    /* times the client's address:port changed */
	__u32 cand_addr;    /* a new address being confirmed (rebind_confirm), network order */
	__u16 cand_port;    /* host order */
	__u16 cand_packets; /* packets in a row from cand_addr:cand_port */
	__u32 pad;
};

/* replies: (backend, the session's first client address) -> session */
struct msm_game_rev_key {
	__u32 backend_addr;
	__u32 client_addr;
	__u16 backend_port;
	__u16 client_port;
};

struct msm_game_rev {
	struct msm_game_session_key session;
	__u32 svc_addr; /* network order */
	__u16 svc_port; /* host order */
	__u16 pad;
};

struct msm_game_token_key {
	__u32 svc_id;
	__u8 token[MSM_GAME_TOKEN_MAX]; /* zero padded */
};

struct msm_game_be_stats {
	__u64 to_packets; /* client -> backend */
	__u64 to_bytes;
	__u64 from_packets; /* backend -> client */
	__u64 from_bytes;
	__u64 sessions; /* sessions that chose this backend */
};

struct msm_game_svc_stats {
	__u64 packets;
	__u64 bytes;
	__u64 sessions;
	__u64 rebinds;
	__u64 no_backend;     /* dropped: the Maglev slot had no live backend */
	__u64 token_unknown;  /* dropped: no known token at the end of the packet */
	__u64 errors;	      /* dropped: rewrite failed */
	__u64 rebind_refused; /* dropped: a new client address the rebind policy refuses */
};

enum msm_game_map_defaults {
	MSM_DEFAULT_GAME_SERVICES = 256,
	MSM_DEFAULT_GAME_SESSIONS = 65536,
	MSM_DEFAULT_GAME_TOKENS = 16384,
};

#endif /* MSM_SHARED_H */
