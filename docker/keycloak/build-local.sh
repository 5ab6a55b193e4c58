#!/usr/bin/env bash
# Builds pep-keycloak:26.5.6 without an image registry: Keycloak's distribution from Maven Central
# (through Maven), a Java 21+ JDK of this machine ($KEYCLOAK_JAVA_HOME, default the Temurin under
# /usr/lib/jvm), on the Debian base of docker/base/debian-jre.sh. Prints the image name.
#   KEYCLOAK_IMAGE=$(docker/keycloak/build-local.sh) docker compose -f docker/compose.yaml up
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${KEYCLOAK_VERSION:-26.5.6}
java_home=${KEYCLOAK_JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-2[1-9]* 2>/dev/null | sort -V | tail -1)}
image=pep-keycloak:$version

if docker image inspect "$image" >/dev/null 2>&1; then echo "$image"; exit 0; fi
if [ -z "$java_home" ] || ! "$java_home/bin/java" -version 2>&1 | grep -Eq 'version "(2[1-9]|[3-9][0-9])'; then
  echo "build-local: Keycloak needs Java 21 or later; set KEYCLOAK_JAVA_HOME" >&2
  exit 2
fi
base=$("$here/../base/debian-jre.sh")
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
mvn -B -q dependency:copy -Dartifact="org.keycloak:keycloak-quarkus-dist:$version:zip" \
  -DoutputDirectory="$context" >&2
unzip -q "$context/keycloak-quarkus-dist-$version.zip" -d "$context"
mv "$context/keycloak-$version" "$context/keycloak"
# Keycloak's user must own data/: a realm file mounted into data/import would otherwise make the
# engine create the directory for root.
mkdir -p "$context/keycloak/data/import"
rm "$context/keycloak-quarkus-dist-$version.zip"
cp -a "$java_home" "$context/jdk"
rm -rf "$context/jdk/jmods" "$context/jdk/src.zip" "$context/jdk/man"
cp "$here/Dockerfile" "$context/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q --build-arg BASE_IMAGE="$base" -t "$image" "$context" >&2
echo "$image"
