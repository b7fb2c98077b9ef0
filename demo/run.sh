#!/usr/bin/env bash
# make demo: the RTSP proxy with in-kernel fan-out, in a local namespace "cluster".
#
#   camera ns ──(ffmpeg publishes H.264 over RTSP)──> node ns: msm-agent ──(kernel copies)──> viewer ns × N
#
# A camera namespace runs ffmpeg publishing a test pattern (ANNOUNCE/RECORD);
# the node namespace runs msm-agent (eBPF datapath + RTSP proxy); viewer
# namespaces run real players (ffmpeg and GStreamer, over UDP and TCP).
# Every few seconds it prints the frames each player decoded, 'msm fanout'
# (the kernel's fan-out groups and their subscribers) and 'msm flows'.
#
# Needs root. DEMO_SECONDS (default 45), DEMO_VIEWERS (default 6, up to 40),
# DEMO_USERSPACE=1 runs the agent with --userspace for comparison.
# Ctrl-C (or the end) removes every namespace, process and pin it made.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ "$(id -u)" != 0 ]; then
  echo "make demo needs root (it creates network namespaces and loads eBPF programs): sudo make demo" >&2
  exit 1
fi
for tool in ip ffmpeg gst-launch-1.0 java; do
  command -v "$tool" >/dev/null || { echo "demo: $tool is missing: run 'make deps'" >&2; exit 1; }
done
for jar in agent/target/msm-agent.jar cli/target/msm.jar; do
  [ -f "$jar" ] || { echo "demo: $jar is not built: run 'make build'" >&2; exit 1; }
done

SECONDS_TOTAL=${DEMO_SECONDS:-45}
VIEWERS=${DEMO_VIEWERS:-6}
[ "$VIEWERS" -ge 1 ] && [ "$VIEWERS" -le 40 ] || { echo "demo: DEMO_VIEWERS must be 1..40" >&2; exit 2; }
ID=d$(tr -dc 'a-z0-9' </dev/urandom | head -c 5 || true)
CAM=$ID-cam NODE=$ID-node
PINS=/sys/fs/bpf/msm-demo-$ID
WORK=$(mktemp -d /tmp/msm-demo-$ID.XXXX)
PIDS=()
NSS=()

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping players, publisher and agent; removing namespaces and pins"
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do # up to 5 s for an orderly stop
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -d "$PINS" ]; then
    nsenter --net=/var/run/netns/"$NODE" java -jar agent/target/msm-agent.jar cleanup --bpffs "$PINS" >/dev/null 2>&1 || true
    rm -rf "$PINS"
  fi
  for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
  echo "demo: done"
}
trap cleanup INT TERM EXIT

netns() { ip netns add "$1"; NSS+=("$1"); ip -n "$1" link set lo up;
          ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; }
link() { # link NS_A IF_A ADDR_A NS_B IF_B ADDR_B
  ip -n "$1" link add "$2" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"; ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up; ip -n "$4" link set "$5" up
}

echo "demo: building the namespace cluster $ID-* (camera, node, $VIEWERS viewers)"
netns "$CAM"; netns "$NODE"
ip netns exec "$NODE" sysctl -q -w net.ipv4.ip_forward=1
link "$NODE" n-cam 10.77.1.1/24 "$CAM" cam0 10.77.1.2/24
ip -n "$CAM" route add default via 10.77.1.1
for i in $(seq 1 "$VIEWERS"); do
  netns "$ID-v$i"
  link "$NODE" n-v$i 10.77.$((10 + i)).1/24 "$ID-v$i" v0 10.77.$((10 + i)).2/24
  ip -n "$ID-v$i" route add default via 10.77.$((10 + i)).1
done

MODE_ARGS=()
[ "${DEMO_USERSPACE:-0}" = 1 ] && MODE_ARGS=(--userspace)
IFACES=n-cam
for i in $(seq 1 "$VIEWERS"); do IFACES+=", n-v$i"; done
# interfaces named, not the default set: links made a moment ago may not count as running yet
cat > "$WORK/agent.yaml" <<YAML
interfaces: [$IFACES]
bpffs: $PINS
rtsp-listen: 0.0.0.0:8554
metrics-listen: 127.0.0.1:9469
sip-listen: 127.0.0.1:5060
rtsp:
  session-timeout: 30s
  # nobody may publish by default: the camera's link may (ANNOUNCE from elsewhere gets 403)
  defaults: {publish: {from: [10.77.1.0/24]}}
YAML
echo "demo: starting msm-agent in $NODE (log: $WORK/agent.log)"
nsenter --net=/var/run/netns/"$NODE" java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -jar agent/target/msm-agent.jar \
  --config "$WORK/agent.yaml" "${MODE_ARGS[@]}" >"$WORK/agent.log" 2>&1 &
PIDS+=($!)
AGENT=$!

http() { # GET a path from the agent's metrics endpoint inside the node namespace
  ip netns exec "$NODE" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9469 && printf "GET %s HTTP/1.0\r\n\r\n" "$1" >&3 && cat <&3' _ "$1" 2>/dev/null || true
}
for _ in $(seq 1 100); do
  http /readyz | grep -q '^ready' && break
  kill -0 "$AGENT" 2>/dev/null || { echo "demo: msm-agent exited:" >&2; tail -20 "$WORK/agent.log" >&2; exit 1; }
  sleep 0.3
done
http /readyz | grep -q '^ready' || { echo "demo: msm-agent not ready:" >&2; tail -20 "$WORK/agent.log" >&2; exit 1; }
grep -v '^libbpf' "$WORK/agent.log" | sed 's/^/  agent| /' | head -12

URL=rtsp://10.77.1.1:8554/cam
echo "demo: camera publishes an H.264 test pattern to $URL (ffmpeg, ANNOUNCE/RECORD over UDP)"
ip netns exec "$CAM" ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i testsrc=size=640x360:rate=25 \
  -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -f rtsp -rtsp_transport udp "$URL" >"$WORK/camera.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do
  http /metrics | grep -q 'msm_rtsp_path_publishing{path="cam"} 1' && break
  sleep 0.2
done
sleep 1.5 # the next key frame and its parameter sets

KINDS=(ffmpeg/udp gst/udp ffmpeg/tcp ffmpeg/udp gst/udp gst/tcp)
declare -A KIND
for i in $(seq 1 "$VIEWERS"); do
  k=${KINDS[$(((i - 1) % ${#KINDS[@]}))]}
  KIND[$i]=$k
  u=rtsp://10.77.$((10 + i)).1:8554/cam # each viewer reaches the node on its own link
  case $k in
    ffmpeg/*) ip netns exec "$ID-v$i" ffmpeg -hide_banner -nostdin -loglevel error -rtsp_transport "${k#*/}" -i "$u" \
                -progress "$WORK/v$i.progress" -f null - >"$WORK/v$i.log" 2>&1 & ;;
    gst/*)    ip netns exec "$ID-v$i" gst-launch-1.0 -e -v rtspsrc location="$u" protocols="${k#*/}" latency=200 \
                ! rtph264depay ! h264parse ! avdec_h264 ! fakesink name=out silent=false sync=false >"$WORK/v$i.log" 2>&1 & ;;
  esac
  PIDS+=($!)
done
echo "demo: $VIEWERS viewers playing $URL through msm (${KINDS[*]:0:$VIEWERS})"
echo "demo: watch it yourself (needs a display): ip netns exec $ID-v1 ffplay -rtsp_transport udp rtsp://10.77.11.1:8554/cam"
echo "demo: metrics: ip netns exec $NODE curl -s 127.0.0.1:9469/metrics | grep msm_rtsp"

frames() { # frames decoded by viewer $1
  case ${KIND[$1]} in
    ffmpeg/*) grep -o '^frame=[0-9]*' "$WORK/v$1.progress" 2>/dev/null | tail -1 | cut -d= -f2 ;;
    gst/*)    grep -c 'GstFakeSink:out: last-message = chain' "$WORK/v$1.log" 2>/dev/null ;;
  esac
}
udp_out() { ip netns exec "$NODE" awk '/^Udp:/ { if (seen) { for (i = 1; i <= NF; i++) if (h[i] == "OutDatagrams") print $i } else { split($0, h); seen = 1 } }' /proc/net/snmp; }

# nsenter --net, not 'ip netns exec': the latter mounts a private /sys, hiding the pinned maps
MSM=("$ROOT/bin/msm" --bpffs "$PINS")
START=$(date +%s)
OUT0=$(udp_out)
while :; do
  sleep 5
  now=$(($(date +%s) - START))
  echo
  echo "=== demo +${now}s ($([ ${#MODE_ARGS[@]} -gt 0 ] && echo userspace || echo kernel) mode) ==="
  line="frames decoded:"
  for i in $(seq 1 "$VIEWERS"); do line+=" v$i(${KIND[$i]})=$(frames "$i")"; done
  echo "$line"
  copies=$(http /metrics | grep '^msm_stream_copies_total{stream="rtsp/cam/track0/rtp"}' | awk '{printf "%d", $2}')
  echo "RTP copies to UDP viewers so far: ${copies:-0}; UDP datagrams the node's userspace sent: $(($(udp_out) - OUT0))"
  echo "--- msm fanout"
  if [ ${#MODE_ARGS[@]} -eq 0 ]; then
    nsenter --net=/var/run/netns/"$NODE" "${MSM[@]}" fanout 2>&1 | head -30
    echo "--- msm flows"
    nsenter --net=/var/run/netns/"$NODE" "${MSM[@]}" flows 2>&1 | head -8
  else
    echo "(userspace mode: no kernel groups; the agent's relays make the copies)"
  fi
  [ "$now" -ge "$SECONDS_TOTAL" ] && break
done
