# Sourced by the image scripts: how they run podman (Debian bookworm's 4.3).
#
# runc, not crun (podman's default): crun 1.8 refuses hosts whose cgroup v2
# hierarchy has controllers while v1 is mounted too ("cgroups in hybrid mode not
# supported"); runc runs on v1, hybrid and v2 alike.
#
# Limits: podman asks for RLIMIT_NOFILE 1048576 and the maximum RLIMIT_NPROC,
# which only a root with CAP_SYS_RESOURCE may raise to. A root in a sandbox (a CI
# runner in a container) may lack it, so the containers get this shell's open
# files limit and at most 32768 processes.
nofile="$(ulimit -Hn)"
[ "$nofile" = unlimited ] && nofile=1048576
nproc="$(ulimit -Hu)"
{ [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; } && nproc=32768
PODMAN=(podman --runtime runc)
PODMAN_LIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
unset nofile nproc
