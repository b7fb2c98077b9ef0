# Run by the msm chart's "bpffs" init container before msm-agent starts.
# msm-agent pins its programs and maps under /sys/fs/bpf so that they outlive
# the agent; that only works on the node's bpf filesystem.
set -eu
# MSM_BPFFS_ROOT only lets the chart's tests point the check elsewhere
root="${MSM_BPFFS_ROOT:-/sys/fs/bpf}"
node="${K8S_NODE_NAME:-this node}"
# BPF_FS_MAGIC, as statfs(2) reports it (GNU stat prints it in hex)
is_bpffs() { [ "$(stat -f -c %t "$root" 2>/dev/null)" = "cafe4a11" ]; }
if is_bpffs; then
  echo "msm: $root on $node is a bpf filesystem"
  exit 0
fi
if [ "${MSM_BPFFS_MOUNT:-false}" = "true" ]; then
  echo "msm: $root on $node is not a bpf filesystem; mounting bpffs there"
  if ! mount -t bpf bpf "$root"; then
    echo "msm: cannot mount bpffs on $root of $node (see the error above)." >&2
    echo "msm: mount it on the node (mount -t bpf bpf /sys/fs/bpf) and restart this pod." >&2
    exit 1
  fi
  if is_bpffs; then
    echo "msm: mounted bpffs on $root of $node"
    exit 0
  fi
  echo "msm: mounted bpffs on $root of $node but it still is not one ($(stat -f -c %T "$root"))." >&2
  exit 1
fi
echo "msm: $root on $node is not a bpf filesystem ($(stat -f -c %T "$root" 2>/dev/null || echo missing))." >&2
echo "msm: msm-agent pins its datapath there so that forwarding survives agent restarts." >&2
echo "msm: fix: mount it on the node (mount -t bpf bpf /sys/fs/bpf; systemd does this at boot)," >&2
echo "msm: or install the chart with --set bpffs.mount=true (the init container then mounts it; privileged)," >&2
echo "msm: or run without BPF with --set agent.userspace=true." >&2
exit 1
