# syntax=docker/dockerfile:1
#
# The msm image: msm-agent (the node daemon the Helm chart runs, the entrypoint)
# and the msm CLI (for `kubectl exec ds/msm -- msm flows`).
#
#   docker build -t msm:0.1.0 .
#
# Build stage: Maven + JDK 17 on Debian bookworm, the distribution the project
# builds on, so that clang, bpftool and libbpf-dev come from the same apt
# sources as on a developer's machine (make deps).
ARG BUILD_IMAGE=maven:3.9-amazoncorretto-17-debian-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
# What `make build` needs besides Java and Maven (which this image has): the BPF
# toolchain that compiles bpf/src/main/c into the classpath object.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool linux-libc-dev libelf-dev zlib1g-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The project's front door. DEPS_BUILD= : the packages are installed above (make deps
# would otherwise want Debian's JDK and Maven too). Only the modules the image
# ships (and what they need) are built; the Maven repository is a build cache,
# so later builds download nothing.
RUN --mount=type=cache,target=/root/.m2 \
    make build DEPS_BUILD= MVN_FLAGS="-B -ntp -pl agent,cli -am" \
 && test -s agent/target/msm-agent.jar \
 && test -s cli/target/msm.jar

FROM ${RUNTIME_IMAGE}
# openjdk-17-jre-headless: the JVM; libbpf1: the system libbpf the Java side
# binds with jnr-ffi (it finds libbpf.so.1, no -dev package needed); iproute2:
# `tc` and `ip` to look at what msm attached. The man directory works around
# the JRE's postinst on slim images, which have no man pages.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openjdk-17-jre-headless libbpf1 iproute2 \
 && rm -rf /var/lib/apt/lists/*
# /opt/msm/bin and /opt/msm/lib: the launchers look for their jar in ../lib
# (after ../<module>/target, where a checkout has it).
COPY --from=build /src/bin/ /opt/msm/bin/
COPY --from=build /src/agent/target/msm-agent.jar /opt/msm/lib/msm-agent.jar
COPY --from=build /src/cli/target/msm.jar /opt/msm/lib/msm.jar
ENV PATH=/opt/msm/bin:$PATH
# Fail the build, not the pod, when a launcher cannot find its jar or the JVM.
RUN msm-agent --help >/dev/null && msm --help >/dev/null
# root: the capabilities a Pod adds (BPF, NET_ADMIN, PERFMON) take effect only
# for uid 0; Kubernetes has no ambient capabilities for other users.
USER 0
WORKDIR /opt/msm
# the ports msm-agent listens on by default: metrics/health, RTSP, SIP
EXPOSE 9469/tcp 8554/tcp 5060/udp 5060/tcp
ENTRYPOINT ["/opt/msm/bin/msm-agent"]
