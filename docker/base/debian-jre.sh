#!/usr/bin/env bash
# Builds a small Java runtime base image without any image registry: debootstrap a minimal Debian
# bookworm with its openjdk-17-jre-headless package, then `docker import` it. Prints the image name.
#
#   docker/base/debian-jre.sh            # builds or reuses pep-base:<key>, prints the name
#
# The image is cached by a content key, the hash of this file (the recipe): built once per machine,
# kept as a tarball under $PEP_CACHE (default /var/cache/pep) and imported again when the engine
# lost the image (a new data root). Needs root, debootstrap and a Debian package mirror.
set -euo pipefail

suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=openjdk-17-jre-headless,ca-certificates
cache=${PEP_CACHE:-/var/cache/pep}/base-images

key=$(sha256sum "$0" | cut -c1-16)
image=pep-base:$key
tarball=$cache/debian-jre-$key.tar

log() { printf 'debian-jre: %s\n' "$*" >&2; }

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9                      # two builds on one machine wait for each other

if docker image inspect "$image" >/dev/null 2>&1; then
  log "reused image=$image"
  echo "$image"
  exit 0
fi

if [ ! -s "$tarball" ]; then
  root=$(mktemp -d "$cache/root.XXXXXX")
  trap 'rm -rf "$root" "$tarball.part"' EXIT
  log "building root=$root suite=$suite packages=$packages"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >&2
  # What a runtime image does not need: package caches, lists, documentation.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
         "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  chmod 0755 "$root"          # mktemp made it 0700, and the tarball's "." becomes the image's /
  tar --numeric-owner -C "$root" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  log "cached tarball=$tarball bytes=$(stat -c %s "$tarball")"
fi

docker import --change 'ENV LANG=C.UTF-8' --change 'CMD ["/bin/bash"]' \
  "$tarball" "$image" >/dev/null
log "imported image=$image from=$tarball"
echo "$image"
