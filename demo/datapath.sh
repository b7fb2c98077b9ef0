#!/usr/bin/env bash
# make demo-datapath: the datapath-only demo (kernel fan-out in a namespace "cluster").
# Needs root. DEMO_SECONDS (default 15) and DEMO_RECEIVERS (default 4).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "make demo needs root (it creates network namespaces and loads eBPF): sudo make demo" >&2
  exit 1
fi
cp_file=kernel-tests/target/demo.classpath
if [ ! -s "$cp_file" ] || [ kernel-tests/pom.xml -nt "$cp_file" ]; then
  mvn -B -ntp -q -o -pl kernel-tests dependency:build-classpath -Dmdep.outputFile="$PWD/$cp_file" >/dev/null
fi
exec java -cp "kernel-tests/target/classes:$(cat "$cp_file")" io.msm.testkit.DatapathDemo
