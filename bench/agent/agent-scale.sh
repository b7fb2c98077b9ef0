#!/usr/bin/env bash
# Agent footprint: idle RSS and /metrics scrape time with a full flow table.
#   bench/agent/agent-scale.sh [flows=10000] [scrapes=30]     (root)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "agent-scale: needs root (namespaces, BPF)" >&2; exit 1; }
mvn -B -ntp -q -o -pl kernel-tests -am package -DskipTests
cp_file="$(mktemp)"; trap 'rm -f "$cp_file"' EXIT
mvn -B -ntp -q -o -pl kernel-tests dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null
cd kernel-tests && exec java -cp "target/classes:$(cat "$cp_file")" io.msm.testkit.AgentScale "${1:-10000}" "${2:-30}"
