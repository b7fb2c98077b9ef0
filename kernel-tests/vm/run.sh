#!/bin/bash
# The kernel test suite (every test class of kernel-tests) on another kernel, in a
# throw-away qemu VM that sees the host's root read-only over 9p.
#
# usage: kernel-tests/vm/run.sh [options]
#   (no kernel option)     Debian bookworm's newest 6.1 kernel, fetched with
#                          'apt-get download' into .vm/ (not installed on the host)
#   --debian SERIES        another Debian kernel series apt knows, e.g. 6.12
#   --kernel VMLINUZ       your own kernel image; virtio-pci and 9p must be built in,
#   --modules DIR          or given as modules in DIR (a lib/modules/<release> tree)
#   --ci                   what CI runs: every test class but those tagged vm-slow,
#                          a shorter timeout (see kernel-tests/vm/README.md)
#   --class NAME           run only this test class (repeatable; simple name, e.g.
#                          SipCallTest, or full name)
#   --tag TAG              run only tests with this JUnit tag (repeatable)
#   --exclude-tag TAG      leave out tests with this JUnit tag (repeatable)
#   --timeout SECONDS      hard limit for the VM (default 1800, with --ci 1500)
#   --accel auto|kvm|tcg   auto: KVM if the kernel boots under it, else TCG (default)
#   --record               write the measured verifier figures (this kernel and the
#                          host's) into kernel-tests/verifier-budget.properties
#   --no-build             use kernel-tests/target as it is (skip the Maven step)
#   --keep                 keep the temporary directory (initramfs) for debugging
#
# Environment: QEMU (the qemu binary), MVN and MVN_FLAGS (the build), MSM_VM_CACHE
# (where kernels are kept, default .vm/), MSM_VM_JAVA_OPTS (the guest JVM's options),
# MSM_TIME_SCALE (how much longer tests wait in the guest, default 6; 1 on the host).
#
# Results: kernel-tests/target/vm-results/<release>/ (console.log, tests.log,
# reports/, verifier.properties, summary). The last line is
# 'vm: N passed, N failed, N skipped'.
# Exit status: 0 every test passed; 1 a test failed; 2 the suite could not run in
# the VM (no qemu, no kernel, boot failure, timeout — the message says which).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${MSM_VM_CACHE:-$repo/.vm}
MVN=${MVN:-mvn}
MVN_FLAGS=${MVN_FLAGS:--B -ntp}

series=6.1
kernel=
modules=
ci=0
classes=()
tags=()
exclude_tags=()
timeout=
accel=auto
record=0
build=1
keep=0

# Modules the suite needs beyond what the kernel autoloads on first use; loading
# them up front turns a missing one into a clear line in the console log.
PRELOAD_MODULES="veth sch_ingress cls_bpf act_bpf"
# The initramfs needs these to reach the host root; their dependencies come along.
BOOT_MODULES="virtio_pci 9pnet_virtio 9p"
KVM_BOOT_SECONDS=20   # KVM boots to init in 1-2 s when it works at all
TCG_BOOT_SECONDS=180  # TCG boots a distribution kernel in ~10 s
GUEST_MEM_MB=2048
GUEST_CPUS=2
# How much longer the tests wait in the guest than on the host (io.msm.testkit.Timeouts): under TCG
# a JVM starts ~5x slower and ffmpeg, sipp and the agents fall behind real time (kernel-tests/vm/README.md)
time_scale=${MSM_TIME_SCALE:-6}

say() { echo "vm-test: $*" >&2; }
die() { say "$*"; exit 2; }

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case "$1" in
        --debian) series=${2:?--debian needs a series, e.g. 6.1}; shift ;;
        --kernel) kernel=${2:?--kernel needs a path}; shift ;;
        --modules) modules=${2:?--modules needs a directory}; shift ;;
        --ci) ci=1 ;;
        --class) classes+=("${2:?--class needs a name}"); shift ;;
        --tag) tags+=("${2:?--tag needs a tag}"); shift ;;
        --exclude-tag) exclude_tags+=("${2:?--exclude-tag needs a tag}"); shift ;;
        --timeout) timeout=${2:?--timeout needs seconds}; shift ;;
        --accel) accel=${2:?--accel needs auto, kvm or tcg}; shift ;;
        --record) record=1 ;;
        --no-build) build=0 ;;
        --keep) keep=1 ;;
        -h|--help) usage; exit 0 ;;
        *) say "unknown option $1"; usage >&2; exit 2 ;;
    esac
    shift
done
case "$accel" in auto|kvm|tcg) ;; *) die "--accel must be auto, kvm or tcg, not '$accel'" ;; esac
[ -z "$modules" ] || [ -n "$kernel" ] || die "--modules goes with --kernel"
: "${timeout:=$([ $ci = 1 ] && echo 1500 || echo 1800)}"

# ---------------------------------------------------------------- cleanup
tmp=
qpid=
cleanup() {
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        kill "$qpid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$qpid" 2>/dev/null || true
    fi
    if [ -n "$tmp" ] && [ $keep = 0 ]; then rm -rf "$tmp"; fi
    if [ -n "$tmp" ] && [ $keep = 1 ]; then say "kept $tmp"; fi
}
trap cleanup EXIT
trap 'say "interrupted"; exit 2' INT TERM

# ---------------------------------------------------------------- tools
qemu=$(command -v "${QEMU:-qemu-system-x86_64}" || true)
[ -n "$qemu" ] || die "${QEMU:-qemu-system-x86_64} not found: run 'make deps' (Debian package qemu-system-x86)"
busybox=/bin/busybox
[ -x $busybox ] || busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found: run 'make deps' (Debian package busybox-static)"
if LC_ALL=C readelf -l "$busybox" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    die "$busybox is dynamically linked; the initramfs needs busybox-static: run 'make deps'"
fi
java=${JAVA_HOME:+$JAVA_HOME/bin/java}
[ -x "${java:-}" ] || java=$(command -v java || true)
[ -n "$java" ] || die "java not found: run 'make deps'"
java=$(readlink -f "$java")
command -v depmod >/dev/null || die "depmod not found: run 'make deps' (Debian package kmod)"

# ---------------------------------------------------------------- build
kt=$repo/kernel-tests
if [ $build = 1 ]; then
    say "building kernel-tests (test classes, classpath, console launcher)"
    mkdir -p "$kt/target/vm"
    # shellcheck disable=SC2086
    (cd "$repo" && $MVN $MVN_FLAGS -q -pl kernel-tests -am process-test-classes) >"$kt/target/vm/build.log" 2>&1 \
        || { cat "$kt/target/vm/build.log" >&2; die "the Maven build of kernel-tests failed (output above)"; }
fi
launcher=$kt/target/vm/junit-platform-console-standalone.jar
[ -f "$launcher" ] && [ -f "$kt/target/vm/test-classpath.txt" ] && [ -d "$kt/target/test-classes" ] \
    || die "kernel-tests/target lacks the test classes, target/vm/test-classpath.txt or the console launcher: run without --no-build"
classpath=$kt/target/test-classes:$kt/target/classes:$(cat "$kt/target/vm/test-classpath.txt")

# ---------------------------------------------------------------- kernel
# Fetch the newest linux-image-<series>* apt knows into $cache/debian/<package>/,
# without installing it: the package's boot/ and lib/modules/ trees, with depmod run.
debian_kernel() {
    command -v apt-cache >/dev/null && command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
        || die "apt-get/dpkg-deb not found: the default kernel comes from Debian's archive; pass --kernel instead"
    local pattern="^linux-image-${series//./\\.}[.-][0-9][^ ]*-amd64\$" pkg
    pick() { apt-cache pkgnames "linux-image-$series" 2>/dev/null | grep -E "$pattern" | grep -v -- '-cloud-\|-rt-' | sort -V | tail -1 || true; }
    pkg=$(pick)
    if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
        say "apt knows no linux-image-$series package yet: apt-get update"
        timeout 300 apt-get update -q >/dev/null 2>&1 || true
        pkg=$(pick)
    fi
    [ -n "$pkg" ] || die "apt knows no package matching $pattern: run 'apt-get update' (needs Debian's archive), or pass --kernel/--modules"
    local dir=$cache/debian/$pkg
    mkdir -p "$cache/debian"
    exec 9>"$cache/debian/.lock"
    flock -w 900 9 || die "another vm-test has held $cache/debian/.lock for 15 minutes"
    if [ ! -f "$dir/.complete" ]; then
        say "fetching $pkg (apt-get download; not installed on the host)"
        local dl=$cache/debian/.download-$$
        rm -rf "$dl" "$dir"; mkdir -p "$dl"
        (cd "$dl" && timeout 600 apt-get -q -o APT::Sandbox::User=root download "$pkg" >/dev/null) \
            || { rm -rf "$dl"; die "apt-get download $pkg failed: is Debian's archive reachable?"; }
        dpkg-deb -x "$dl"/*.deb "$dir" || { rm -rf "$dl" "$dir"; die "dpkg-deb -x of $pkg failed"; }
        dpkg-deb -f "$dl"/*.deb Version > "$dir/.version"
        rm -rf "$dl"
        local rel
        rel=$(ls "$dir/lib/modules")
        depmod -b "$dir" "$rel" || { rm -rf "$dir"; die "depmod for $pkg failed"; }
        touch "$dir/.complete"
        # older kernels of the series are not needed any more (each is ~400 MB unpacked)
        for old in "$cache/debian/linux-image-$series"*; do
            [ "$old" = "$dir" ] || [ ! -d "$old" ] || ! [[ "$(basename "$old")" =~ $pattern ]] || rm -rf "$old"
        done
    fi
    exec 9>&-
    local rel
    rel=$(ls "$dir/lib/modules")
    kernel=$(ls "$dir/boot/vmlinuz-"*)
    modules=$dir/lib/modules/$rel
    origin="Debian $pkg $(cat "$dir/.version")"
}

origin=
if [ -z "$kernel" ]; then
    debian_kernel
else
    [ -f "$kernel" ] || die "no kernel image at $kernel"
    # an x86 boot image carries "HdrS" at 0x202 (Documentation/arch/x86/boot.rst)
    [ "$(dd if="$kernel" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ] \
        || die "$kernel is not an x86 Linux boot image (bzImage/vmlinuz; an ELF vmlinux will not do)"
    kernel=$(readlink -f "$kernel")
    origin="$kernel"
    if [ -n "$modules" ]; then
        [ -d "$modules" ] || die "no module directory at $modules"
        modules=$(readlink -f "$modules")
        if [ ! -f "$modules/modules.dep" ]; then
            case "$modules" in
                */lib/modules/*) depmod -b "${modules%/lib/modules/*}" "$(basename "$modules")" \
                    || die "$modules has no modules.dep and depmod failed" ;;
                *) die "$modules has no modules.dep: run depmod for it (or pass a .../lib/modules/<release> tree)" ;;
            esac
        fi
    fi
fi
release=${modules:+$(basename "$modules")}
label=${release:-$(basename "$kernel")}

# ---------------------------------------------------------------- initramfs
tmp=$(mktemp -d /tmp/msm-vm.XXXXXX)
initrd=$tmp/initramfs.cpio
mkdir -p "$tmp/root/bin" "$tmp/root/modules"
cp "$busybox" "$tmp/root/bin/busybox"
cp "$here/init" "$tmp/root/init"
chmod 755 "$tmp/root/init"

# Boot modules in load order: each one's dependencies (modules.dep lists the whole
# closure, deepest last) and then itself; built-in ones are skipped.
if [ -n "$modules" ]; then
    declare -A seen=()
    order=()
    add_module() {
        [ -n "${seen[$1]:-}" ] && return 0
        seen[$1]=1
        order+=("$1")
    }
    for m in $BOOT_MODULES; do
        line=$(grep -E "(^|/)${m}\.ko(\.(xz|zst|gz))?:" "$modules/modules.dep" | head -1 || true)
        if [ -z "$line" ]; then
            grep -qE "(^|/)${m}\.ko\$" "$modules/modules.builtin" 2>/dev/null \
                || die "kernel module $m is neither in $modules nor built in: the VM cannot reach the host root"
            continue
        fi
        read -ra deps <<< "${line#*:}"
        for ((i = ${#deps[@]} - 1; i >= 0; i--)); do add_module "${deps[i]}"; done
        add_module "${line%%:*}"
    done
    for rel_path in "${order[@]}"; do
        name=$(basename "$rel_path"); name=${name%%.ko*}.ko
        case "$rel_path" in
            *.ko) cp "$modules/$rel_path" "$tmp/root/modules/$name" ;;
            *.ko.xz) "$busybox" xz -dc "$modules/$rel_path" > "$tmp/root/modules/$name" ;;
            *.ko.gz) "$busybox" gunzip -c "$modules/$rel_path" > "$tmp/root/modules/$name" ;;
            *.ko.zst) command -v zstd >/dev/null || die "$rel_path is zstd-compressed: install zstd"
                zstd -qdc "$modules/$rel_path" > "$tmp/root/modules/$name" ;;
        esac
        echo "$name" >> "$tmp/root/modules/order"
    done
fi
(cd "$tmp/root" && find . | "$busybox" cpio -o -H newc 2>/dev/null) > "$initrd"

# ---------------------------------------------------------------- guest settings
results=$kt/target/vm-results/$label
out=$results/guest
rm -rf "$results"
mkdir -p "$out"
select=()
if [ ${#classes[@]} -gt 0 ]; then
    for c in "${classes[@]}"; do
        if [[ "$c" != *.* ]]; then
            # a simple name: the test class of that name in any package under io.msm
            found=$(cd "$kt/target/test-classes" && find . -name "$c.class" | sed 's|^\./||; s|\.class$||; s|/|.|g')
            [ -n "$found" ] || die "--class $c: no test class of that name in kernel-tests/target/test-classes"
            [ "$(echo "$found" | wc -l)" = 1 ] || die "--class $c is ambiguous: $(echo $found); give the full name"
            c=$found
        fi
        select+=(--select-class "$c")
    done
else
    select+=(--scan-class-path "$kt/target/test-classes")
fi
# Test classes too slow for CI under TCG carry @Tag("vm-slow"): 'make vm-test' runs them.
[ $ci = 1 ] && exclude_tags+=(vm-slow)
# Measurements, not tests (e.g. the largest fan-out group that loads): only when asked for with --tag.
[ ${#tags[@]} = 0 ] && exclude_tags+=(probe)
for t in "${tags[@]}"; do select+=(--include-tag "$t"); done
for t in "${exclude_tags[@]}"; do select+=(--exclude-tag "$t"); done
{
    printf 'REPO=%q\n' "$repo"
    printf 'JAVA=%q\n' "$java"
    # C1 only: C2's compile threads cost more than they win in a short run under TCG
    printf 'JAVA_OPTS=%q\n' "${MSM_VM_JAVA_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx768m}"
    # every wait of the tests (io.msm.testkit.Timeouts) is stretched by this factor in the guest;
    # JUnit's @Timeout limits are off there (the VM's own hard limit stays)
    printf 'TIME_SCALE=%q\n' "$time_scale"
    printf 'CLASSPATH=%q\n' "$classpath"
    printf 'LAUNCHER=%q\n' "$launcher"
    printf 'MODULES=%q\n' "$modules"
    printf 'PRELOAD_MODULES=%q\n' "$PRELOAD_MODULES"
    printf 'CI=%q\n' "${CI:-}"
    printf 'SELECT=('; printf '%q ' "${select[@]}"; printf ')\n'
} > "$out/guest.env"

# ---------------------------------------------------------------- boot
console=$results/console.log
boot() { # $1 = kvm|tcg; starts qemu in the background, sets qpid
    local cpu=max
    [ "$1" = kvm ] && cpu=host
    : > "$console"
    "$qemu" -name msm-vm-test -machine q35 -accel "$1" -cpu "$cpu" -smp $GUEST_CPUS -m $GUEST_MEM_MB \
        -nodefaults -no-user-config -display none -monitor none -no-reboot \
        -chardev file,id=con,path="$console" -serial chardev:con \
        -kernel "$kernel" -initrd "$initrd" \
        -append "console=ttyS0 panic=-1 loglevel=4 msm.guest=$here/guest.sh msm.project=$repo" \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
        -virtfs "local,path=$repo,mount_tag=msmproj,security_model=none,readonly=on,multidevs=remap" \
        -virtfs "local,path=$out,mount_tag=msmout,security_model=none,multidevs=remap" \
        </dev/null >"$results/qemu.log" 2>&1 &
    qpid=$!
}
stop_qemu() {
    kill "$qpid" 2>/dev/null || true
    wait "$qpid" 2>/dev/null || true
    qpid=
}
# 0 when init printed its line, 1 on timeout, 2 when qemu exited first
await_init() {
    local limit=$1 t=0
    while [ "$t" -lt $((limit * 2)) ]; do
        grep -q '^msm-vm: init on' "$console" 2>/dev/null && return 0
        kill -0 "$qpid" 2>/dev/null || return 2
        sleep 0.5
        t=$((t + 1))
    done
    return 1
}

# KVM is tried once per kernel image; a kernel that did not boot under it is
# remembered in the cache, so later runs go straight to TCG.
kvm_note=$cache/kvm-fails-$(sha256sum "$kernel" | cut -c1-16)
mode=$accel
if [ "$mode" = auto ]; then
    mode=tcg
    if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -f "$kvm_note" ]; then mode=kvm; fi
fi
t_begin=$(date +%s.%N)
say "booting $label ($origin) under $mode"
boot "$mode"
booted=0
await_init $([ "$mode" = kvm ] && echo $KVM_BOOT_SECONDS || echo $TCG_BOOT_SECONDS) || booted=$?
if [ $booted = 0 ]; then
    :
elif [ "$mode" = kvm ] && [ "$accel" = auto ]; then
    if [ $booted = 2 ]; then
        say "qemu stopped under KVM: $(grep -m1 -i error "$results/qemu.log" || tail -n1 "$results/qemu.log")"
    else
        say "the kernel did not reach init under KVM in ${KVM_BOOT_SECONDS} s"
    fi
    say "falling back to TCG (remembered in $kvm_note; --accel kvm tries KVM again)"
    stop_qemu
    mkdir -p "$cache"
    echo "$kernel did not boot under KVM on $(uname -r), $(date -u +%F)" > "$kvm_note"
    mode=tcg
    t_begin=$(date +%s.%N)
    boot tcg
    await_init $TCG_BOOT_SECONDS || {
        tail -n 30 "$console" >&2
        die "the kernel did not reach init under TCG in ${TCG_BOOT_SECONDS} s (console above, full log $console)"
    }
else
    tail -n 30 "$console" >&2
    cat "$results/qemu.log" >&2
    die "the kernel did not reach init under $mode (console above, full log $console)"
fi
t_init=$(date +%s.%N)

# ---------------------------------------------------------------- wait, hard limit
deadline=$(($(date +%s) + timeout))
while kill -0 "$qpid" 2>/dev/null; do
    if [ "$(date +%s)" -ge $deadline ]; then
        say "timeout: the VM ran longer than $timeout s; stopping qemu (pid $qpid)"
        stop_qemu
        timed_out=1
        break
    fi
    sleep 1
done
[ -n "$qpid" ] && { wait "$qpid" 2>/dev/null || true; }
qpid=
t_end=$(date +%s.%N)

# ---------------------------------------------------------------- report
# best effort from here on: a missing file leaves a field empty, the exit status
# is decided at the end
set +e +o pipefail
status=$(cat "$out/status" 2>/dev/null || sed -n 's/^MSM-VM-STATUS=\([0-9]*\).*/\1/p' "$console" | tail -1)
if [ -z "$status" ]; then
    tail -n 40 "$console" >&2
    die "the guest did not report a result${timed_out:+ before the timeout of $timeout s} (console above, full log $console)"
fi
case "$status" in
    0|1|2) ;;
    *) tail -n 15 "$console" >&2
       die "the guest failed before or outside the tests (status $status; console above, full log $console)" ;;
esac
for f in tests.log verifier.properties summary; do [ -f "$out/$f" ] && cp "$out/$f" "$results/"; done
[ -d "$out/reports" ] && cp -r "$out/reports" "$results/"
val() { sed -n "s/^$1=//p" "$results/summary" 2>/dev/null | head -1; }
# the launcher's closing counts, e.g. "[        36 tests successful      ]"; a class
# whose @BeforeAll failed is a failed container and counts as a failure here
count() {
    local n
    n=$(sed -n "s/^\[ *\([0-9]*\) $1 *\]\$/\1/p" "$results/tests.log" 2>/dev/null | tail -1)
    echo "${n:-0}"
}
passed=$(count 'tests successful')
failed=$(($(count 'tests failed') + $(count 'containers failed')))
skipped=$(($(count 'tests skipped') + $(count 'tests aborted')))

verifier_line=$(sed -n 's/^measured\.[^=]*\.\([a-z_0-9]*\)=\([0-9]*\)$/\1 \2/p' "$results/verifier.properties" 2>/dev/null \
    | awk '{printf "%s%s %s insns", sep, $1, $2; sep=", "}')
host_line=
if [ "$(id -u)" = 0 ]; then
    host_line=$("$java" -cp "$classpath" io.msm.testkit.VerifierReport 2>/dev/null \
        | sed -n 's/^measured\.[^=]*\.\([a-z_0-9]*\)=\([0-9]*\)$/\1 \2/p' | awk '{printf "%s%s %s insns", sep, $1, $2; sep=", "}') || true
fi

{
    echo
    echo "== vm-test: kernel $(val kernel) ($origin), $mode"
    awk -v b="$t_begin" -v i="$t_init" -v e="$t_end" -v up="$(val boot_s)" -v v="$(val verifier_s)" -v s="$(val tests_s)" \
        'BEGIN { printf "   boot to init %.1f s, guest up at %s s, verifier report %s s, suite %s s, whole VM %.1f s\n", i - b, up, v, s, e - b }' 
    if grep -q 'the datapath did not load' "$results/verifier.properties" 2>/dev/null; then
        verifier_line="the kernel REJECTED the datapath: the verifier log is in ${results#"$repo"/}/verifier.properties"
    fi
    echo "   verifier: ${verifier_line:-no figures (see ${results#"$repo"/}/verifier.properties)}"
    [ -z "$host_line" ] || echo "   verifier on the host ($(uname -r)): $host_line"
    echo "   tests: $passed passed, $failed failed, $skipped skipped or aborted (${select[*]})"
    echo "   results: ${results#"$repo"/}/ (console.log, tests.log, reports/)"
    if [ "$status" != 0 ]; then
        sed -n '/^Failures (/,/^Test run finished/p' "$results/tests.log" 2>/dev/null | head -80
    fi
} >&2

if [ $record = 1 ]; then
    "$java" -cp "$classpath" io.msm.testkit.VerifierReport --record "$kt/verifier-budget.properties" \
        --from "$results/verifier.properties" >/dev/null \
        && say "recorded the figures of $(val kernel) in kernel-tests/verifier-budget.properties"
    if [ "$(id -u)" = 0 ]; then
        "$java" -cp "$classpath" io.msm.testkit.VerifierReport --record "$kt/verifier-budget.properties" >/dev/null \
            && say "recorded the host's figures ($(uname -r))"
    fi
fi

echo "vm: $passed passed, $failed failed, $skipped skipped"
case "$status" in
    0) exit 0 ;;
    1) exit 1 ;;
    2) say "the launcher found no tests to run (${select[*]})"; exit 2 ;;
esac
