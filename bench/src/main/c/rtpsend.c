// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * rtpsend — the fan-out benchmark's sender: RTP packets at a controlled rate.
 *
 *   rtpsend --ifname s0 --src-mac M --dst-mac M --src IP:PORT --dst IP:PORT
 *           [--rate PPS (0: as fast as possible)] [--duration S] [--seq N]
 *           [--size BYTES] [--batch N] [--burst N] [--sessions N] [--udp]
 *
 * Every packet carries a valid RTP header (version 2, payload type 96,
 * sequence number +1 per packet, 90 kHz timestamp) followed by struct
 * msm_bench_stamp (CLOCK_MONOTONIC send time, magic), then filler up to
 * --size bytes of UDP payload. The receiver (msm_bench_sink) reads them.
 *
 * Default mode: whole frames through an AF_PACKET socket that bypasses the
 * qdisc, in batches of sendmmsg, each with a virtio-net header asking for
 * the UDP checksum to be completed downstream (CHECKSUM_PARTIAL) — exactly
 * what a local UDP socket hands a veth, minus the sender's own UDP/IP/route
 * work, so one core offers several times what the node under test forwards.
 * --udp sends through an ordinary UDP socket instead (for comparison).
 * --sessions N (AF_PACKET only) spreads the packets round-robin over N
 * source ports, PORT .. PORT+N-1 of --src: N client sessions for the game
 * benchmark (the partial checksum covers no port, so it stays valid).
 * --burst N (<= --batch) holds packets until N are due and sends them
 * together, as a NIC's interrupt coalescing hands the node a batch per
 * interrupt (at a paced rate the default, 1, sends each packet when due).
 *
 * Pacing: packets are due at rate * elapsed; each round sends what is due
 * (at most --batch) and otherwise spins on sched_yield(): the sender owns
 * its core (taskset), spinning keeps wake-up latency out of the measurement,
 * and yielding lets softirq work deferred to ksoftirqd on that core run.
 *
 * Prints one line of key=value when done: sent, errors, elapsed_ns,
 * rate_pps, user_ns, sys_ns, next_seq.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msm_bench.h"

#define MAX_BATCH 64
#define MAX_SIZE  1472

struct opts {
	const char *ifname;
	uint8_t src_mac[6], dst_mac[6];
	struct sockaddr_in src, dst;
	double rate, duration;
	unsigned seq, size, batch, burst, sessions;
	int udp;
};

static void die(const char *what)
{
	fprintf(stderr, "rtpsend: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(const char *why)
{
	fprintf(stderr,
		"rtpsend: %s\nusage: rtpsend --ifname IF --src-mac MAC --dst-mac MAC --src IP:PORT "
		"--dst IP:PORT [--rate PPS] [--duration S] [--seq N] [--size BYTES] [--batch N] "
		"[--burst N] [--sessions N] [--udp]\n",
		why);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void parse_mac(const char *s, uint8_t *m)
{
	if (sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) !=
	    6)
		usage("bad MAC address");
}

static void parse_hostport(const char *s, struct sockaddr_in *a)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || colon - s >= (long)sizeof(host))
		usage("expected IP:PORT");
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons(atoi(colon + 1));
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
		usage("bad IPv4 address");
}

static uint32_t sum16(const void *p, size_t n, uint32_t acc)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		acc += (uint32_t)b[n - 1] << 8;
	return acc;
}

static uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The frame as it leaves: [virtio_net_hdr][eth][ip][udp][rtp][stamp][filler] */
struct frame {
	struct virtio_net_hdr vnet;
	uint8_t eth[14];
	struct iphdr ip;
	struct udphdr udp;
	uint8_t payload[MAX_SIZE];
} __attribute__((packed));

static void build_frame(struct frame *f, const struct opts *o)
{
	memset(f, 0, sizeof(*f));
	unsigned udp_len = sizeof(struct udphdr) + o->size;
	f->vnet.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	f->vnet.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	f->vnet.csum_start = 14 + sizeof(struct iphdr);
	f->vnet.csum_offset = offsetof(struct udphdr, check);
	memcpy(f->eth, o->dst_mac, 6);
	memcpy(f->eth + 6, o->src_mac, 6);
	f->eth[12] = 0x08;
	f->eth[13] = 0x00;
	f->ip.version = 4;
	f->ip.ihl = 5;
	f->ip.ttl = 64;
	f->ip.protocol = IPPROTO_UDP;
	f->ip.frag_off = htons(IP_DF);
	f->ip.tot_len = htons(sizeof(struct iphdr) + udp_len);
	f->ip.saddr = o->src.sin_addr.s_addr;
	f->ip.daddr = o->dst.sin_addr.s_addr;
	f->ip.check = htons((uint16_t)~fold(sum16(&f->ip, sizeof(f->ip), 0)));
	f->udp.source = o->src.sin_port;
	f->udp.dest = o->dst.sin_port;
	f->udp.len = htons(udp_len);
	/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum, not inverted */
	uint32_t ph = sum16(&f->ip.saddr, 8, 0) + IPPROTO_UDP + udp_len;
	f->udp.check = htons(fold(ph));
	uint8_t *rtp = f->payload;
	rtp[0] = 0x80;
	rtp[1] = 96;
	memcpy(rtp + 8, "msmb", 4); /* SSRC */
	for (unsigned i = 12 + sizeof(struct msm_bench_stamp); i < o->size; i++)
		rtp[i] = (uint8_t)i;
}

static void stamp(uint8_t *rtp, uint16_t seq, uint64_t t)
{
	uint32_t ts = htonl((uint32_t)(t / 100000 * 9)); /* 90 kHz */
	uint16_t s = htons(seq);
	memcpy(rtp + 2, &s, 2);
	memcpy(rtp + 4, &ts, 4);
	struct msm_bench_stamp st = { .sent_ns = t, .magic = MSM_BENCH_MAGIC };
	memcpy(rtp + 12, &st, sizeof(st));
}

int main(int argc, char **argv)
{
	struct opts o = {
		.rate = 0, .duration = 1, .size = 1200, .batch = 32, .burst = 1, .sessions = 1
	};
	int have_src = 0, have_dst = 0, have_smac = 0, have_dmac = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--udp")) {
			o.udp = 1;
			continue;
		}
		if (!v)
			usage("missing value");
		i++;
		if (!strcmp(a, "--ifname"))
			o.ifname = v;
		else if (!strcmp(a, "--src-mac")) {
			parse_mac(v, o.src_mac);
			have_smac = 1;
		} else if (!strcmp(a, "--dst-mac")) {
			parse_mac(v, o.dst_mac);
			have_dmac = 1;
		} else if (!strcmp(a, "--src")) {
			parse_hostport(v, &o.src);
			have_src = 1;
		} else if (!strcmp(a, "--dst")) {
			parse_hostport(v, &o.dst);
			have_dst = 1;
		} else if (!strcmp(a, "--rate"))
			o.rate = atof(v);
		else if (!strcmp(a, "--duration"))
			o.duration = atof(v);
		else if (!strcmp(a, "--seq"))
			o.seq = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--size"))
			o.size = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--batch"))
			o.batch = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--burst"))
			o.burst = strtoul(v, NULL, 0);
		else if (!strcmp(a, "--sessions"))
			o.sessions = strtoul(v, NULL, 0);
		else
			usage("unknown option");
	}
	if (!have_src || !have_dst)
		usage("--src and --dst are required");
	if (!o.udp && (!o.ifname || !have_smac || !have_dmac))
		usage("--ifname, --src-mac and --dst-mac are required (or --udp)");
	if (o.size < 12 + sizeof(struct msm_bench_stamp) || o.size > MAX_SIZE)
		usage("--size out of range");
	if (o.batch < 1 || o.batch > MAX_BATCH)
		usage("--batch must be 1..64");
	if (o.burst < 1 || o.burst > o.batch)
		usage("--burst must be 1..--batch");
	if (o.sessions < 1 || ntohs(o.src.sin_port) + o.sessions - 1 > 65535 ||
	    (o.udp && o.sessions > 1))
		usage("--sessions must be 1..(65536 - source port), and 1 with --udp");

	static struct frame frames[MAX_BATCH];
	struct mmsghdr msgs[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	struct sockaddr_ll ll = { 0 };
	int fd;
	memset(msgs, 0, sizeof(msgs));
	for (unsigned i = 0; i < o.batch; i++)
		build_frame(&frames[i], &o);

	if (o.udp) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			die("socket(AF_INET)");
		if (bind(fd, (struct sockaddr *)&o.src, sizeof(o.src)))
			die("bind");
		if (connect(fd, (struct sockaddr *)&o.dst, sizeof(o.dst)))
			die("connect");
		for (unsigned i = 0; i < o.batch; i++) {
			iov[i].iov_base = frames[i].payload;
			iov[i].iov_len = o.size;
		}
	} else {
		fd = socket(AF_PACKET, SOCK_RAW, 0); /* protocol 0: never receives */
		if (fd < 0)
			die("socket(AF_PACKET)");
		int one = 1;
		if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)))
			die("PACKET_VNET_HDR");
		if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)))
			die("PACKET_QDISC_BYPASS");
		ll.sll_family = AF_PACKET;
		ll.sll_protocol = htons(ETH_P_IP);
		ll.sll_ifindex = if_nametoindex(o.ifname);
		if (!ll.sll_ifindex)
			die(o.ifname);
		ll.sll_halen = 6;
		memcpy(ll.sll_addr, o.dst_mac, 6);
		for (unsigned i = 0; i < o.batch; i++) {
			iov[i].iov_base = &frames[i];
			iov[i].iov_len = sizeof(struct virtio_net_hdr) + 14 + sizeof(struct iphdr) +
					 sizeof(struct udphdr) + o.size;
			msgs[i].msg_hdr.msg_name = &ll;
			msgs[i].msg_hdr.msg_namelen = sizeof(ll);
		}
	}
	/* A large send buffer: with the default (208 kB, ~170 packets) a local
	 * sender blocks until the node has consumed its packets — backpressure
	 * that no real network gives, and that would hide the node's drops. */
	int sndbuf = 64 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	for (unsigned i = 0; i < o.batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	uint64_t t0 = now_ns();
	uint64_t end = t0 + (uint64_t)(o.duration * 1e9);
	uint64_t sent = 0, errors = 0;
	uint16_t seq = (uint16_t)o.seq;
	unsigned session = 0;
	for (;;) {
		uint64_t t = now_ns();
		if (t >= end)
			break;
		uint64_t want = o.batch;
		if (o.rate > 0) {
			uint64_t due = (uint64_t)((double)(t - t0) * o.rate / 1e9) + 1;
			if (due < sent + o.burst) {
				/* not due yet: give way to anything runnable here
				 * (ksoftirqd), else come straight back */
				sched_yield();
				continue;
			}
			want = due - sent;
			if (want > o.batch)
				want = o.batch;
		}
		for (unsigned i = 0; i < want; i++) {
			stamp(frames[i].payload, (uint16_t)(seq + i), t);
			if (o.sessions > 1) {
				frames[i].udp.source = htons(ntohs(o.src.sin_port) + session);
				session = session + 1 == o.sessions ? 0 : session + 1;
			}
		}
		int n = sendmmsg(fd, msgs, want, 0);
		uint64_t done = n > 0 ? (uint64_t)n : 0;
		if (done < want) {
			/* message `done` failed (e.g. ENOBUFS: the device dropped it):
			 * it used its sequence number, as a loss on a wire would; the
			 * ones after it were not tried and go out next round */
			if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
				die("sendmmsg");
			errors++;
			done++;
		}
		seq += done;
		sent += done;
	}
	uint64_t elapsed = now_ns() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("sent=%llu errors=%llu elapsed_ns=%llu rate_pps=%.0f user_ns=%llu sys_ns=%llu "
	       "next_seq=%u\n",
	       (unsigned long long)sent, (unsigned long long)errors, (unsigned long long)elapsed,
	       (double)(sent - errors) * 1e9 / (double)elapsed,
	       (unsigned long long)(ru.ru_utime.tv_sec * 1000000000ull +
				    ru.ru_utime.tv_usec * 1000ull),
	       (unsigned long long)(ru.ru_stime.tv_sec * 1000000000ull +
				    ru.ru_stime.tv_usec * 1000ull),
	       (unsigned)seq);
	close(fd);
	return 0;
}
