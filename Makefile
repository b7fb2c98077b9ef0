# msm — the front door. Every target installs what it needs first (make deps).
#
#   make demo      the main job: an RTSP camera fanned out in the kernel to real players,
#                  in a local namespace "cluster" (DEMO_SECONDS, DEMO_VIEWERS, DEMO_USERSPACE=1)
#   make demo-datapath   the datapath alone: raw RTP fanned out by the TC program
#   make test      every test (kernel tests need root; under CI=true they must run)
#   make build     compile everything (BPF objects + Java), skip tests
#   make bench     benchmarks, ~15 min (QUICK=1: 2 min); bench/README.md
#   make vm-test   the kernel test suite on Debian's 6.1 kernel under qemu
#                  (KERNEL=/path/to/vmlinuz [MODULES=/lib/modules/<ver>] for yours,
#                   VM_ARGS="--class ClassifierTest" etc.: kernel-tests/vm/run.sh --help)
#   make deps      install the system packages (Debian bookworm, apt-get, idempotent)
#   make clean

SHELL := /bin/bash
MVN ?= mvn
MVN_FLAGS ?= -B -ntp
export JAVA_HOME ?= $(shell dirname $$(dirname $$(readlink -f $$(command -v javac) 2>/dev/null)) 2>/dev/null)

# Debian packages the build, tests and demo need.
DEPS_BUILD := clang llvm libbpf-dev libbpf1 bpftool linux-libc-dev libelf-dev zlib1g-dev make \
              iproute2 ethtool procps util-linux time curl openjdk-17-jdk-headless maven
# The VM runner (kernel-tests/vm): qemu, a static busybox for the initramfs, depmod.
DEPS_VM := qemu-system-x86 busybox-static kmod
# Real players and servers for the RTSP tests and the demo: ffmpeg publishes and plays, GStreamer
# (rtspsrc, h264parse from -bad, avdec_h264 from -libav) plays, VLC serves a file over RTSP; setpriv
# (util-linux) runs VLC as nobody, since it refuses root.
DEPS_MEDIA := ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
              gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-rtsp vlc-bin vlc-plugin-base
# Real peers of the kernel tests: sipp (sip-tester) calls through the SIP proxy.
DEPS_PEERS := sip-tester
# The benchmarks (bench/): gcc builds the sender, GStreamer is a system under test
# (udpsrc/multiudpsink, in DEPS_MEDIA), perf profiles the node's CPU.
DEPS_BENCH := gcc linux-perf
DEPS := $(DEPS_BUILD) $(DEPS_VM) $(DEPS_MEDIA) $(DEPS_PEERS) $(DEPS_BENCH)

.PHONY: all deps build test demo demo-datapath bench vm-test clean help

all: build

help:
	@sed -n '2,13p' Makefile

# Installs only what is missing; a no-op (one dpkg query) when all is there.
deps:
	@missing=$$(for p in $(DEPS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing $$(echo $$missing | tr '\n' ' ')"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: need root to apt-get install: $$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
	    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null; } || \
	    { echo "make deps: apt-get install failed for: $$missing" >&2; exit 1; }; \
	fi

build: deps
	$(MVN) $(MVN_FLAGS) install -DskipTests

# Kernel tests run when root; with CI=true they must run (a skip is a failure).
# Then the same kernel tests on Debian's 6.1 kernel in a VM (kernel-tests/vm/README.md).
test: deps
	$(MVN) $(MVN_FLAGS) install
	./bench/run.sh --smoke --no-build
	./kernel-tests/vm/run.sh --ci --no-build

demo: build
	./demo/run.sh

demo-datapath: build
	./demo/datapath.sh

# bench/run.sh builds what it runs (mvn package of bench and its reactor
# dependencies; nothing is installed into ~/.m2). Results: bench/results/.
bench: deps
	./bench/run.sh $(if $(QUICK),--quick,)

# 'build' compiled the test classes and wrote the classpath, hence --no-build
vm-test: build
	./kernel-tests/vm/run.sh --no-build $(if $(KERNEL),--kernel $(KERNEL),) $(if $(MODULES),--modules $(MODULES),) $(VM_ARGS)

clean:
	$(MVN) $(MVN_FLAGS) clean
