#!/usr/bin/env bash
# make image: the msm image, built with podman from a Debian bookworm base made on
# this machine (image/base.sh), with the jars `make build` produced: no image
# registry and no Maven inside a container (Dockerfile, JARS=context).
#
#   image/build.sh [--no-build] [--tag NAME]
#     --no-build   take agent/target/msm-agent.jar and cli/target/msm.jar as they are
#                  (make test builds them first); otherwise Maven packages them here
#     --tag        default localhost/msm:<the chart's appVersion>
#
# A second build with the same inputs is quick: podman keeps every layer (the base,
# the linked JRE, the runtime packages); only changed jars make new layers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
. "$here/podman.sh"
build=1
version="$(awk '/^appVersion:/ { gsub(/"/, "", $2); print $2 }' "$root/helm/msm/Chart.yaml")"
tag="localhost/msm:$version"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    --tag) tag="$2"; shift ;;
    *) echo "usage: image/build.sh [--no-build] [--tag NAME]" >&2; exit 2 ;;
  esac
  shift
done
t0=$SECONDS
base=localhost/msm-base:bookworm
"$here/base.sh" "$base"
t1=$SECONDS
if [ "$build" = 1 ]; then
  (cd "$root" && ${MVN:-mvn} ${MVN_FLAGS:--B -ntp} -q -pl agent,cli -am package -DskipTests)
fi
for j in agent/target/msm-agent.jar cli/target/msm.jar; do
  [ -s "$root/$j" ] || { echo "image/build.sh: $j missing: run make build (or drop --no-build)" >&2; exit 1; }
done
t2=$SECONDS
# The build context: only what the image takes (the launchers and the two jars).
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/agent/target" "$ctx/cli/target"
cp -a "$root/bin" "$ctx/bin"
cp "$root/agent/target/msm-agent.jar" "$ctx/agent/target/"
cp "$root/cli/target/msm.jar" "$ctx/cli/target/"
# --network host: the RUN steps install Debian packages from the mirrors of the
# base's sources.list (this machine's); --pull=never: everything is local.
"${PODMAN[@]}" build "${PODMAN_LIMITS[@]}" --network host --pull=never \
  --build-arg RUNTIME_IMAGE="$base" --build-arg JARS=context \
  --file "$root/Dockerfile" --tag "$tag" --layers=true "$ctx"
t3=$SECONDS
size="$(podman image inspect --format '{{.Size}}' "$tag")"
echo "image/build.sh: $tag, $(numfmt --to=si "$size")B ($size bytes); base $((t1 - t0)) s, jars $((t2 - t1)) s, podman build $((t3 - t2)) s"
