#!/usr/bin/env bash
# Scale check of 'msm flows --json' over a full flow table (needs root).
#
#   bench/cli/flows-scale.sh [flows] [runs]     defaults: 100000 flows, 5 runs
#
# Builds cli (and msm.jar), then runs io.msm.cli.bench.FlowsScale: it pins a
# datapath with a 131072-entry flow table under /sys/fs/bpf/msmbench-<pid>,
# fills it, times 'bin/msm --bpffs DIR flows --json > /dev/null' with
# /usr/bin/time -v, prints wall time and max RSS, and removes the pins.
set -euo pipefail
cd "$(dirname "$0")/../.."
flows="${1:-100000}"
runs="${2:-5}"
if [[ "$(id -u)" != 0 ]]; then
  echo "flows-scale: needs root (loads and pins a BPF datapath)" >&2
  exit 1
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "flows-scale: needs GNU time for wall time and max RSS: apt-get install time" >&2
  exit 1
fi
mvn -B -ntp -q -o -pl cli -am package -DskipTests
cp_file="$(mktemp)"
trap 'rm -f "$cp_file"' EXIT
mvn -B -ntp -q -o -pl cli dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
java -cp "cli/target/test-classes:cli/target/classes:bpf/target/classes:$(cat "$cp_file")" \
  io.msm.cli.bench.FlowsScale "$flows" "$runs" bin/msm
