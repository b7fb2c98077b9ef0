#!/usr/bin/env bash
# msm benchmarks (issue 5): kernel fan-out against userspace relays, the
# classifier's cost per class, the SIP media race against rtpengine (issue 16),
# game UDP sessions through msm's kernel game path against nginx's stream proxy
# (issue 18), JMH for the Java hot paths. Needs root.
#
#   bench/run.sh            full run, ~25 min on 2 cores     -> bench/results/
#   bench/run.sh --quick    N = 8, 64; short steps, ~5 min   -> bench/results/quick/
#   bench/run.sh --smoke    N = 8, one view, < 2 min; checks that the harness
#                           works (every system forwards to every receiver,
#                           reports are written), not the numbers  -> a temp dir
#   --no-build              use what the last build left in */target
#   --out DIR               write results there instead
#
# Every part has a time limit and stops by itself; namespaces, pinned maps,
# processes and sysctls it changed are put back even when it is interrupted.
# Results: fanout.csv / fanout-steps.csv / fanout.md / fanout.png,
# classifier.csv, sipmedia.csv / sipmedia.md / sipmedia.png, game.csv / game.md / game.png,
# jmh.csv, machine.txt, run.log
# (bench/README.md explains them).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
build=1
out=""
out_given=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;
    --full) mode=full ;;
    --no-build) build=0 ;;
    --out) out="$2"; out_given=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" != 0 ]; then
  echo "bench/run.sh: needs root (network namespaces, BPF programs, sysctls): run as root" >&2
  exit 1
fi
for tool in gcc taskset nsenter ip; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool not found: run 'make deps'" >&2; exit 1; }
done
command -v gst-launch-1.0 >/dev/null || echo "bench/run.sh: gst-launch-1.0 not found (make deps installs it): GStreamer is skipped" >&2
command -v nginx >/dev/null || echo "bench/run.sh: nginx not found (make deps-bench installs it with libnginx-mod-stream): the game race runs msm alone" >&2

case "$mode" in
  full)  out="${out:-bench/results}"; limit=1900; fan_limit=900; cls_repeat=100000
         sip=(--calls 100,500,1000 --duration 10 --time-limit 330)
         game=(--mode full --time-limit 300)
         jmh=(-f 1 -wi 2 -w 1s -i 3 -r 1s) ;;
  quick) out="${out:-bench/results/quick}"; limit=300; fan_limit=80; cls_repeat=20000
         sip=(--calls 100 --duration 5 --time-limit 80)
         game=(--mode quick --time-limit 60)
         jmh=(-f 1 -wi 1 -w 300ms -i 2 -r 300ms -p request=describe,setup -p subscribers=1,64) ;;
  smoke) out="${out:-$(mktemp -d /tmp/msm-bench-smoke.XXXXXX)}"; limit=110; fan_limit=40; cls_repeat=2000
         sip=(--calls 10 --duration 2 --systems direct,msm-kernel --time-limit 30)
         game=(--mode smoke --check 1 --time-limit 20)
         jmh=(-f 0 -wi 0 -i 1 -r 100ms -p request=describe -p subscribers=64) ;;
esac
mkdir -p "$out"

if [ "$build" = 1 ]; then
  echo "== build (bench module and what it needs)"
  mvn -B -ntp -q -pl bench -am package -DskipTests
fi
[ -f bench/target/classpath.txt ] || { echo "bench/run.sh: bench/target/classpath.txt missing: build first (drop --no-build)" >&2; exit 1; }
[ -f agent/target/msm-agent.jar ] || { echo "bench/run.sh: agent/target/msm-agent.jar missing: build first" >&2; exit 1; }
gcc -O2 -Wall -Wextra -o bench/target/rtpsend -Ibpf/src/main/c/testkit bench/src/main/c/rtpsend.c
gcc -O2 -Wall -Wextra -o bench/target/callload -Ibpf/src/main/c/testkit bench/src/main/c/callload.c
cp="bench/target/classes:$(cat bench/target/classpath.txt)"
start=$(date +%s)
left() { echo $(( limit - ($(date +%s) - start) )); }
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "mode: $mode"
  echo "cpus: $(nproc --all) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
  echo "kernel: $(uname -r)"
  echo "memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "gstreamer: $(gst-launch-1.0 --version 2>/dev/null | sed -n 2p || echo none)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //' || echo none)"
} > "$out/machine.txt"

status=0
echo "== fan-out: kernel vs userspace relays (limit ${fan_limit}s; the harness runs on CPU 0 with the sender)"
timeout -k 30 $((fan_limit + 60)) taskset -c 0 "$java" -XX:+UseSerialGC -cp "$cp" io.msm.bench.fanout.FanoutBench \
  --mode "$mode" --time-limit "$fan_limit" --out "$out" --sender bench/target/rtpsend --launcher bin/msm-agent \
  2> >(grep -v '^SLF4J' >&2) | tee "$out/run.log" || status=$?

echo "== classifier: ns per packet per class (BPF_PROG_TEST_RUN)"
timeout -k 5 60 taskset -c 1 "$java" -cp "$cp" io.msm.bench.classifier.ClassifierCost --out "$out" \
  --repeat "$cls_repeat" 2> >(grep -v '^SLF4J' >&2) | tee -a "$out/run.log" || status=$?

echo "== SIP media race: msm kernel / userspace vs rtpengine, N calls over NG (limit ${sip[-1]}s)"
timeout -k 10 $(( ${sip[-1]} + 90 )) "$java" -cp "$cp" io.msm.bench.sipmedia.SipMediaRace "${sip[@]}" \
  --out "$out" --callload bench/target/callload 2> >(grep -v '^SLF4J' >&2) | tee -a "$out/run.log" || status=$?

echo "== game sessions: msm kernel game path vs nginx stream UDP proxy (limit ${game[-1]}s)"
timeout -k 10 $(( ${game[-1]} + 60 )) taskset -c 0 "$java" -XX:+UseSerialGC -cp "$cp" io.msm.bench.game.GameRace "${game[@]}" \
  --out "$out" --sender bench/target/rtpsend 2> >(grep -v '^SLF4J' >&2) | tee -a "$out/run.log" || status=$?

jmh_limit=$(left)
if [ "$jmh_limit" -gt 15 ]; then
  echo "== JMH: RTSP parsing, fan-out group update, flow-table walk (limit ${jmh_limit}s)"
  timeout -k 5 "$jmh_limit" "$java" -cp "$cp" org.openjdk.jmh.Main "${jmh[@]}" -rf csv -rff "$out/jmh.csv" \
    'io.msm.bench.jmh.*' > bench/target/jmh.log 2>&1 || status=$?
  # the summary table JMH prints last
  sed -n '/^Benchmark /,$p' bench/target/jmh.log | tee -a "$out/run.log"
else
  echo "== JMH skipped: ${jmh_limit}s left of the ${limit}s limit" | tee -a "$out/run.log"
fi

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/machine.txt"
echo "== results in $out ($(( $(date +%s) - start ))s)"
if [ "$mode" = smoke ]; then
  for f in fanout.csv fanout.md fanout.png classifier.csv sipmedia.md sipmedia.csv sipmedia.png game.md game.csv game.png jmh.csv; do
    [ -s "$out/$f" ] || { echo "smoke: $out/$f missing" >&2; status=1; }
  done
  if [ "$status" = 0 ]; then
    echo "smoke: ok"
    [ "$out_given" = 1 ] || rm -rf "$out"
  else
    echo "smoke: FAILED (status $status), output kept in $out" >&2
  fi
fi
exit "$status"
