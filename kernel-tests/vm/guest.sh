#!/bin/bash
# PID 1 of the test VM, on the host's root (read-only 9p; tmpfs on /tmp, /run).
# Runs the kernel test suite with the JUnit console launcher and the verifier
# report, writes the results to the share run.sh reads (/run/msm-vm/out), and
# powers the VM off. qemu does not pass a guest's exit status on, hence the
# 'status' file (and the MSM-VM-STATUS= console line, should the share fail).
out=/run/msm-vm/out

finish() {
    echo "$1" > "$out/status" 2>/dev/null
    echo "MSM-VM-STATUS=$1"
    sync
    /bin/busybox poweroff -f 2>/dev/null
    echo o > /proc/sysrq-trigger
    sleep 30
}

say() { echo "msm-vm: $*"; }

# shellcheck source=/dev/null
source "$out/guest.env" || { say "cannot read $out/guest.env"; finish 125; }
export PATH=/run/msm-vm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
# Agents the tests start (bin/msm-agent) run with C1 only here, like the test JVM: with tiered
# compilation up to C2, their JVM crashed (SIGSEGV in JIT-compiled code) under TCG's '-cpu max'
# emulation on the Debian 6.1 guest; C1-only JVMs never did.
export MSM_JAVA_OPTS="${MSM_JAVA_OPTS:+$MSM_JAVA_OPTS }-XX:TieredStopAtLevel=1"
[ -n "$CI" ] && export CI
# the tests' waits (io.msm.testkit.Timeouts) stretched for the emulated CPU; agents started by the
# tests inherit it
export MSM_TIME_SCALE=${TIME_SCALE:-1}
release=$(uname -r)
t_start=$(cut -d' ' -f1 /proc/uptime)
say "guest up after ${t_start}s on kernel $release"

# Modules come from the kernel's own tree on the host (it is not at
# /lib/modules/<release>, which is read-only and the host's): a small
# modprobe that points kmod at it, for the tests and the kernel's autoloader.
if [ -n "$MODULES" ]; then
    mkdir -p "/run/msm-vm/bin" "/run/msm-vm/modroot/lib/modules/$release"
    mount --bind "$MODULES" "/run/msm-vm/modroot/lib/modules/$release" \
        || { say "cannot bind the modules $MODULES"; finish 125; }
    printf '#!/bin/sh\nexec /sbin/modprobe -d /run/msm-vm/modroot "$@"\n' > /run/msm-vm/bin/modprobe
    chmod 755 /run/msm-vm/bin/modprobe
    echo /run/msm-vm/bin/modprobe > /proc/sys/kernel/modprobe
    for m in $PRELOAD_MODULES; do
        modprobe "$m" || say "warning: modprobe $m failed (tests that need it will say so)"
    done
else
    say "no module tree given: relying on what the kernel has built in"
fi

cd "$REPO/kernel-tests" || { say "no $REPO/kernel-tests on the host root"; finish 125; }

say "verifier report"
t0=$(cut -d' ' -f1 /proc/uptime)
"$JAVA" $JAVA_OPTS -cp "$CLASSPATH" io.msm.testkit.VerifierReport > "$out/verifier.properties" 2>&1
verifier_rc=$?
cat "$out/verifier.properties"
t1=$(cut -d' ' -f1 /proc/uptime)

say "kernel test suite: ${SELECT[*]} (waits stretched ${MSM_TIME_SCALE}x, JUnit @Timeout off)"
"$JAVA" $JAVA_OPTS -jar "$LAUNCHER" execute --disable-banner --disable-ansi-colors --details=tree \
    --fail-if-no-tests --class-path "$CLASSPATH" --reports-dir "$out/reports" \
    --config=junit.jupiter.execution.timeout.mode=disabled "${SELECT[@]}" \
    2>&1 | tee "$out/tests.log"
tests_rc=${PIPESTATUS[0]}
t2=$(cut -d' ' -f1 /proc/uptime)

# A JVM that crashed in the guest (a test's or an agent's) left its report in
# /tmp, which dies with the VM: keep them, and show where each one crashed.
for f in /tmp/hs_err_pid*.log "$REPO"/kernel-tests/hs_err_pid*.log; do
    [ -f "$f" ] || continue
    cp "$f" "$out/" 2>/dev/null
    say "JVM crash report $(basename "$f") (kept in the run's output directory):"
    grep -m 12 -E '^# (SIG|Problematic|J |V |C )|^Current thread|^Command Line|^CPU:' "$f" | sed 's/^/msm-vm:   /'
done

{
    echo "kernel=$release"
    echo "boot_s=$t_start"
    echo "verifier_s=$(awk "BEGIN{print $t1 - $t0}")"
    echo "tests_s=$(awk "BEGIN{print $t2 - $t1}")"
    echo "verifier_rc=$verifier_rc"
    echo "tests_rc=$tests_rc"
} > "$out/summary"
cat "$out/summary"
finish "$tests_rc"
