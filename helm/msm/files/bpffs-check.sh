# Run by the msm chart's "bpffs" init container before msm-agent starts.
# msm-agent pins its programs and maps under /sys/fs/bpf so that they outlive
# the agent; that only works on the node's bpf filesystem.
set -eu
# MSM_BPFFS_ROOT only lets the chart's tests point the check elsewhere
root="${MSM_BPFFS_ROOT:-/sys/fs/bpf}"
node="${K8S_NODE_NAME:-this node}"
# net.core.netdev_max_backlog (MSM_NETDEV_MAX_BACKLOG; 0: leave it): a fanned-out
# packet queues one clone per subscriber on the CPU backlog. Raised here when this
# container may (privileged, with bpffs.mount); the agent's /proc/sys is read-only.
# Never fails the pod. MSM_SYSCTL_ROOT only lets the chart's tests point elsewhere.
want="${MSM_NETDEV_MAX_BACKLOG:-0}"
backlog="${MSM_SYSCTL_ROOT:-/proc/sys}/net/core/netdev_max_backlog"
if [ "$want" -gt 0 ] 2>/dev/null; then
  have="$(cat "$backlog" 2>/dev/null || echo unknown)"
  if [ ! -e "$backlog" ]; then
    # a global sysctl, shown only in the node's own network namespace
    echo "msm: net.core.netdev_max_backlog is not visible here (not the node's network namespace);"
    echo "msm: make it at least $want on the node, or fan-out groups larger than it lose copies."
  elif [ "$have" != unknown ] && [ "$have" -ge "$want" ]; then
    echo "msm: net.core.netdev_max_backlog on $node is $have (at least $want)"
  elif [ "$have" != unknown ] && (echo "$want" > "$backlog") 2>/dev/null; then
    echo "msm: raised net.core.netdev_max_backlog on $node from $have to $want"
  else
    echo "msm: net.core.netdev_max_backlog on $node is $have, below $want, and this container may not raise it;"
    echo "msm: set it on the node (sysctl -w net.core.netdev_max_backlog=$want, and a file in /etc/sysctl.d),"
    echo "msm: or fan-out groups larger than the limit lose copies."
  fi
fi
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
