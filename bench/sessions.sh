#!/usr/bin/env bash
# Ends thousands of live sessions through the packaged gateway and reports how long it took:
# a policy change that denies some apps, then one admin call that ends a subject's sessions.
# Usage: bench/sessions.sh [websockets] [http1-streams] [http2-streams]   (default 4000 2000 4000)
# Every session is on loopback; the run ends by itself (each wait is bounded).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q -DskipTests package
mvn -B -q -pl integration-tests -am test-compile dependency:build-classpath -Dmdep.outputFile=target/bench.cp
cp="integration-tests/target/test-classes:$(cat integration-tests/target/bench.cp)"
exec java -Xmx2g -cp "$cp" dev.pep.it.SessionEndingBenchmark "$PWD" "${1:-4000}" "${2:-2000}" "${3:-4000}"
