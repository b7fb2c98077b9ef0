# msm — the front door. Every target installs the Debian packages it needs first, and only
# those (make build: the toolchain; make test: players, sipp, qemu too).
#
#   make demo      the main job: an RTSP camera fanned out in the kernel to real players,
#                  in a local namespace "cluster" (DEMO_SECONDS, DEMO_VIEWERS, DEMO_USERSPACE=1)
#   make demo-datapath   the datapath alone: raw RTP fanned out by the TC program
#   make test      every test (kernel tests need root; under CI=true they must run)
#   make build     compile everything (BPF objects + Java), skip tests
#   make image     the container image (podman, a Debian base made here: no registry); image/README.md
#   make image-test   run that image as the Helm chart's DaemonSet says (part of make test)
#   make bench     benchmarks, ~25 min (QUICK=1: 5 min); bench/README.md
#   make vm-test   the kernel test suite on Debian's 6.1 kernel under qemu
#                  (KERNEL=/path/to/vmlinuz [MODULES=/lib/modules/<ver>] for yours,
#                   VM_ARGS="--class ClassifierTest" etc.: kernel-tests/vm/run.sh --help)
#   make format    apply the source formats (google-java-format AOSP for Java, clang-format for C);
#                  make test checks them (format-check, and Maven's verify for Java)
#   make deps      install every target's system packages (Debian bookworm, apt-get, idempotent)
#   make clean

SHELL := /bin/bash
MVN ?= mvn
MVN_FLAGS ?= -B -ntp
export JAVA_HOME ?= $(shell dirname $$(dirname $$(readlink -f $$(command -v javac) 2>/dev/null)) 2>/dev/null)

# Debian packages, by what needs them. Each target installs only its own list
# (make build: just the toolchain), and `make deps` installs them all.
# Building: Java 17 + Maven, and clang/bpftool/libbpf for the BPF objects (bpf/src/main/c).
DEPS_BUILD := clang llvm libbpf-dev libbpf1 bpftool linux-libc-dev libelf-dev zlib1g-dev make \
              openjdk-17-jdk-headless maven
# Running the agent, tests and demos on this machine: ip/tc, ethtool (offloads), ps/pgrep,
# nsenter/setpriv, /usr/bin/time (RSS figures), curl (/metrics from inside a namespace),
# openssl (the TLS tests make their certificates with it).
DEPS_RUN := iproute2 ethtool procps util-linux time curl openssl
# The source-format check of the C side (make format-check; Java is checked by Maven).
DEPS_LINT := clang-format
# The VM runner (kernel-tests/vm): qemu, a static busybox for the initramfs, depmod.
DEPS_VM := qemu-system-x86 busybox-static kmod
# Real players and servers for the RTSP tests and the demo: ffmpeg publishes and plays, GStreamer
# (rtspsrc, h264parse from -bad, avdec_h264 from -libav) plays, VLC serves a file over RTSP; setpriv
# (util-linux) runs VLC as nobody, since it refuses root.
DEPS_MEDIA := ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
              gstreamer1.0-plugins-bad gstreamer1.0-libav gstreamer1.0-rtsp vlc-bin vlc-plugin-base
# Real peers of the kernel tests: sipp (sip-tester) calls through the SIP proxy; Kamailio (its
# rtpengine module is in the kamailio package) drives msm over rtpengine's NG protocol, and
# rtpengine-utils brings rtpengine's own NG client (rtpengine-ng-client). kcptun: real KCP
# client and server for the game-service tests (KcptunRebindTest); libenet-dev: real ENet peers
# (kernel-tests/src/test/resources/enet/enet_peer.c, built by GameEnetTest with gcc).
DEPS_PEERS := sip-tester kamailio rtpengine-utils kcptun libenet-dev
# The image (make image, make image-test): podman builds and runs it (runc: see
# image/podman.sh), mmdebstrap makes its Debian base from this machine's apt sources;
# jq reads the rendered chart in the smoke test, sipp/ffmpeg (DEPS_PEERS, DEPS_MEDIA)
# talk through it.
DEPS_IMAGE := podman runc mmdebstrap jq
# The benchmarks (bench/): gcc builds the sender, GStreamer is a system under test
# (udpsrc/multiudpsink, in DEPS_MEDIA), perf profiles the node's CPU; the SIP media race runs
# rtpengine (userspace forwarding: its kernel module is not packaged for this kernel) against msm,
# set up by Kamailio (DEPS_PEERS) over NG; the game race runs nginx's stream UDP proxy against
# msm's kernel game path.
DEPS_BENCH := gcc linux-perf rtpengine-daemon nginx libnginx-mod-stream $(DEPS_PEERS)

# What each front-door target installs (the kernel tests, in make test and make vm-test,
# run real players and sipp; make test also runs the benchmark harness smoke, whose game race
# runs nginx and perf).
DEPS_FOR_TEST := $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_LINT) $(DEPS_VM) $(DEPS_MEDIA) $(DEPS_PEERS) $(DEPS_IMAGE) gcc \
                 nginx libnginx-mod-stream linux-perf
DEPS_FOR_IMAGE := $(DEPS_BUILD) $(DEPS_IMAGE)
DEPS_FOR_IMAGE_TEST := $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_IMAGE) $(DEPS_MEDIA) $(DEPS_PEERS)
DEPS_FOR_DEMO := $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_MEDIA)
DEPS_FOR_BENCH := $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_MEDIA) $(DEPS_BENCH)
DEPS_FOR_VM := $(DEPS_BUILD) $(DEPS_RUN) $(DEPS_VM) $(DEPS_MEDIA) $(DEPS_PEERS) gcc
DEPS := $(sort $(DEPS_FOR_TEST) $(DEPS_FOR_DEMO) $(DEPS_FOR_BENCH) $(DEPS_FOR_VM) $(DEPS_FOR_IMAGE_TEST))

# $(call apt_install,<what for>,<packages>): installs only what is missing; a no-op (one
# dpkg query per package) when all is there. An empty list (e.g. DEPS_BUILD= in an image
# that brings its own toolchain) installs nothing.
define apt_install
@missing=$$(for p in $(2); do \
  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
if [ -n "$$missing" ]; then \
  echo "make $(1): installing $$(echo $$missing | tr '\n' ' ')"; \
  if [ "$$(id -u)" != 0 ]; then echo "make $(1): need root to apt-get install: $$missing" >&2; exit 1; fi; \
  export DEBIAN_FRONTEND=noninteractive; \
  apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $$missing >/dev/null; } || \
    { echo "make $(1): apt-get install failed for: $$missing" >&2; exit 1; }; \
fi
endef

.PHONY: all format format-check deps deps-lint deps-build deps-test deps-demo deps-bench deps-vm deps-image deps-image-test build image image-test test demo demo-datapath bench vm-test clean help

all: build

help:
	@sed -n '2,19p' Makefile

# Everything any target needs.
deps:
	$(call apt_install,deps,$(DEPS))

deps-lint:
	$(call apt_install,format,$(DEPS_LINT))
deps-build:
	$(call apt_install,build,$(DEPS_BUILD))
deps-test:
	$(call apt_install,test,$(DEPS_FOR_TEST))
deps-demo:
	$(call apt_install,demo,$(DEPS_FOR_DEMO))
deps-bench:
	$(call apt_install,bench,$(DEPS_FOR_BENCH))
deps-vm:
	$(call apt_install,vm-test,$(DEPS_FOR_VM))
deps-image:
	$(call apt_install,image,$(DEPS_FOR_IMAGE))
deps-image-test:
	$(call apt_install,image-test,$(DEPS_FOR_IMAGE_TEST))

build: deps-build
	$(MVN) $(MVN_FLAGS) install -DskipTests -Dspotless.check.skip=true

# Kernel tests run when root; with CI=true they must run (a skip is a failure).
# Then the same kernel tests on Debian's 6.1 kernel in a VM (kernel-tests/vm/README.md).
test: deps-test format-check
	$(MVN) $(MVN_FLAGS) install
	./bench/run.sh --smoke --no-build
	./image/smoke-test.sh
	./kernel-tests/vm/run.sh --ci --no-build

# The image from a Debian base made on this machine and the jars Maven packages here
# (package, not install: nothing goes into ~/.m2). image/README.md
image: deps-image
	./image/build.sh

# The image run as the chart's DaemonSet says (image/smoke-test.sh; needs root).
# make test runs it on the jars and rendered chart its own Maven run made.
image-test: deps-image-test image
	./image/smoke-test.sh

demo: deps-demo build
	./demo/run.sh

demo-datapath: deps-demo build
	./demo/datapath.sh

# bench/run.sh builds what it runs (mvn package of bench and its reactor
# dependencies; nothing is installed into ~/.m2). Results: bench/results/.
bench: deps-bench
	./bench/run.sh $(if $(QUICK),--quick,)

# 'build' compiled the test classes and wrote the classpath, hence --no-build
vm-test: deps-vm build
	./kernel-tests/vm/run.sh --no-build $(if $(KERNEL),--kernel $(KERNEL),) $(if $(MODULES),--modules $(MODULES),) $(VM_ARGS)

# The C of the BPF objects, the benchmark's sender and the ENet test peers, in the kernel's style (.clang-format
# beside them); Java by Maven (spotless, google-java-format AOSP).
C_SOURCES = $(shell find bpf/src/main/c bench/src/main/c kernel-tests/src/test/resources/enet -name '*.[ch]')

format: deps-lint
	clang-format -i $(C_SOURCES)
	$(MVN) $(MVN_FLAGS) -q spotless:apply

format-check: deps-lint
	@clang-format --dry-run --Werror $(C_SOURCES) || \
	  { echo "format-check: C sources differ from .clang-format: run 'make format'" >&2; exit 1; }

clean:
	$(MVN) $(MVN_FLAGS) clean
