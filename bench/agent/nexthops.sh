#!/usr/bin/env bash
# Next-hop resolution cost (route + interface + neighbour lookups per subscriber).
#   bench/agent/nexthops.sh [destinations=500] [rounds=3]     (root; no packet is sent)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "nexthops: needs root (namespaces)" >&2; exit 1; }
mvn -B -ntp -q -o -pl bench -am package -DskipTests
cp_file="$(mktemp)"; trap 'rm -f "$cp_file"' EXIT
mvn -B -ntp -q -o -pl bench dependency:build-classpath -Dmdep.outputFile="$cp_file" >/dev/null
cd bench && exec java -cp "target/classes:$(cat "$cp_file")" io.msm.bench.agent.NextHopScale "${1:-500}" "${2:-3}"
