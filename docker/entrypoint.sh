#!/bin/bash
# The image's entry point, installed as /usr/local/bin/pep: `pep ARGS` runs the gateway's command
# line with ARGS as given (serve, connector, validate, policy, audit, ...), as PID 1's replacement
# so SIGTERM reaches the JVM, which drains and exits 0.
#
# Secrets: the gateway reads every secret from a file (token-file, key files, enrolment tokens).
# Mount them as files (docker secrets under /run/secrets), or pass PEP_SECRET_<NAME>=VALUE: each
# such variable is written to $PEP_SECRETS_DIR/<name> (lower case, '_' as '-'), readable by this
# user only, and removed from the environment before the JVM starts. PEP_SECRET_ADMIN_TOKENS
# becomes /run/pep/secrets/admin-tokens. $PEP_SECRETS_DIR must be writable: a tmpfs on /run/pep.
set -euo pipefail

secrets_dir=${PEP_SECRETS_DIR:-/run/pep/secrets}
names=$(compgen -v PEP_SECRET_ || true)
if [ -n "$names" ]; then
  umask 077
  if ! mkdir -p "$secrets_dir" 2>/dev/null || [ ! -w "$secrets_dir" ]; then
    echo "pep: cannot write secrets to $secrets_dir; mount a tmpfs there (--tmpfs /run/pep)" >&2
    exit 2
  fi
  for name in $names; do
    file=$secrets_dir/$(printf '%s' "${name#PEP_SECRET_}" | tr 'A-Z_' 'a-z-')
    printf '%s\n' "${!name}" > "$file.tmp"
    mv -f "$file.tmp" "$file"
    unset "$name"
    echo "pep: secret from environment written file=$file" >&2
  done
fi

# PEP_JAVA_OPTS replaces these defaults (set it empty for none). Word splitting is intended.
default_java_opts="-XX:+UseG1GC -XX:MaxRAMPercentage=75 -XX:-UsePerfData -Djava.io.tmpdir=/tmp"
# shellcheck disable=SC2086
exec java ${PEP_JAVA_OPTS-$default_java_opts} -jar /opt/pep/pep.jar "$@"
