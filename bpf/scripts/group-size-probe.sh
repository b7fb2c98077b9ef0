#!/usr/bin/env bash
# Finds the largest fan-out group (MSM_MAX_SUBS) whose datapath still loads on
# the running kernel: builds the object with larger and larger subscriber
# arrays (4 group slots, to keep memory small) and loads it with bpftool.
# The copy loop runs in bpf_loop(), so the verifier is not the limit; the
# group map's value size is (KMALLOC_MAX_SIZE, E2BIG past ~4 MB).
#
#   bpf/scripts/group-size-probe.sh [sizes...]     (root; needs clang, bpftool)
set -euo pipefail
cd "$(dirname "$0")/../src/main/c"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(64 1024 4096 16384 65536 100000 116000 117000)
work=$(mktemp -d)
pins=/sys/fs/bpf/msm-probe-$$
cleanup() { rm -rf "$work" "$pins"; }
trap cleanup EXIT
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
largest=0
for n in "${sizes[@]}"; do
  make -s OUT="$work/$n" EXTRA_CFLAGS="-DMSM_BUILD_MAX_SUBS=$n -DMSM_BUILD_DEFAULT_GROUPS=4" >"$work/build.log" 2>&1 \
    || { echo "MSM_MAX_SUBS=$n: build failed"; cat "$work/build.log"; exit 1; }
  mkdir -p "$pins/$n"
  if bpftool prog loadall "$work/$n/msm.bpf.o" "$pins/$n" >"$work/load.log" 2>&1; then
    echo "MSM_MAX_SUBS=$n: loads (group value $((24 + 36 * n)) bytes)"
    largest=$n
  else
    echo "MSM_MAX_SUBS=$n: refused: $(grep -m1 -E 'failed to create|error|Error' "$work/load.log")"
  fi
  rm -rf "$pins/$n"
done
echo "kernel $(uname -r): largest group that loads: $largest"
