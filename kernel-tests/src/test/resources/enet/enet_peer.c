/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * enet_peer.c — real ENet (libenet) peers for the game-service tests
 * (kernel-tests GameEnetTest builds it with gcc ... -lenet).
 *
 *   enet_peer server BIND_IP PORT NAME
 *       answers every packet with "NAME|<the packet>" on the same channel;
 *       prints "ready" once bound, runs until killed
 *   enet_peer clients SVC_IP SVC_PORT BIND_IP FIRST_PORT COUNT TIMEOUT_MS
 *       COUNT ENet hosts bound to BIND_IP:FIRST_PORT.. each connect to the
 *       service, send "hello PORT" and print "PORT NAME" for the answer
 *       ("PORT -" when none came in TIMEOUT_MS); then "done". Each line "again"
 *       on stdin: every connected host sends "again PORT" over its connection
 *       and the answers are printed the same way; EOF ends it
 */
#include <enet/enet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int server(const char *ip, int port, const char *name)
{
	ENetAddress a;
	enet_address_set_host_ip(&a, ip);
	a.port = (enet_uint16)port;
	ENetHost *h = enet_host_create(&a, 4095, 2, 0, 0);
	if (!h) {
		fprintf(stderr, "cannot bind %s:%d\n", ip, port);
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	char buf[1500];
	for (;;) {
		ENetEvent ev;
		int rc = enet_host_service(h, &ev, 1000);
		if (rc < 0)
			return 3;
		if (rc == 0 || ev.type != ENET_EVENT_TYPE_RECEIVE)
			continue;
		int n = snprintf(buf, sizeof(buf), "%s|%.*s", name, (int)ev.packet->dataLength,
				 (const char *)ev.packet->data);
		if (n > (int)sizeof(buf) - 1)
			n = sizeof(buf) - 1;
		ENetPacket *p = enet_packet_create(buf, (size_t)n + 1, ENET_PACKET_FLAG_RELIABLE);
		enet_peer_send(ev.peer, ev.channelID, p);
		enet_packet_destroy(ev.packet);
		enet_host_flush(h);
	}
}

static int clients(const char *svc, int svc_port, const char *ip, int first, int count,
		   int timeout_ms)
{
	ENetHost **hosts = calloc((size_t)count, sizeof(*hosts));
	char **answer = calloc((size_t)count, sizeof(*answer));
	int *sent = calloc((size_t)count, sizeof(*sent));
	if (!hosts || !answer || !sent)
		return 2;
	ENetAddress to;
	enet_address_set_host_ip(&to, svc);
	to.port = (enet_uint16)svc_port;
	for (int i = 0; i < count; i++) {
		ENetAddress a;
		enet_address_set_host_ip(&a, ip);
		a.port = (enet_uint16)(first + i);
		hosts[i] = enet_host_create(&a, 1, 2, 0, 0);
		if (!hosts[i]) {
			fprintf(stderr, "cannot bind %s:%d\n", ip, first + i);
			return 2;
		}
		if (!enet_host_connect(hosts[i], &to, 2, 0))
			return 2;
	}
	ENetPeer **peer = calloc((size_t)count, sizeof(*peer));
	if (!peer)
		return 2;
	int left = count;
	char line[64];
	for (int round = 0;; round++) {
		if (round > 0) {
			if (!fgets(line, sizeof(line), stdin))
				break;
			left = 0;
			for (int i = 0; i < count; i++) {
				free(answer[i]);
				answer[i] = NULL;
				if (!peer[i])
					continue;
				char msg[32];
				int n = snprintf(msg, sizeof(msg), "again %d", first + i);
				ENetPacket *p = enet_packet_create(msg, (size_t)n + 1,
								   ENET_PACKET_FLAG_RELIABLE);
				enet_peer_send(peer[i], 0, p);
				left++;
			}
		}
		enet_uint32 start = enet_time_get();
		while (left > 0 && enet_time_get() - start < (enet_uint32)timeout_ms) {
			for (int i = 0; i < count; i++) {
				ENetEvent ev;
				while (enet_host_service(hosts[i], &ev, 0) > 0) {
					if (ev.type == ENET_EVENT_TYPE_CONNECT && !sent[i]) {
						char msg[32];
						int n = snprintf(msg, sizeof(msg), "hello %d",
								 first + i);
						ENetPacket *p = enet_packet_create(
							msg, (size_t)n + 1,
							ENET_PACKET_FLAG_RELIABLE);
						enet_peer_send(ev.peer, 0, p);
						peer[i] = ev.peer;
						sent[i] = 1;
					} else if (ev.type == ENET_EVENT_TYPE_RECEIVE) {
						if (!answer[i]) {
							answer[i] = strndup(
								(const char *)ev.packet->data,
								ev.packet->dataLength);
							left--;
						}
						enet_packet_destroy(ev.packet);
					} else if (ev.type == ENET_EVENT_TYPE_DISCONNECT) {
						peer[i] = NULL;
					}
				}
			}
			struct timespec ts = { 0, 2000000 };
			nanosleep(&ts, NULL);
		}
		for (int i = 0; i < count; i++) {
			const char *name = "-";
			if (answer[i]) {
				char *bar = strchr(answer[i], '|');
				if (bar)
					*bar = 0;
				name = answer[i];
			}
			printf("%d %s\n", first + i, name);
		}
		printf("done\n");
		fflush(stdout);
	}
	for (int i = 0; i < count; i++) {
		enet_host_flush(hosts[i]);
		enet_host_destroy(hosts[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (enet_initialize() != 0)
		return 2;
	if (argc == 5 && !strcmp(argv[1], "server"))
		return server(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 8 && !strcmp(argv[1], "clients"))
		return clients(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]), atoi(argv[6]),
			       atoi(argv[7]));
	fprintf(stderr, "usage: see enet_peer.c\n");
	return 2;
}
