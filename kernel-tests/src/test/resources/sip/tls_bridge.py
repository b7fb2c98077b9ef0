#!/usr/bin/env python3
"""A TCP-to-TLS bridge for the SIP TLS kernel test (sipp here is built without TLS).

Listens on TCP LISTEN_IP:LISTEN_PORT; each connection is carried over a new TLS connection to
TARGET_IP:TARGET_PORT, whose certificate must chain to CAFILE and name TARGET_IP. Prints one line
per TLS connection (protocol, peer certificate subject) and the bytes carried each way.
"""
import socket
import ssl
import sys
import threading

listen_ip, listen_port, target_ip, target_port, cafile = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=cafile)  # verifies the chain and the IP SAN


def pump(src, dst, name, counts):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
            counts[name] += len(b)
    except OSError:
        pass
    finally:
        print(f"{name} {counts[name]} bytes", flush=True)
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(conn):
    raw = socket.create_connection((target_ip, int(target_port)), timeout=5)
    tls = ctx.wrap_socket(raw, server_hostname=target_ip)
    tls.settimeout(None)
    print(f"tls {tls.version()} to {target_ip}:{target_port} subject {tls.getpeercert()['subject']}",
          flush=True)
    counts = {"to_msm": 0, "from_msm": 0}
    threading.Thread(target=pump, args=(conn, tls, "to_msm", counts), daemon=True).start()
    pump(tls, conn, "from_msm", counts)


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((listen_ip, int(listen_port)))
srv.listen(8)
print("listening", flush=True)
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
