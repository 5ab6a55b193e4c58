#!/bin/bash
# The compose demo's certificates, made with keytool (in every Java runtime) into /certs:
#   ca.pem            the demo CA (trust it to reach Keycloak from the host)
#   keycloak.p12      Keycloak's key and certificate (keycloak, keycloak.pep.localhost, localhost)
#   truststore.p12    the demo CA alone: the gateway's JVM trust store, to fetch Keycloak's keys
# Demo only: fixed store password, files readable by every user of the volume. Made once.
set -euo pipefail
cd /certs
if [ -s truststore.p12 ]; then echo "demo-certs: already made"; exit 0; fi
pass=demo-only
rm -f ca.p12 keycloak.p12 keycloak.pem ca.pem truststore.p12

keytool -genkeypair -keystore ca.p12 -storepass "$pass" -alias ca -keyalg EC -groupname secp256r1 \
  -dname "CN=pep compose demo CA" -ext bc:c=ca:true -ext ku:c=keyCertSign,cRLSign -validity 825
keytool -exportcert -keystore ca.p12 -storepass "$pass" -alias ca -rfc -file ca.pem

keytool -genkeypair -keystore keycloak.p12 -storepass "$pass" -alias keycloak -keyalg EC \
  -groupname secp256r1 -dname "CN=keycloak.pep.localhost" -validity 825
keytool -certreq -keystore keycloak.p12 -storepass "$pass" -alias keycloak \
  | keytool -gencert -keystore ca.p12 -storepass "$pass" -alias ca -rfc -validity 825 \
      -ext san=dns:keycloak,dns:keycloak.pep.localhost,dns:localhost -ext eku=serverAuth \
  > keycloak.pem
keytool -importcert -keystore keycloak.p12 -storepass "$pass" -alias ca -file ca.pem -noprompt
keytool -importcert -keystore keycloak.p12 -storepass "$pass" -alias keycloak -file keycloak.pem

keytool -importcert -keystore truststore.p12 -storetype PKCS12 -storepass "$pass" -alias demo-ca \
  -file ca.pem -noprompt
rm -f ca.p12                                  # nothing more to sign
chmod 0644 ca.pem keycloak.p12 truststore.p12 keycloak.pem
echo "demo-certs: made ca.pem keycloak.p12 truststore.p12"
