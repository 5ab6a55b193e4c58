#!/bin/bash
# The image's HEALTHCHECK, installed as /usr/local/bin/pep-healthcheck: GET /healthz on the admin
# listener inside the container ($PEP_HEALTH_ADDRESS, default 127.0.0.1:9090) and exit 0 only on
# 200. bash's /dev/tcp, so the image needs no HTTP client.
set -u
address=${PEP_HEALTH_ADDRESS:-127.0.0.1:9090}
host=${address%:*}
port=${address##*:}

if ! exec 3<>"/dev/tcp/$host/$port"; then
  echo "healthz: admin listener not reachable at $address"
  exit 1
fi
printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$address" >&3
if ! IFS= read -r -t 2 status <&3; then
  echo "healthz: no answer from $address"
  exit 1
fi
case $status in
  "HTTP/1.1 200 "*|"HTTP/1.0 200 "*) exit 0 ;;
esac
echo "healthz: $address answered ${status%$'\r'}"
exit 1
