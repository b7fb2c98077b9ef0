#!/usr/bin/env bash
# make image-test: the image, run with podman the way the chart's rendered DaemonSet says.
#
#   image/smoke-test.sh [--no-build]
#     --no-build   use the image and the rendered chart as they are (make test: both fresh)
#
# What it reads from the chart (helm-tests' ImageSmokeRenderTest renders helm/msm with
# image/smoke-values.yaml into helm-tests/target/image-smoke/): the image name; the init
# container's command, script, env and security context; the agent's args, env,
# securityContext (privileged, capabilities drop/add, allowPrivilegeEscalation,
# seccompProfile, readOnlyRootFilesystem), every volume mount with its volume (hostPath,
# emptyDir, the ConfigMap's agent.yaml) and the probes' paths and ports. So the chart and
# the image cannot drift apart unnoticed.
#
# Steps (each timed): build, network namespaces, init container, the agent with the
# chart's Kubernetes side on (no cluster: /readyz must say 503), the agent proper (on
# veths in the test's own "node" namespace, which is the pod's host network), health
# endpoints, programs attached (msm status inside), an RTSP publish (ffmpeg) to a UDP
# viewer (ffmpeg, frames decoded), msm flows with that traffic, a SIP call (sipp),
# a new agent container (pod replacement) that adopts the pinned datapath and restores
# the call from the state volume, the call's BYE through it, a publish + view again,
# a seamless upgrade (a third container takes over the second's sockets and RTSP sessions
# over the handover socket while the viewer keeps decoding), then cleanup: no namespace, link, pin, container or state directory left (trap, also
# on failure). Needs root; bounded (SMOKE_TIMEOUT, default 600 s).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/podman.sh"

# bounded: the whole test under timeout (SMOKE_TIMEOUT s, default 600); its TERM
# runs the cleanup below
if [ -z "${MSM_SMOKE_BOUNDED:-}" ]; then
  MSM_SMOKE_BOUNDED=1 exec timeout -k 60 "${SMOKE_TIMEOUT:-600}" "$0" "$@"
fi
build=1
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    *) echo "usage: image/smoke-test.sh [--no-build]" >&2; exit 2 ;;
  esac
done
# like the kernel tests: skipped without root, except under CI=true, where a skip is a failure
if [ "$(id -u)" != 0 ]; then
  [ "${CI:-}" = true ] && { echo "image-test: needs root (namespaces, BPF, podman); CI=true: failing" >&2; exit 1; }
  echo "image-test: skipped: needs root (namespaces, BPF, podman)" >&2
  exit 0
fi
for tool in podman jq ip ffmpeg sipp curl nsenter; do
  command -v "$tool" >/dev/null || { echo "image-test: $tool is missing: run make deps" >&2; exit 1; }
done

RENDERED="$root/helm-tests/target/image-smoke"
ID="mi$$"                       # namespaces $ID-node, $ID-cam, ...; containers $ID-...
NODE="$ID-node"
HOSTDIR=/run/msm-image-smoke     # the state volume's hostPath lies below it (smoke-values.yaml)
WORK="$(mktemp -d /tmp/msm-image-smoke.XXXX)"
NODE_NAME=smoke-node             # what spec.nodeName would be
PIDS=()
NSS=()
CONTAINERS=()
T0=$SECONDS
STEP_T=$SECONDS
STEP_NAME=""
TIMINGS=()

# Each step prints its name and, when the next begins, how long it took.
step() {
  if [ -n "$STEP_NAME" ]; then
    TIMINGS+=("$(printf '%5d s  %s' $((SECONDS - STEP_T)) "$STEP_NAME")")
  fi
  STEP_NAME="$1"
  STEP_T=$SECONDS
  echo "image-test: [$((SECONDS - T0)) s] $1"
}
fail() {
  echo "image-test: FAILED: $*" >&2
  for c in "${CONTAINERS[@]}"; do
    echo "--- podman logs $c (last 40 lines)" >&2
    podman logs "$c" 2>&1 | tail -40 >&2 || true
  done
  exit 1
}

# ---- cleanup: runs on every exit, leaves nothing behind and says what it found
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  step "cleanup"
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for c in "${CONTAINERS[@]}"; do "${PODMAN[@]}" rm -f -t 5 "$c" >/dev/null 2>&1 || true; done
  # the datapath's own cleanup (detach, unpin), run like the agent, then the directory
  if [ -n "${PINS:-}" ] && [ -d "$PINS" ]; then
    if [ -e "/run/netns/$NODE" ] && [ -n "${IMAGE:-}" ]; then
      "${PODMAN[@]}" run --rm "${PODMAN_LIMITS[@]}" --network "ns:/run/netns/$NODE" --privileged \
        -v /sys/fs/bpf:/sys/fs/bpf "$IMAGE" cleanup --bpffs "$PINS" >/dev/null 2>&1 || true
    fi
    rm -rf "$PINS"
  fi
  # the interception program's pins (kubernetes.intercept.pin-dir; the in-cluster run)
  [ -n "${ICPT_PINS:-}" ] && rm -rf "$ICPT_PINS"
  for n in "${NSS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$HOSTDIR"
  local left=()
  for n in "${NSS[@]}"; do [ -e "/run/netns/$n" ] && left+=("netns $n"); done
  for c in "${CONTAINERS[@]}"; do podman container exists "$c" 2>/dev/null && left+=("container $c"); done
  [ -n "${PINS:-}" ] && [ -e "$PINS" ] && left+=("pins $PINS")
  [ -n "${ICPT_PINS:-}" ] && [ -e "$ICPT_PINS" ] && left+=("pins $ICPT_PINS")
  [ -e "$HOSTDIR" ] && left+=("$HOSTDIR")
  if [ "$(podman volume ls -q | wc -l)" != "${VOLUMES_BEFORE:-0}" ]; then left+=("podman volumes"); fi
  if [ ${#left[@]} -gt 0 ]; then
    echo "image-test: cleanup left: ${left[*]}" >&2
    rc=1
  fi
  [ "$rc" = 0 ] && rm -rf "$WORK" || echo "image-test: logs kept in $WORK" >&2
  step "done"
  echo "image-test: step timings"
  printf '  %s\n' "${TIMINGS[@]}"
  echo "image-test: $([ "$rc" = 0 ] && echo PASSED || echo FAILED) in $((SECONDS - T0)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "image-test: stopped (timeout or signal)" >&2; exit 124' INT TERM
VOLUMES_BEFORE="$(podman volume ls -q | wc -l)"

# ---- the image and the rendered chart
step "image (image/build.sh --no-build: base and layers reused when unchanged)"
if [ "$build" = 1 ]; then
  "$here/build.sh" --no-build | tail -1
fi
stale=0
[ -s "$RENDERED/daemonset.json" ] || stale=1
if [ $stale = 0 ] && [ -n "$(find "$root/helm/msm" "$here/smoke-values.yaml" -newer "$RENDERED/daemonset.json" -type f | head -1)" ]; then
  stale=1
fi
if [ $stale = 1 ]; then
  [ "$build" = 1 ] || fail "no fresh rendered chart in $RENDERED (run without --no-build)"
  step "render the chart (helm-tests ImageSmokeRenderTest)"
  (cd "$root" && ${MVN:-mvn} ${MVN_FLAGS:--B -ntp} -q -pl helm-tests -am verify -Dspotless.check.skip=true \
    -Dtest=ImageSmokeRenderTest -Dsurefire.failIfNoSpecifiedTests=false >"$WORK/render.log" 2>&1) ||
    { tail -30 "$WORK/render.log" >&2; fail "rendering the chart"; }
fi
DS="$RENDERED/daemonset.json"
POD='.spec.template.spec'
jqr() { jq -r "$@" "$DS"; }
IMAGE="$(jqr "$POD.containers[] | select(.name == \"agent\") | .image")"
podman image exists "$IMAGE" || fail "image $IMAGE (from the chart) not built: make image"
CONFIG_DIR="$WORK/config"
mkdir -p "$CONFIG_DIR"
cp "$RENDERED/agent.yaml" "$CONFIG_DIR/agent.yaml"
PINS="$(awk '$1 == "bpffs:" { print $2 }' "$CONFIG_DIR/agent.yaml")"
[[ "$PINS" == /sys/fs/bpf/?* ]] || fail "the rendered config's bpffs is not below /sys/fs/bpf: $PINS"
ICPT_PINS="$(awk '$1 == "pin-dir:" { print $2 }' "$RENDERED/agent-incluster.yaml")"
[[ "$ICPT_PINS" == /sys/fs/bpf/?* ]] || fail "the rendered intercept pin-dir is not below /sys/fs/bpf: $ICPT_PINS"
[ "$(jqr "$POD.hostNetwork")" = true ] || fail "the chart's pod is not hostNetwork (the test runs it so)"
STATE_DIR="$(jqr "$POD.volumes[] | select(.name == \"state\") | .hostPath.path")"
[[ "$STATE_DIR" == "$HOSTDIR"/?* ]] || fail "the state volume's hostPath $STATE_DIR is not below $HOSTDIR (smoke-values.yaml)"

# podman options for container $1 of the pod spec (an init container or a container):
# security context, env, volume mounts. Fails on anything the test cannot map faithfully.
pod_opts() {
  local kind="$1" name="$2" sel c
  sel="$POD.$kind[] | select(.name == \"$name\")"
  c="$(jqr "$sel")"
  [ -n "$c" ] || fail "no $kind $name in the rendered DaemonSet"
  OPTS=(--network "ns:/run/netns/$NODE" --hostname "$NODE_NAME")
  # securityContext
  if [ "$(jq -r '.securityContext.privileged // false' <<<"$c")" = true ]; then
    OPTS+=(--privileged)
  else
    local drop add seccomp
    drop="$(jq -r '.securityContext.capabilities.drop // [] | join(",")' <<<"$c")"
    add="$(jq -r '.securityContext.capabilities.add // [] | join(",")' <<<"$c")"
    local cap
    for cap in ${drop//,/ }; do OPTS+=(--cap-drop "$cap"); done
    for cap in ${add//,/ }; do OPTS+=(--cap-add "$cap"); done
    [ "$(jq -r '.securityContext.allowPrivilegeEscalation // true' <<<"$c")" = false ] &&
      OPTS+=(--security-opt no-new-privileges)
    seccomp="$(jq -r '.securityContext.seccompProfile.type // "RuntimeDefault"' <<<"$c")"
    case "$seccomp" in
      Unconfined) OPTS+=(--security-opt seccomp=unconfined) ;;
      RuntimeDefault) ;;  # podman's default profile
      *) fail "seccompProfile $seccomp: the test maps only Unconfined and RuntimeDefault" ;;
    esac
  fi
  if [ "$(jq -r '.securityContext.readOnlyRootFilesystem // false' <<<"$c")" = true ]; then
    # as Kubernetes: read-only, and no tmpfs podman would add on its own
    OPTS+=(--read-only --read-only-tmpfs=false)
  fi
  # env: values as they are; fieldRefs as the kubelet would fill them
  local env
  # (fields split on US, \x1f: an empty value between tabs would vanish, tab being blank)
  while IFS=$'\x1f' read -r k v f; do
    case "$f" in
      "") OPTS+=(--env "$k=$v") ;;
      spec.nodeName) OPTS+=(--env "$k=$NODE_NAME") ;;
      status.hostIP) OPTS+=(--env "$k=10.78.1.1") ;;
      *) fail "env $k from $f: not mapped by the test" ;;
    esac
  done < <(jq -r '.env // [] | .[] | [.name, (.value // ""), (.valueFrom.fieldRef.fieldPath // "")] | join("\u001f")' <<<"$c")
  # volume mounts, each with its volume
  while IFS=$'\x1f' read -r vname path ro prop; do
    local vol hp ed cm opt
    vol="$(jqr "$POD.volumes[] | select(.name == \"$vname\")")"
    hp="$(jq -r '.hostPath.path // ""' <<<"$vol")"
    ed="$(jq -r 'has("emptyDir")' <<<"$vol")"
    cm="$(jq -r '.configMap.name // ""' <<<"$vol")"
    opt=""
    [ "$ro" = true ] && opt="ro"
    if [ -n "$hp" ]; then
      [ "$(jq -r '.hostPath.type // ""' <<<"$vol")" = DirectoryOrCreate ] && mkdir -p "$hp"
      [ -e "$hp" ] || fail "hostPath $hp of volume $vname missing on this machine"
      # mount propagation: Bidirectional = rshared, HostToContainer = rslave; both need the
      # host's mount to propagate. Where it is private (this machine's /sys/fs/bpf may be),
      # a plain bind: the same view, only later host mounts would not show.
      if [ "$(findmnt -no PROPAGATION -T "$hp" | head -1)" = shared ]; then
        case "$prop" in
          Bidirectional) opt="${opt:+$opt,}rshared" ;;
          HostToContainer) opt="${opt:+$opt,}rslave" ;;
        esac
      fi
      OPTS+=(-v "$hp:$path${opt:+:$opt}")
    elif [ "$ed" = true ]; then
      # an emptyDir is a plain writable directory (exec allowed: the JVM maps native code from /tmp)
      OPTS+=(--tmpfs "$path:rw,exec,mode=1777,size=$(jq -r '.emptyDir.sizeLimit // "64Mi"' <<<"$vol" | sed 's/Mi$/m/; s/Gi$/g/')")
    elif [ -n "$cm" ]; then
      OPTS+=(-v "$CONFIG_DIR:$path:ro")
    else
      fail "volume $vname: only hostPath, emptyDir and the config map are mapped"
    fi
  done < <(jq -r '.volumeMounts // [] | .[] | [.name, .mountPath, (.readOnly // false | tostring), (.mountPropagation // "")] | join("\u001f")' <<<"$c")
  # command (an init container's), then args
  # (NUL-separated: an argument may be a whole script of many lines)
  CMD=()
  if [ "$(jq -r '.command // [] | length' <<<"$c")" -gt 0 ]; then
    OPTS+=(--entrypoint "$(jq -r '.command[0]' <<<"$c")")
    mapfile -d '' -t CMD < <(jq -j '.command[1:][] | ., "\u0000"' <<<"$c")
  fi
  local args
  mapfile -d '' -t args < <(jq -j '.args // [] | .[] | ., "\u0000"' <<<"$c")
  CMD+=("${args[@]}")
}

# The agent's probes: path and port (a named port resolved through the container's ports).
probe() { # probe startupProbe|livenessProbe|readinessProbe -> "PATH PORT"
  local sel="$POD.containers[] | select(.name == \"agent\")" port
  port="$(jqr "$sel | .$1.httpGet.port")"
  if ! [[ "$port" =~ ^[0-9]+$ ]]; then
    port="$(jqr "$sel | .ports[] | select(.name == \"$port\") | .containerPort")"
  fi
  echo "$(jqr "$sel | .$1.httpGet.path") $port"
}
read -r STARTUP_PATH STARTUP_PORT < <(probe startupProbe)
read -r LIVE_PATH LIVE_PORT < <(probe livenessProbe)
read -r READY_PATH READY_PORT < <(probe readinessProbe)

# GET from inside the node namespace (the kubelet probes the node's address); prints
# "STATUS BODY".
http() { # http PORT PATH
  ip netns exec "$NODE" curl -s -m 3 -o "$WORK/http.body" -w '%{http_code}' "http://127.0.0.1:$1$2" 2>/dev/null || echo -n 000
  echo -n " "
  cat "$WORK/http.body" 2>/dev/null || true
}
await_http() { # await_http PORT PATH WANT_STATUS SECONDS
  local deadline=$((SECONDS + $4)) r
  while :; do
    r="$(http "$1" "$2")"
    [ "${r%% *}" = "$3" ] && return 0
    [ $SECONDS -ge $deadline ] && { echo "$r"; return 1; }
    sleep 0.5
  done
}

# ---- the node: the test's own network namespace is the pod's host network
step "network namespaces and veths"
netns() { ip netns add "$1"; NSS+=("$1"); ip -n "$1" link set lo up
          ip netns exec "$1" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; }
link() { # link NS_A IF_A ADDR_A NS_B IF_B ADDR_B (B's default route via A)
  ip -n "$1" link add "$2" type veth peer name "$5" netns "$4"
  ip -n "$1" addr add "$3/24" dev "$2"; ip -n "$4" addr add "$6/24" dev "$5"
  ip -n "$1" link set "$2" up; ip -n "$4" link set "$5" up
  ip -n "$4" route add default via "$3"
}
netns "$NODE"
for n in cam view uac uas; do netns "$ID-$n"; done
ip netns exec "$NODE" sysctl -q -w net.ipv4.ip_forward=1
link "$NODE" n-cam 10.78.1.1 "$ID-cam" cam0 10.78.1.2
link "$NODE" n-view 10.78.2.1 "$ID-view" view0 10.78.2.2
link "$NODE" n-uac 10.78.3.1 "$ID-uac" uac0 10.78.3.2
link "$NODE" n-uas 10.78.4.1 "$ID-uas" uas0 10.78.4.2

# ---- the init container, as the chart has it
step "init container (bpffs check/mount, backlog sysctl)"
pod_opts initContainers bpffs
INIT_OPTS=("${OPTS[@]}")
"${PODMAN[@]}" run --rm "${PODMAN_LIMITS[@]}" --name "$ID-init" "${INIT_OPTS[@]}" "$IMAGE" "${CMD[@]}" \
  >"$WORK/init.log" 2>&1 || { cat "$WORK/init.log" >&2; fail "the init container failed"; }
sed 's/^/  init| /' "$WORK/init.log"
grep -q 'is a bpf filesystem' "$WORK/init.log" || fail "the init container's script did not run as the chart has it"

pod_opts containers agent
AGENT_OPTS=("${OPTS[@]}")
AGENT_ARGS=("${CMD[@]}")

# Start an agent container NAME from IMAGE with the chart's settings (a pod of the
# DaemonSet); a second one may run beside it (see upgrade() below).
start_agent() { # start_agent NAME IMAGE [extra podman options...]
  local name="$1" image="$2"
  shift 2
  CONTAINERS+=("$name")
  "${PODMAN[@]}" run -d "${PODMAN_LIMITS[@]}" --name "$name" "${AGENT_OPTS[@]}" "$@" "$image" \
    "${AGENT_ARGS[@]}" >/dev/null || fail "podman run $name"
}
stop_agent() { # stop_agent NAME: SIGTERM, the grace period of the chart, then gone
  "${PODMAN[@]}" stop -t "$(jqr "$POD.terminationGracePeriodSeconds")" "$1" >/dev/null || true
  podman logs "$1" >"$WORK/$1.log" 2>&1 || true
  "${PODMAN[@]}" rm -f "$1" >/dev/null || true
}
await_ready() { # await_ready NAME: the startup probe, then readiness
  local r
  r="$(await_http "$STARTUP_PORT" "$STARTUP_PATH" 200 90)" || fail "$1: startup probe $STARTUP_PATH: $r"
  r="$(await_http "$READY_PORT" "$READY_PATH" 200 60)" || fail "$1: readiness probe $READY_PATH: $r"
}

# ---- the agent with the chart's Kubernetes side on: no API server here, so not ready
step "agent with kubernetes on, no cluster: $READY_PATH must fail"
cp "$RENDERED/agent-incluster.yaml" "$CONFIG_DIR/agent.yaml"
start_agent "$ID-k8s" "$IMAGE"
# up (the liveness probe); the startup probe is this instance's /readyz when the chart hands
# over (upgrade.handover), which must fail here as readiness does
r="$(await_http "$LIVE_PORT" "$LIVE_PATH" 200 90)" || fail "liveness probe $LIVE_PATH: $r"
sleep 3
r="$(http "$READY_PORT" "$READY_PATH")"
echo "  $READY_PATH: $r"
[[ "$r" == 503*kubernetes* ]] || fail "$READY_PATH should be 503 naming kubernetes while its informers cannot sync: $r"
stop_agent "$ID-k8s"
cp "$RENDERED/agent.yaml" "$CONFIG_DIR/agent.yaml"

# ---- under the runtime's default seccomp profile (RuntimeDefault) the BPF load fails: the
# error must name seccomp, not capabilities
step "agent under the default seccomp profile: fails naming seccomp"
SECCOMP_OPTS=()
for ((i = 0; i < ${#AGENT_OPTS[@]}; i++)); do
  if [ "${AGENT_OPTS[$i]}" = --security-opt ] && [ "${AGENT_OPTS[$((i + 1))]:-}" = seccomp=unconfined ]; then
    i=$((i + 1))
    continue
  fi
  SECCOMP_OPTS+=("${AGENT_OPTS[$i]}")
done
[ ${#SECCOMP_OPTS[@]} -lt ${#AGENT_OPTS[@]} ] || fail "the chart's agent is not seccomp Unconfined (the test expects it)"
CONTAINERS+=("$ID-seccomp")
if "${PODMAN[@]}" run --name "$ID-seccomp" "${PODMAN_LIMITS[@]}" "${SECCOMP_OPTS[@]}" "$IMAGE" "${AGENT_ARGS[@]}" \
  >"$WORK/seccomp.log" 2>&1; then
  fail "the agent started under the default seccomp profile"
fi
"${PODMAN[@]}" rm -f "$ID-seccomp" >/dev/null 2>&1 || true
grep -q 'blocked by a seccomp filter' "$WORK/seccomp.log" || { tail -5 "$WORK/seccomp.log" >&2; fail "the error does not name seccomp"; }
echo "  $(grep -o 'msm-agent: .*seccomp filter[^,]*' "$WORK/seccomp.log" | head -1)"

# ---- the agent proper
step "agent (the chart's container, out-of-cluster config)"
start_agent "$ID-agent" "$IMAGE"
await_ready "$ID-agent"
podman logs "$ID-agent" 2>&1 | grep -v '^libbpf' | sed 's/^/  agent| /' | head -12
podman logs "$ID-agent" 2>&1 | grep -q 'level=WARN.*netdev_max_backlog' &&
  fail "the agent warned about net.core.netdev_max_backlog"

step "health endpoints"
for p in "$LIVE_PATH $LIVE_PORT" "$READY_PATH $READY_PORT"; do
  set -- $p
  r="$(http "$2" "$1")"; echo "  $1: ${r%%$'\n'*}"; [ "${r%% *}" = 200 ] || fail "$1: $r"
done
r="$(http "$READY_PORT" /metrics)"
[ "${r%% *}" = 200 ] && grep -q '^msm_' <<<"$r" || fail "/metrics: ${r:0:200}"
echo "  /metrics: $(grep -c '^msm_' <<<"$r") msm_ samples"

MSM=("${PODMAN[@]}" exec "$ID-agent" msm --bpffs "$PINS")
step "programs attached (msm status inside the container)"
"${MSM[@]}" status >"$WORK/status.txt" 2>&1 || { cat "$WORK/status.txt" >&2; fail "msm status"; }
for i in n-cam n-view n-uac n-uas; do
  grep -qE "^\s+[0-9]+\s+$i\s" "$WORK/status.txt" || { cat "$WORK/status.txt" >&2; fail "msm status shows nothing attached to $i"; }
done
sed -n '/^attached/,/^$/p' "$WORK/status.txt" | sed 's/^/  /'

# ---- RTSP: a camera publishes, a viewer plays over UDP through the containerised agent
frames() { grep -o '^frame=[0-9]*' "$1" 2>/dev/null | tail -1 | cut -d= -f2 || true; }
publish_and_view() { # publish_and_view TAG: starts both, waits for decoded frames
  local tag="$1" n=0
  ip netns exec "$ID-cam" ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i testsrc=size=320x240:rate=25 \
    -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -f rtsp -rtsp_transport udp \
    rtsp://10.78.1.1:8554/cam >"$WORK/cam-$tag.log" 2>&1 &
  PIDS+=($!); CAM_PID=$!
  for _ in $(seq 1 40); do
    http "$READY_PORT" /metrics | grep -q 'msm_rtsp_path_publishing{path="cam"} 1' && break
    sleep 0.25
  done
  sleep 1.2 # the next key frame
  ip netns exec "$ID-view" ffmpeg -hide_banner -nostdin -loglevel error -rtsp_transport udp \
    -i rtsp://10.78.2.1:8554/cam -progress "$WORK/view-$tag.progress" -f null - >"$WORK/view-$tag.log" 2>&1 &
  PIDS+=($!); VIEW_PID=$!
  for _ in $(seq 1 60); do
    n="$(frames "$WORK/view-$tag.progress")"
    [ "${n:-0}" -ge 50 ] && break
    sleep 0.5
  done
  echo "  viewer ($tag): ${n:-0} frames decoded"
  [ "${n:-0}" -ge 50 ] || { cat "$WORK/cam-$tag.log" "$WORK/view-$tag.log" >&2; fail "the UDP viewer decoded ${n:-0} frames (< 50)"; }
}
step "RTSP publish (ffmpeg) and a UDP viewer (ffmpeg) through the agent"
publish_and_view first

step "msm flows and msm status inside the container show the traffic"
"${MSM[@]}" flows >"$WORK/flows.txt" 2>&1 || { cat "$WORK/flows.txt" >&2; fail "msm flows"; }
head -6 "$WORK/flows.txt" | sed 's/^/  /'
grep -q '10\.78\.1\.2' "$WORK/flows.txt" || fail "msm flows shows no flow from the camera (10.78.1.2)"
"${MSM[@]}" status >"$WORK/status2.txt" 2>&1 || true
sed -n '/^traffic/,/^$/p' "$WORK/status2.txt" | sed 's/^/  /'

# ---- SIP: a call that must outlive the agent's container (the state volume)
SIPP_DIR="$WORK/sipp"
mkdir -p "$SIPP_DIR"
cp "$root"/kernel-tests/src/test/resources/sipp/{uac,uas,register}.xml "$SIPP_DIR/"
PCAP="$(dpkg -L sip-tester 2>/dev/null | grep '/g711a.pcap$' | head -1)"
PCAP="${PCAP:-/usr/share/sip-tester/g711a.pcap}"
sipp_in() { # sipp_in NS LOG args...: sipp in a namespace, from the scenario directory
  local ns="$1" log="$2"; shift 2
  (cd "$SIPP_DIR" && exec ip netns exec "$ns" sipp "$@" -nostdin -trace_err >"$WORK/$log" 2>&1)
}
step "SIP: callee registers, caller calls through the agent (sipp); msm calls inside"
sipp_in "$ID-uas" sipp-register.log 10.78.4.1:5060 -sf register.xml -s bob -key contact 10.78.4.2:5060 \
  -i 10.78.4.2 -p 5070 -m 1 || { cat "$WORK/sipp-register.log" >&2; fail "REGISTER through msm"; }
sipp_in "$ID-uas" sipp-uas.log -sf uas.xml -i 10.78.4.2 -p 5060 -mi 10.78.4.2 -mp 6100 \
  -key rtp_port 6000 -m 1 &
PIDS+=($!); UAS_PID=$!
sleep 0.3
# the call talks 25 s: long enough to span a new agent container
sipp_in "$ID-uac" sipp-uac.log 10.78.3.1:5060 -sf uac.xml -s bob -i 10.78.3.2 -p 5061 -mi 10.78.3.2 \
  -mp 7000 -key pcap "$PCAP" -d 25000 -m 1 -l 1 -r 1 -t u1 &
PIDS+=($!); UAC_PID=$!
calls() { ip netns exec "$NODE" curl -s -m 3 "http://127.0.0.1:$READY_PORT/calls"; }
for _ in $(seq 1 40); do
  [ "$(calls | jq 'if type == "array" then length else (.calls | length) end' 2>/dev/null)" = 1 ] && break
  sleep 0.25
done
CALLS_BEFORE="$(calls)"
CALL_ID="$(jq -r 'if type == "array" then .[0].call_id else .calls[0].call_id end' <<<"$CALLS_BEFORE" 2>/dev/null)"
[ -n "$CALL_ID" ] && [ "$CALL_ID" != null ] || { cat "$WORK"/sipp-*.log >&2; fail "no call at the agent: $CALLS_BEFORE"; }
# the agent writes its state file soon after the call is up (not in the same instant)
for _ in $(seq 1 40); do [ -n "$(ls -A "$STATE_DIR")" ] && break; sleep 0.25; done
[ -n "$(ls -A "$STATE_DIR")" ] || fail "nothing on the state volume ($STATE_DIR) 10 s after the call was up"
"${MSM[@]}" calls >"$WORK/calls.txt" 2>&1 || { cat "$WORK/calls.txt" >&2; fail "msm calls"; }
grep -qF "$CALL_ID" "$WORK/calls.txt" || { cat "$WORK/calls.txt" >&2; fail "msm calls inside the container does not show $CALL_ID"; }
head -3 "$WORK/calls.txt" | sed 's/^/  /' 
echo "  call $CALL_ID up; on the state volume: $(ls "$STATE_DIR")"

# Where an upgrade goes: start a second container of a NEW image beside the first (the
# DaemonSet's maxSurge), let it take over, and only then stop the first. Today it is a
# pod replacement: the old container stops, a new one of the same image starts.
upgrade() { # upgrade OLD NEW_NAME NEW_IMAGE
  stop_agent "$1"
  start_agent "$2" "$3"
  await_ready "$2"
}

step "pod replacement: a new agent container adopts the datapath and restores the call"
FRAMES_AT_STOP="$(frames "$WORK/view-first.progress")"
upgrade "$ID-agent" "$ID-agent2" "$IMAGE"
MSM=("${PODMAN[@]}" exec "$ID-agent2" msm --bpffs "$PINS")
LOG2="$(podman logs "$ID-agent2" 2>&1)"
grep -q 'datapath=adopted' <<<"$LOG2" || { echo "$LOG2" | head -20 >&2; fail "the new agent did not adopt the pinned datapath"; }
grep -q 'restored 1 of 1 call(s)' <<<"$LOG2" || { echo "$LOG2" | grep -i sip >&2; fail "the new agent did not restore the call from the state volume"; }
echo "  $(grep -o 'datapath=adopted[^)]*)' <<<"$LOG2" | head -1); $(grep -o 'restored 1 of 1 call(s)' <<<"$LOG2")"
CALL_AFTER="$(calls | jq -r 'if type == "array" then .[0].call_id else .calls[0].call_id end' 2>/dev/null)"
[ "$CALL_AFTER" = "$CALL_ID" ] || fail "/calls after the restart: $CALL_AFTER, not $CALL_ID"
echo "  viewer frames: $FRAMES_AT_STOP when the old agent stopped, $(frames "$WORK/view-first.progress") now (RTSP viewers' control connections end with the old agent)"

step "SIP: the caller's BYE goes through the new agent"
wait "$UAC_PID" || { cat "$WORK/sipp-uac.log" >&2; fail "the caller's sipp failed (BYE after the restart)"; }
wait "$UAS_PID" || { cat "$WORK/sipp-uas.log" >&2; fail "the callee's sipp failed"; }
for _ in $(seq 1 20); do
  [ "$(calls | jq 'if type == "array" then length else (.calls | length) end' 2>/dev/null)" = 0 ] && break
  sleep 0.25
done
echo "  calls at the agent after BYE: $(calls | jq -c .)"

step "RTSP publish and UDP viewer again, through the new agent"
kill -INT "$CAM_PID" "$VIEW_PID" 2>/dev/null || true
sleep 0.5
publish_and_view second

# ---- a seamless upgrade as the chart's rolling update runs it (maxSurge 1): a new agent
# container starts beside the running one, takes over its sockets, RTSP connections and
# sessions over the handover socket (upgrade.hostDir), and only then the old one stops
step "seamless upgrade: a new agent container takes over beside the running one"
FR0="$(frames "$WORK/view-second.progress")"
start_agent "$ID-agent3" "$IMAGE"
for _ in $(seq 1 240); do
  podman logs "$ID-agent3" 2>&1 | grep -q 'session(s) taken over' && break
  sleep 0.25
done
TAKEN="$(podman logs "$ID-agent3" 2>&1 | grep -o 'handover: [0-9]* RTSP connection(s), [0-9]* stream(s), [0-9]* session(s) taken over' | head -1)"
[ -n "$TAKEN" ] || { podman logs "$ID-agent3" 2>&1 | tail -20 >&2; fail "the new agent did not take over (no handover in its log)"; }
echo "  $TAKEN"
[[ "$TAKEN" =~ ([0-9]+)\ session ]] && [ "${BASH_REMATCH[1]}" -ge 2 ] ||
  fail "the publisher's and the viewer's sessions were not both handed over: $TAKEN"
for _ in $(seq 1 40); do
  podman logs "$ID-agent2" 2>&1 | grep -q 'the new agent took over' && break
  sleep 0.25
done
podman logs "$ID-agent2" 2>&1 | grep -q 'the new agent took over' || fail "the old agent does not say it was taken over"
FR1="$(frames "$WORK/view-second.progress")"
stop_agent "$ID-agent2"
MSM=("${PODMAN[@]}" exec "$ID-agent3" msm --bpffs "$PINS")
sleep 4
FR2="$(frames "$WORK/view-second.progress")"
kill -0 "$VIEW_PID" 2>/dev/null || { cat "$WORK/view-second.log" >&2; fail "the viewer's ffmpeg ended across the upgrade"; }
echo "  viewer frames: $FR0 before, $FR1 at the takeover, $FR2 4 s after the old agent stopped (same RTSP session, no new SETUP)"
[ "$((${FR2:-0} - ${FR1:-0}))" -ge 50 ] || { cat "$WORK/view-second.log" >&2; fail "the viewer decoded $((${FR2:-0} - ${FR1:-0})) frames in the 4 s after the upgrade (< 50)"; }
r="$(http "$READY_PORT" "$READY_PATH")"
[ "${r%% *}" = 200 ] || fail "the new agent not ready after the upgrade: $r"
"${MSM[@]}" status >/dev/null 2>&1 || fail "msm status in the new agent container"
kill -INT "$CAM_PID" "$VIEW_PID" 2>/dev/null || true
stop_agent "$ID-agent3"
