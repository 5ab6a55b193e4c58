package dev.pep.it;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A partner's token issuer for the gateway's bearer tests: an RSA key generated with Nimbus, its
 * public JWKS served by a JDK HttpServer on 127.0.0.1:0, and access tokens (RFC 9068 {@code at+jwt})
 * signed with it, well-formed or broken in one chosen way. Thread-safe.
 */
final class TokenIssuer implements AutoCloseable {

    static final String ISSUER = "https://idp.partner-a.example";
    static final String AUDIENCE = "pep-gateway";

    private final RSAKey key;
    private final HttpServer server;
    private final AtomicInteger fetches = new AtomicInteger();

    private TokenIssuer(RSAKey key, HttpServer server) {
        this.key = key;
        this.server = server;
    }

    /** Generates a key and starts serving its public JWKS. */
    static TokenIssuer start() throws IOException, JOSEException {
        RSAKey key = new RSAKeyGenerator(2048).keyID("partner-a-1").algorithm(JWSAlgorithm.RS256).generate();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        TokenIssuer issuer = new TokenIssuer(key, server);
        byte[] jwks = new JWKSet(key.toPublicJWK()).toString(true).getBytes(StandardCharsets.UTF_8);
        server.createContext("/jwks.json", exchange -> {
            issuer.fetches.incrementAndGet();
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(200, jwks.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(jwks);
            }
        });
        server.start();
        return issuer;
    }

    /** {@code http://127.0.0.1:port/jwks.json}. */
    String jwksUri() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/jwks.json";
    }

    /** How often the gateway fetched the key set. */
    int fetches() {
        return fetches.get();
    }

    /** A valid token for {@code sub} in {@code groups}, expiring in ten minutes. */
    String token(String sub, String... groups) {
        return sign(key, claims(sub, groups).build());
    }

    /** The claims of a valid token, to be broken by the caller. */
    JWTClaimsSet.Builder claims(String sub, String... groups) {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().issuer(ISSUER).subject(sub).audience(AUDIENCE)
                .issueTime(Date.from(now.minusSeconds(5))).notBeforeTime(Date.from(now.minusSeconds(5)))
                .expirationTime(Date.from(now.plus(Duration.ofMinutes(10)))).jwtID(UUID.randomUUID().toString())
                .claim("groups", List.of(groups)).claim("org", "partner-a");
    }

    /** Signed with the issuer's key. */
    String sign(JWTClaimsSet claims) {
        return sign(key, claims);
    }

    /** Signed with another key that claims the issuer's key id: a forged signature. */
    String forged(JWTClaimsSet claims) throws JOSEException {
        RSAKey other = new RSAKeyGenerator(2048).keyID(key.getKeyID()).generate();
        return sign(other, claims);
    }

    /** The claims unsigned, {@code alg: none}. */
    static String unsigned(JWTClaimsSet claims) {
        return new PlainJWT(claims).serialize();
    }

    /** Signed with the issuer's key, with {@code typ} as given (Keycloak's default is {@code JWT}). */
    String sign(JWTClaimsSet claims, String type) {
        return sign(key, claims, type);
    }

    private static String sign(RSAKey with, JWTClaimsSet claims) {
        return sign(with, claims, "at+jwt");
    }

    private static String sign(RSAKey with, JWTClaimsSet claims, String type) {
        try {
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(with.getKeyID())
                    .type(new JOSEObjectType(type)).build(), claims);
            jwt.sign(new RSASSASigner(with));
            return jwt.serialize();
        } catch (JOSEException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
