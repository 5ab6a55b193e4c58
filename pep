#!/usr/bin/env sh
# Runs the packaged gateway: ./pep serve --config config/quickstart.yaml
# Build it first with: mvn -q -DskipTests package
here=$(cd "$(dirname "$0")" && pwd)
jar="$here/pep-proxy/target/pep.jar"
if [ ! -f "$jar" ]; then
  echo "pep: $jar not found; build it with: mvn -q -DskipTests package" >&2
  exit 2
fi
exec "${JAVA:-java}" ${PEP_JAVA_OPTS:--Xms64m -XX:+UseG1GC} -jar "$jar" "$@"
