package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jwt.JWTClaimsSet;
import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bearer JWTs through the packaged gateway, with the partner's key set served on loopback: a valid
 * token reaches the app as its subject; every broken one is refused with 401 and its reason, and
 * nothing of it reaches the app.
 */
class BearerTokenIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A second issuer, configured like Keycloak's defaults: typ JWT, no nbf, roles nested. */
    private static final String PARTNER_B = "https://idp.partner-b.example/realms/b";

    @TempDir
    static Path dir;

    static TokenIssuer issuer;
    static RecordingUpstream ledger;
    static GatewayProcess gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        issuer = TokenIssuer.start();
        ledger = RecordingUpstream.start(Mode.ANSWER);
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), """
                apps:
                  ledger:
                    hosts: [ledger.pep.localhost]
                    upstream: %s
                rules:
                  - id: ledger-users
                    apps: [ledger]
                    effect: allow
                    when: '"ledger-users" in subject.groups'
                    obligations:
                      headers:
                        X-Pep-Subject: "${subject.id}"
                        X-Pep-Organisation: "${subject.organisation}"
                  - id: ledger-auditors-of-partner-b
                    apps: [ledger]
                    effect: allow
                    when: >
                      subject.issuer == "%s" && "ledger-auditors" in subject.roles
                      && subject.claims["department"] == "audit"
                    obligations:
                      headers:
                        X-Pep-Subject: "${subject.id}"
                        X-Pep-Organisation: "${subject.organisation}"
                        X-Pep-Email: "${subject.email}"
                        X-Pep-Groups: "${subject.groups}"
                """.formatted(ledger.url(), PARTNER_B));
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-bearer") + """
                policy:
                  directory: policies
                identity:
                  bearer:
                    - issuer: %s
                      jwks-uri: %s
                      audiences: [%s]
                    - issuer: %s
                      jwks-uri: %s
                      audiences: [%s]
                      types: [JWT]
                      required-claims: [jti]
                      claims:
                        organisation: tenant
                        groups: memberships
                        roles: realm_access.roles
                        email: mail
                        extra: [department]
                audit:
                  directory: audit
                """.formatted(TokenIssuer.ISSUER, issuer.jwksUri(), TokenIssuer.AUDIENCE, PARTNER_B, issuer.jwksUri(),
                TokenIssuer.AUDIENCE));
        client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        // The key set is fetched in the background after start: wait until a valid token passes.
        String token = issuer.token("warm-up", "ledger-users");
        await().atMost(Duration.ofSeconds(30)).until(() -> get(token).statusCode() == 200);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, ledger, issuer);
    }

    @BeforeEach
    void clear() {
        ledger.clear();
    }

    @Test
    void validToken_allowed_appSeesTheSubjectNotTheToken() throws Exception {
        String token = issuer.token("alice", "ledger-users");

        HttpResponse<String> r = get(token);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(ledger.requests()).singleElement().satisfies(req -> {
            assertThat(req.header("x-pep-subject")).hasValue("alice");
            assertThat(req.header("x-pep-organisation")).hasValue("partner-a");
            assertThat(req.headerValues("authorization")).as("the partner's token stays at the gateway")
                    .isEmpty();
            assertThat(req.headText()).doesNotContain(token);
        });
    }

    @Test
    void validTokenWithoutTheGroup_403NoMatchingRule_nothingReachesTheApp() throws Exception {
        HttpResponse<String> r = get(issuer.token("mallory", "visitors"));

        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("no_matching_rule");
        assertThat(ledger.heads()).isEmpty();
    }

    @Test
    void issuerWithItsOwnTypesClaimsAndMapping_keycloakStyleToken_allowed_attributesMapped() throws Exception {
        String token = issuer.sign(partnerB("carol").build(), "JWT");

        HttpResponse<String> r = get(token);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(ledger.requests()).singleElement().satisfies(req -> {
            assertThat(req.header("x-pep-subject")).hasValue("carol");
            assertThat(req.header("x-pep-organisation")).hasValue("partner-b");
            assertThat(req.header("x-pep-email")).hasValue("carol@partner-b.example");
            assertThat(req.header("x-pep-groups")).hasValue("finance,ledger-readers");
        });
    }

    static Stream<Arguments> perIssuerRefusals() {
        return Stream.of(
                Arguments.of("typ JWT at the default issuer", "token_type_mismatch",
                        (Function<TokenIssuer, String>) i -> i.sign(i.claims("alice", "ledger-users").build(), "JWT")),
                Arguments.of("no nbf at the default issuer", "token_claims_missing",
                        (Function<TokenIssuer, String>) i -> i.sign(i.claims("alice", "ledger-users")
                                .notBeforeTime(null).build())),
                Arguments.of("typ at+jwt where only JWT is accepted", "token_type_mismatch",
                        (Function<TokenIssuer, String>) i -> i.sign(partnerB("carol").build(), "at+jwt")),
                Arguments.of("no jti where it is required", "token_claims_missing",
                        (Function<TokenIssuer, String>) i -> i.sign(partnerB("carol").jwtID(null).build(), "JWT")),
                Arguments.of("an ID token of the JWT issuer", "token_type_mismatch",
                        (Function<TokenIssuer, String>) i -> i.sign(partnerB("carol").claim("nonce", "n-1").build(),
                                "JWT")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("perIssuerRefusals")
    void perIssuerTypeAndClaimSettings_refuseWhatTheyDoNotAllow(String what, String reason,
            Function<TokenIssuer, String> make) throws Exception {
        HttpResponse<String> r = get(make.apply(issuer));

        assertThat(r.statusCode()).as(what + ": " + r.body()).isEqualTo(401);
        assertThat(JSON.readTree(r.body()).get("error").asText()).as(what).isEqualTo(reason);
        assertThat(ledger.heads()).as(what).isEmpty();
    }

    /** Claims as Keycloak writes them by default: no nbf, roles under realm_access, own claim names. */
    private static JWTClaimsSet.Builder partnerB(String sub) {
        Instant now = Instant.now();
        return new JWTClaimsSet.Builder().issuer(PARTNER_B).subject(sub).audience(TokenIssuer.AUDIENCE)
                .issueTime(Date.from(now.minusSeconds(5))).expirationTime(Date.from(now.plus(Duration.ofMinutes(10))))
                .jwtID(java.util.UUID.randomUUID().toString()).claim("tenant", "partner-b")
                .claim("memberships", java.util.List.of("ledger-readers", "finance"))
                .claim("realm_access", java.util.Map.of("roles", java.util.List.of("ledger-auditors")))
                .claim("mail", "carol@partner-b.example").claim("department", "audit");
    }

    static Stream<Arguments> brokenTokens() {
        Instant now = Instant.now();
        return Stream.of(
                Arguments.of("expired", "token_expired", (Function<TokenIssuer, String>) i -> i.sign(
                        i.claims("alice", "ledger-users").issueTime(Date.from(now.minusSeconds(3600)))
                                .notBeforeTime(Date.from(now.minusSeconds(3600)))
                                .expirationTime(Date.from(now.minusSeconds(600))).build())),
                Arguments.of("wrong audience", "audience_mismatch", (Function<TokenIssuer, String>) i -> i.sign(
                        i.claims("alice", "ledger-users").audience("another-gateway").build())),
                Arguments.of("unknown issuer", "unknown_issuer", (Function<TokenIssuer, String>) i -> i.sign(
                        i.claims("alice", "ledger-users").issuer("https://idp.elsewhere.example").build())),
                Arguments.of("alg none", "token_algorithm_not_allowed", (Function<TokenIssuer, String>) i ->
                        TokenIssuer.unsigned(i.claims("alice", "ledger-users").build())),
                Arguments.of("forged signature", "token_invalid_signature", (Function<TokenIssuer, String>) i -> {
                    try {
                        return i.forged(i.claims("alice", "ledger-users").build());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("brokenTokens")
    void brokenToken_401WithItsReason_nothingReachesTheApp(String what, String reason,
            Function<TokenIssuer, String> make) throws Exception {
        HttpResponse<String> r = get(make.apply(issuer));

        assertThat(r.statusCode()).as(what + ": " + r.body()).isEqualTo(401);
        JsonNode error = JSON.readTree(r.body());
        assertThat(error.get("error").asText()).as(what).isEqualTo(reason);
        assertThat(error.get("request_id").asText()).isNotBlank();
        assertThat(ledger.heads()).as(what).isEmpty();
    }

    @Test
    void claimsOfAValidToken_signedWithTheIssuersKeyAfterAlteration_401() throws Exception {
        // Take a valid token and swap its payload for one naming another subject.
        String valid = issuer.token("alice", "ledger-users");
        JWTClaimsSet altered = issuer.claims("root", "ledger-users").build();
        String[] parts = valid.split("\\.");
        String payload = com.nimbusds.jose.util.Base64URL.encode(altered.toString()).toString();

        HttpResponse<String> r = get(parts[0] + "." + payload + "." + parts[2]);

        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(r.body()).get("error").asText()).isEqualTo("token_invalid_signature");
        assertThat(ledger.heads()).isEmpty();
    }

    static HttpResponse<String> get(String token) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("https://ledger.pep.localhost:" + gateway.port()
                        + "/books")).header("Authorization", "Bearer " + token)
                .header("Accept", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }
}
