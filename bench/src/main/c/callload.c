// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * callload — one side of N concurrent calls for the SIP media race (bench/,
 * SipMediaRace): per call one UDP socket on LOCAL:BASE+2i, sending RTP of
 * --size bytes (G.711: 172 = 12 header + 160 payload) at --rate packets a
 * second to that call's relay port, and receiving what the relay sends back.
 *
 *   callload --local IP --base PORT --dsts FILE [--rate 50] [--size 172]
 *            [--duration S] [--warmup S]
 *
 * FILE has one "IP PORT" line per call (where the relay takes the call's
 * media from this side). Every packet carries struct msm_bench_stamp
 * (CLOCK_MONOTONIC send time; namespaces share the clock), so the receiving
 * side's callload measures one-way latency. Both sides start at --t0 (a
 * CLOCK_MONOTONIC time in ns); packets sent in the first --warmup seconds
 * are counted neither as sent nor as received. Between sends it sleeps in epoll_wait (1 ms at most), so the
 * generators leave the CPU to the relays. Prints one line of key=value: calls, sent_all, sent (counted), received, lat_p50_us,
 * lat_p99_us, lat_max_us, send_errors, seq_gaps, user_us, sys_us (its own CPU,
 * which on veth includes the node's receive path run in its send context).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msm_bench.h"

#define MAX_CALLS 5000
#define HIST_US	  200000 /* 1 µs buckets up to 200 ms */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static uint32_t hist[HIST_US + 1];

static uint64_t percentile(uint64_t n, double p)
{
	uint64_t want = (uint64_t)(n * p), seen = 0;

	for (int i = 0; i <= HIST_US; i++) {
		seen += hist[i];
		if (seen > want)
			return i;
	}
	return HIST_US;
}

int main(int argc, char **argv)
{
	const char *local = NULL, *dsts = NULL;
	int base = 0, size = 172;
	double rate = 50, duration = 10, warmup = 1;
	uint64_t t0 = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--local"))
			local = argv[i + 1];
		else if (!strcmp(argv[i], "--base"))
			base = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--dsts"))
			dsts = argv[i + 1];
		else if (!strcmp(argv[i], "--rate"))
			rate = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--size"))
			size = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--duration"))
			duration = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--warmup"))
			warmup = atof(argv[i + 1]);
		else if (!strcmp(argv[i], "--t0"))
			t0 = strtoull(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "callload: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (!local || !base || !dsts || size < (int)(12 + sizeof(struct msm_bench_stamp)) ||
	    size > 1472) {
		fprintf(stderr, "usage: callload --local IP --base PORT --dsts FILE [--rate R] "
				"[--size B] [--duration S] [--warmup S]\n");
		return 2;
	}
	static struct sockaddr_in dst[MAX_CALLS];
	static int fd[MAX_CALLS];
	static uint16_t seq[MAX_CALLS];
	static uint16_t last_seq[MAX_CALLS];
	static uint8_t seen[MAX_CALLS];
	int n = 0;
	FILE *f = fopen(dsts, "r");
	char ip[64];
	int port;

	if (!f) {
		perror(dsts);
		return 1;
	}
	while (n < MAX_CALLS && fscanf(f, "%63s %d", ip, &port) == 2) {
		dst[n].sin_family = AF_INET;
		dst[n].sin_port = htons(port);
		inet_pton(AF_INET, ip, &dst[n].sin_addr);
		n++;
	}
	fclose(f);
	struct rlimit rl = { MAX_CALLS + 64, MAX_CALLS + 64 };

	setrlimit(RLIMIT_NOFILE, &rl);
	int ep = epoll_create1(0);

	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(base + 2 * i) };
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		inet_pton(AF_INET, local, &a.sin_addr);
		fd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (fd[i] < 0 || bind(fd[i], (struct sockaddr *)&a, sizeof(a))) {
			fprintf(stderr, "callload: bind %s:%d: %s\n", local, base + 2 * i,
				strerror(errno));
			return 1;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &ev);
	}
	uint8_t pkt[1500], in[2048];
	if (t0) { /* both sides start together */
		struct timespec at = { .tv_sec = t0 / 1000000000ull,
				       .tv_nsec = t0 % 1000000000ull };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) == EINTR)
			;
	}
	uint64_t start = now_ns(), sent = 0, counted = 0, received = 0, errors = 0, gaps = 0,
		 lat_max = 0;
	uint64_t end = start + (uint64_t)(duration * 1e9);
	uint64_t count_from = start + (uint64_t)(warmup * 1e9);
	double total_rate = rate * n;
	int next = 0;
	uint32_t ssrc = getpid();

	memset(pkt, 0, sizeof(pkt));
	pkt[0] = 0x80;
	pkt[1] = 8; /* PCMA */
	while (1) {
		uint64_t t = now_ns();

		if (t >= end + 200000000ull) /* 200 ms to drain */
			break;
		if (t < end) {
			uint64_t due = (uint64_t)(total_rate * (t - start) / 1e9);

			for (int k = 0; sent < due && k < 256; k++) {
				int i = next;
				struct msm_bench_stamp st = { .sent_ns = now_ns(),
							      .magic = MSM_BENCH_MAGIC };

				next = (next + 1) % n;
				pkt[2] = seq[i] >> 8;
				pkt[3] = seq[i];
				seq[i]++;
				uint32_t ts = htonl((uint32_t)(seq[i] * 160)), ss = htonl(ssrc + i);

				memcpy(pkt + 4, &ts, 4);
				memcpy(pkt + 8, &ss, 4);
				memcpy(pkt + 12, &st, sizeof(st));
				if (sendto(fd[i], pkt, size, 0, (struct sockaddr *)&dst[i],
					   sizeof(dst[i])) < 0)
					errors++;
				sent++;
				if (st.sent_ns >= count_from)
					counted++;
			}
		}
		struct epoll_event evs[64];
		/* sleep until a packet arrives or the next millisecond's packets are due: the
		 * generators must not take the CPU the relays are measured on */
		int k = epoll_wait(ep, evs, 64, 1);

		for (int e = 0; e < k; e++) {
			int i = evs[e].data.u32;
			ssize_t r;

			while ((r = recv(fd[i], in, sizeof(in), 0)) > 0) {
				struct msm_bench_stamp st;
				uint64_t now = now_ns();

				if (r < (ssize_t)(12 + sizeof(st)))
					continue;
				memcpy(&st, in + 12, sizeof(st));
				if (st.magic != MSM_BENCH_MAGIC || st.sent_ns < count_from)
					continue;
				uint16_t s = (in[2] << 8) | in[3];

				if (seen[i] && (uint16_t)(s - last_seq[i]) != 1)
					gaps++;
				seen[i] = 1;
				last_seq[i] = s;
				received++;
				uint64_t us = now > st.sent_ns ? (now - st.sent_ns) / 1000 : 0;

				if (us > lat_max)
					lat_max = us;
				hist[us > HIST_US ? HIST_US : us]++;
			}
		}
	}
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	printf("calls=%d sent_all=%llu sent=%llu received=%llu lat_p50_us=%llu lat_p99_us=%llu "
	       "lat_max_us=%llu "
	       "send_errors=%llu seq_gaps=%llu user_us=%llu sys_us=%llu\n",
	       n, (unsigned long long)sent, (unsigned long long)counted,
	       (unsigned long long)received, (unsigned long long)percentile(received, 0.50),
	       (unsigned long long)percentile(received, 0.99), (unsigned long long)lat_max,
	       (unsigned long long)errors, (unsigned long long)gaps,
	       (unsigned long long)(ru.ru_utime.tv_sec * 1000000ull + ru.ru_utime.tv_usec),
	       (unsigned long long)(ru.ru_stime.tv_sec * 1000000ull + ru.ru_stime.tv_usec));
	return 0;
}
