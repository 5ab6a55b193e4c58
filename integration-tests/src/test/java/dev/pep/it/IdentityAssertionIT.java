package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The identity assertion through the packaged gateway: an app whose rule asks for it receives a
 * short-lived JWT about the subject and verifies it with Nimbus against the key set the gateway
 * publishes; an assertion header a client sends never reaches the app.
 */
class IdentityAssertionIT {

    private static final String HEADER = "X-Desk-Assertion";

    @TempDir
    static Path dir;

    static TokenIssuer issuer;
    static RecordingUpstream desk;
    static GatewayProcess gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        issuer = TokenIssuer.start();
        desk = RecordingUpstream.start(Mode.ANSWER);
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), """
                apps:
                  desk:
                    hosts: [desk.pep.localhost]
                    upstream: %s
                rules:
                  - id: desk-users
                    apps: [desk]
                    effect: allow
                    when: '"desk-users" in subject.groups'
                    obligations:
                      assertion: { header: %s, lifetime: 90s }
                """.formatted(desk.url(), HEADER));
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-assertion") + """
                policy:
                  directory: policies
                identity:
                  session-keys: keys/session-keys
                  bearer:
                    - issuer: %s
                      jwks-uri: %s
                      audiences: [%s]
                """.formatted(TokenIssuer.ISSUER, issuer.jwksUri(), TokenIssuer.AUDIENCE));
        client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        String token = issuer.token("warm-up", "desk-users");
        await().atMost(Duration.ofSeconds(30)).until(() -> send(token, false).statusCode() == 200);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, desk, issuer);
    }

    @BeforeEach
    void clear() {
        desk.clear();
    }

    @Test
    void allowed_appReceivesAssertion_verifiedAgainstThePublishedKeySet() throws Exception {
        HttpResponse<String> r = send(issuer.token("alice", "desk-users"), false);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String assertion = desk.requests().get(0).header(HEADER.toLowerCase(Locale.ROOT)).orElseThrow();
        JWTClaimsSet claims = verify(assertion, partnerJwks());
        assertThat(claims.getSubject()).isEqualTo("alice");
        assertThat(claims.getIssuer()).isEqualTo("pep-gateway");
        assertThat(claims.getStringClaim("org")).isEqualTo("partner-a");
        assertThat(claims.getStringClaim("idp")).isEqualTo(TokenIssuer.ISSUER);
        assertThat(claims.getStringClaim("amr")).isEqualTo("bearer");
        assertThat(claims.getStringListClaim("groups")).containsExactly("desk-users");
        Duration lifetime = Duration.between(claims.getIssueTime().toInstant(),
                claims.getExpirationTime().toInstant());
        assertThat(lifetime).isEqualTo(Duration.ofSeconds(90));
    }

    @Test
    void keySet_sameOnPartnerHostAndAdminListener_publicOnly_inTheConfiguredKeyDirectory() throws Exception {
        JWKSet partner = partnerJwks();
        HttpResponse<String> admin = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + gateway.adminPort() + "/.well-known/jwks.json")).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(admin.statusCode()).isEqualTo(200);
        assertThat(JWKSet.parse(admin.body()).toJSONObject()).isEqualTo(partner.toJSONObject());
        assertThat(partner.getKeys()).isNotEmpty().allSatisfy(k -> assertThat(k.isPrivate()).isFalse());
        assertThat(dir.resolve("keys/assertion-keys.jwks")).isRegularFile();
        assertThat(gateway.stderr()).contains("assertion keys ready")
                .contains("signing_kid=" + partner.getKeys().get(0).getKeyID());
    }

    @Test
    void clientSentAssertionHeaders_inAnySpelling_neverReachTheApp() throws Exception {
        HttpResponse<String> r = send(issuer.token("alice", "desk-users"), true);

        assertThat(r.statusCode()).isEqualTo(200);
        String head = new String(desk.requests().get(0).head(), StandardCharsets.ISO_8859_1)
                .toLowerCase(Locale.ROOT);
        assertThat(head).containsOnlyOnce("x-desk-assertion:").doesNotContain("x.desk.assertion")
                .doesNotContain("forged");
        verify(desk.requests().get(0).header("x-desk-assertion").orElseThrow(), partnerJwks());
    }

    @Test
    void underscoreSpellingOfTheHeader_400HeaderNameUnderscore_nothingReachesTheApp() throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://desk.pep.localhost:"
                + gateway.port() + "/inbox")).header("Authorization", "Bearer " + issuer.token("alice", "desk-users"))
                .header("X_Desk_Assertion", "forged").header("Accept", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("header_name_underscore");
        assertThat(desk.heads()).isEmpty();
    }

    @Test
    void deniedSubjectWithForgedAssertion_403_nothingReachesTheApp() throws Exception {
        HttpResponse<String> r = send(issuer.token("mallory", "visitors"), true);

        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(desk.heads()).isEmpty();
    }

    @Test
    void assertionForAnotherApp_refusedByTheAppsAudienceCheck() throws Exception {
        send(issuer.token("alice", "desk-users"), false);
        String assertion = desk.requests().get(0).header("x-desk-assertion").orElseThrow();

        DefaultJWTProcessor<SecurityContext> other = processor(partnerJwks(), "ledger");

        org.assertj.core.api.Assertions.assertThatThrownBy(() -> other.process(assertion, null))
                .isInstanceOf(BadJOSEException.class);
    }

    private static JWTClaimsSet verify(String assertion, JWKSet keys) throws Exception {
        return processor(keys, "desk").process(assertion, null);
    }

    /** What an app does: ES256 under the gateway's keys, its typ, its own audience, exp. */
    private static DefaultJWTProcessor<SecurityContext> processor(JWKSet keys, String app) {
        DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
        p.setJWSTypeVerifier(new DefaultJOSEObjectTypeVerifier<>(new JOSEObjectType("pep-assertion+jwt")));
        p.setJWSKeySelector(new JWSVerificationKeySelector<>(JWSAlgorithm.ES256, new ImmutableJWKSet<>(keys)));
        p.setJWTClaimsSetVerifier(new DefaultJWTClaimsVerifier<>(app,
                new JWTClaimsSet.Builder().issuer("pep-gateway").build(), Set.of("sub", "exp", "iat", "jti")));
        return p;
    }

    private static JWKSet partnerJwks() throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(
                "https://desk.pep.localhost:" + gateway.port() + "/.pep/jwks.json")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("application/jwk-set+json");
        return JWKSet.parse(r.body());
    }

    private static HttpResponse<String> send(String token, boolean forge) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("https://desk.pep.localhost:" + gateway.port()
                + "/inbox")).header("Authorization", "Bearer " + token).header("Accept", "application/json");
        if (forge) {
            b.header(HEADER, "forged-by-client").header("x-desk-ASSERTION", "forged-too")
                    .header("X.Desk.Assertion", "forged-as-well");
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
