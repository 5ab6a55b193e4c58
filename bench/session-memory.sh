#!/usr/bin/env bash
# Heap per registered live session (the session registry's entry), after a full collection.
# Usage: bench/session-memory.sh [sessions]   (default 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -pl pep-proxy -am test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp
cp="pep-proxy/target/test-classes:pep-proxy/target/classes:$(cat pep-proxy/target/bench.cp)"
exec java -Xmx2g -XX:+UseSerialGC -cp "$cp" dev.pep.proxy.session.SessionMemoryBenchmark "${1:-100000}"
