#!/usr/bin/env bash
# The base image of `make image`, made on this machine: Debian bookworm (minbase) by
# mmdebstrap from the Debian mirrors this machine's apt already uses, imported into
# podman. No image registry is involved; the Dockerfile's RUNTIME_IMAGE build arg
# points at it (a normal `docker build` uses debian:bookworm-slim instead).
#
#   image/base.sh [--force] [NAME]      default NAME: localhost/msm-base:bookworm
#
# Like debian:bookworm-slim it leaves out documentation, man pages and translations
# (removed, and a dpkg path-exclude file keeps later installs from adding them).
# Reused when it exists: --force rebuilds it.
set -euo pipefail
force=0
[ "${1:-}" = --force ] && { force=1; shift; }
name="${1:-localhost/msm-base:bookworm}"
if [ "$force" = 0 ] && podman image exists "$name"; then
  echo "image/base.sh: $name exists (--force rebuilds it)"
  exit 0
fi
# The apt sources: the bookworm entries this machine's apt is configured with
# (its mirrors, not a name written here), one "deb URI SUITE COMPONENT" line each.
sources="$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' |
  awk '$2 ~ /^bookworm(-updates|-security)?$/ { print "deb " $1 " " $2 " " $3 }' | sort -u)"
if ! grep -q ' bookworm ' <<<"$sources"; then
  echo "image/base.sh: this machine's apt has no Debian bookworm source (apt-get indextargets);" >&2
  echo "image/base.sh: the base image is made from the same mirrors as the packages of make deps" >&2
  exit 1
fi
start=$SECONDS
tar="$(mktemp --suffix=.tar)"
log="$(mktemp --suffix=.log)"
trap 'rm -f "$tar" "$log"' EXIT
# Like debian:bookworm-slim: no documentation (but the licences), man pages or
# translations, removed after the install and excluded from later ones (dpkg.cfg.d).
nodoc='path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*'
# maybe-merged-usr: the merged /usr of bookworm made by mmdebstrap's hook, not by
# the usrmerge package (which would bring all of perl along).
mmdebstrap ${MMDEBSTRAP_OPTS---quiet} --variant=minbase --format=tar \
  --hook-dir=/usr/share/mmdebstrap/hooks/maybe-merged-usr \
  --customize-hook='cd "$1" && find usr/share/doc -mindepth 1 -type f ! -name copyright -delete &&
    find usr/share/doc -mindepth 1 -type d -empty -delete &&
    rm -rf usr/share/man/* usr/share/groff/* usr/share/info/* usr/share/lintian/* usr/share/locale/* &&
    rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/log/*.log' \
  --customize-hook="printf '%s\\n' '$nodoc' > \"\$1/etc/dpkg/dpkg.cfg.d/msm-nodoc\"" \
  bookworm "$tar" - <<<"$sources" >"$log" 2>&1 ||
  { tail -40 "$log" >&2; echo "image/base.sh: mmdebstrap failed" >&2; exit 1; }
podman import --quiet \
  --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "$tar" "$name" >/dev/null
echo "image/base.sh: $name made in $((SECONDS - start)) s ($(podman image inspect --format '{{.Size}}' "$name" | numfmt --to=iec))"
