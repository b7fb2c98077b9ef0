#
# The msm image: msm-agent (the node daemon the Helm chart runs, the entrypoint)
# and the msm CLI (for `kubectl exec ds/msm -- msm flows`).
#
#   docker build -t msm:0.1.0 .            builds the jars here, with Maven (JARS=source)
#   make image                             podman, a local Debian base, the jars of
#                                          `make build` (JARS=context); image/README.md
#
# Build args: BUILD_IMAGE (Maven + JDK 17, for JARS=source), RUNTIME_IMAGE (Debian
# bookworm: the JRE is linked and the image runs on it), JARS (source or context).
ARG BUILD_IMAGE=maven:3.9-amazoncorretto-17-debian-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim
ARG JARS=source

# The jars, built here (JARS=source): Maven + JDK 17 on Debian bookworm, the
# distribution the project builds on, so that clang, bpftool and libbpf-dev come
# from the same apt sources as on a developer's machine (make deps).
FROM ${BUILD_IMAGE} AS jars-source
# What `make build` needs besides Java and Maven (which this image has): the BPF
# toolchain that compiles bpf/src/main/c into the classpath object.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      clang llvm libbpf-dev bpftool linux-libc-dev libelf-dev zlib1g-dev make \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Only the modules the image ships (and what they need) are packaged; the Maven
# repository is a build cache, so later builds download nothing.
RUN --mount=type=cache,target=/root/.m2 \
    mvn -B -ntp -pl agent,cli -am package -DskipTests -Dspotless.check.skip=true \
 && mkdir -p /out \
 && cp agent/target/msm-agent.jar cli/target/msm.jar /out/

# The jars of `make build` (JARS=context): make image passes a context holding
# only them and bin/ (image/build.sh), so no Maven runs in a container.
FROM ${RUNTIME_IMAGE} AS jars-context
COPY agent/target/msm-agent.jar cli/target/msm.jar /out/

FROM jars-${JARS} AS jars

# A Java runtime with only the modules msm-agent and msm use (jlink), instead of
# Debian's whole JRE: about 40 MB instead of 190. The list is what jdeps finds in
# the two jars (jdeps --print-module-deps; image/README.md), plus one it cannot see:
#   java.base, java.naming, java.sql (jackson, micrometer; brings java.logging and
#     java.xml), java.net.http (fabric8's HTTP client), jdk.management (micrometer's
#     JVM metrics; brings java.management), jdk.jfr (netty), jdk.unsupported
#     (sun.misc.Unsafe: netty, jnr-ffi)
#   jdk.crypto.ec   the EC provider, loaded as a service: EC keys and ECDHE for TLS
#                   (RTSPS, SIP over TLS, the API server)
# Left out although jdeps names it: java.desktop (java.beans, for jackson's
# optional annotations and snakeyaml's JavaBean mapping, neither used: msm reads
# YAML as maps). The smoke test (image/smoke-test.sh) runs the agent and the CLI
# on this runtime.
FROM ${RUNTIME_IMAGE} AS jre
# Debian's JDK (its headless package has the jmods jlink links from); binutils:
# Debian's jlink strips native debug symbols with objcopy. The man directory
# works around the JDK's postinst on images without man pages.
RUN mkdir -p /usr/share/man/man1 \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openjdk-17-jdk-headless binutils \
 && rm -rf /var/lib/apt/lists/*
ARG JRE_MODULES=java.base,java.naming,java.sql,java.net.http,jdk.management,jdk.jfr,jdk.unsupported,jdk.crypto.ec
# cacerts: Debian's JDK links it to ca-certificates-java's store; the runtime
# gets the store itself (TLS to upstreams and the API server's public names).
RUN jlink --add-modules "${JRE_MODULES}" \
      --strip-debug --no-man-pages --no-header-files --compress=2 \
      --output /jre \
 && rm -f /jre/lib/security/cacerts \
 && cp -L /etc/ssl/certs/java/cacerts /jre/lib/security/cacerts \
 && /jre/bin/java -version

FROM ${RUNTIME_IMAGE}
# libbpf1: the system libbpf the Java side binds with jnr-ffi (it finds
# libbpf.so.1, no -dev package needed); iproute2: `tc` and `ip` to look at what
# msm attached; mount: the chart's bpffs init container mounts with it (it is
# "required" in Debian and so in every bookworm base, but named here since the
# init container depends on it).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libbpf1 iproute2 mount \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
COPY --from=jre /jre /opt/msm/jre
# /opt/msm/bin and /opt/msm/lib: the launchers look for their jar in ../lib
# (after ../<module>/target, where a checkout has it).
COPY bin/ /opt/msm/bin/
COPY --from=jars /out/ /opt/msm/lib/
# C.UTF-8: glibc (2.35 on) has it built in, so no locales package is needed;
# the JVM takes its default charset and file-name encoding from it (UTF-8 log
# text, SIP display names, RTSP paths), where the bare C locale is ASCII.
ENV JAVA_HOME=/opt/msm/jre \
    PATH=/opt/msm/bin:/opt/msm/jre/bin:$PATH \
    LANG=C.UTF-8
# Fail the build, not the pod, when a launcher cannot find its jar or the JVM.
RUN msm-agent --help >/dev/null && msm --help >/dev/null
# root: the capabilities a Pod adds (BPF, NET_ADMIN, PERFMON) take effect only
# for uid 0; Kubernetes has no ambient capabilities for other users.
USER 0
WORKDIR /opt/msm
# the ports msm-agent listens on by default: metrics/health, RTSP, SIP
EXPOSE 9469/tcp 8554/tcp 5060/udp 5060/tcp
ENTRYPOINT ["/opt/msm/bin/msm-agent"]
