package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.nimbusds.jwt.JWTClaimsSet;
import dev.pep.it.RecordingUpstream.Mode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The house rule "never log a secret", end to end: known bearer tokens, session cookies, the
 * password and the identity assertion go down the allow, deny and refusal paths of the packaged
 * gateway running at DEBUG; then the whole log output and every audit file are searched for each
 * secret and each of its base64url parts.
 */
class SecretsNeverLoggedIT {

    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");
    private static final String PASSWORD = "demo-password";

    @TempDir
    static Path dir;

    static TokenIssuer issuer;
    static RecordingUpstream brief;
    static GatewayProcess gateway;
    static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        issuer = TokenIssuer.start();
        brief = RecordingUpstream.start(Mode.ANSWER);
        Files.copy(GatewayProcess.pepHome().resolve("config/quickstart-users.yaml"), dir.resolve("users.yaml"));
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), """
                apps:
                  brief:
                    hosts: [brief.pep.localhost]
                    upstream: %s
                  chat:
                    hosts: [chat.pep.localhost]
                    upstream: %s
                rules:
                  - id: brief-readers
                    apps: [brief]
                    effect: allow
                    when: 'subject.id in ["alice", "demo"]'
                    obligations:
                      headers: { X-Pep-Subject: "${subject.id}" }
                      assertion: {}
                """.formatted(brief.url(), brief.url()));
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, GatewayProcess.baseConfig("it-secrets") + """
                policy:
                  directory: policies
                identity:
                  local-users: users.yaml
                  bearer:
                    - issuer: %s
                      jwks-uri: %s
                      audiences: [%s]
                audit:
                  directory: audit
                """.formatted(TokenIssuer.ISSUER, issuer.jwksUri(), TokenIssuer.AUDIENCE));
        gateway = GatewayProcess.start(file, Map.of("PEP_LOG_LEVEL", "DEBUG"));
        client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, brief, issuer);
    }

    @Test
    void tokensCookiesPasswordAndAssertion_downEveryPath_neverInLogOrAudit() throws Exception {
        Map<String, String> secrets = new LinkedHashMap<>();
        String token = issuer.token("alice", "readers");
        secrets.put("bearer token", token);
        await().atMost(Duration.ofSeconds(30)).until(() -> send("brief", "Bearer " + token, null).statusCode() == 200);
        assertThat(send("chat", "Bearer " + token, null).statusCode()).as("denied app").isEqualTo(403);
        String expired = issuer.sign(issuer.claims("alice").expirationTime(Date.from(Instant.now().minusSeconds(900)))
                .issueTime(Date.from(Instant.now().minusSeconds(1800)))
                .notBeforeTime(Date.from(Instant.now().minusSeconds(1800))).build());
        secrets.put("expired token", expired);
        assertThat(send("brief", "Bearer " + expired, null).statusCode()).as("expired").isEqualTo(401);
        JWTClaimsSet claims = issuer.claims("alice").build();
        String forged = issuer.forged(claims);
        secrets.put("forged token", forged);
        assertThat(send("brief", "Bearer " + forged, null).statusCode()).as("forged").isEqualTo(401);

        String briefCookie = signIn("brief");
        String chatCookie = signIn("chat");
        secrets.put("brief session cookie", briefCookie);
        secrets.put("chat session cookie", chatCookie);
        assertThat(send("brief", null, briefCookie).statusCode()).as("cookie, allowed").isEqualTo(200);
        assertThat(send("chat", null, chatCookie).statusCode()).as("cookie, denied").isEqualTo(403);
        assertThat(send("chat", null, briefCookie).statusCode()).as("cookie moved to another app").isEqualTo(401);
        assertThat(send("brief", null, briefCookie + "x").statusCode()).as("tampered cookie").isEqualTo(401);
        brief.requests().stream().map(r -> r.header("x-pep-assertion")).flatMap(java.util.Optional::stream)
                .distinct().forEach(a -> secrets.put("assertion " + a.hashCode(), a));
        assertThat(secrets.keySet()).anyMatch(k -> k.startsWith("assertion"));
        secrets.put("password", PASSWORD);

        String auditBefore = audit();
        assertThat(auditBefore).as("audit events were written").contains("alice").contains("demo");
        assertThat(gateway.stop(Duration.ofSeconds(30))).isZero();
        String everything = gateway.stderr() + gateway.stdout() + audit();

        assertThat(gateway.stderr()).as("the gateway logged at DEBUG").contains("DEBUG");
        for (Map.Entry<String, String> secret : secrets.entrySet()) {
            for (String part : parts(secret.getValue())) {
                assertThat(everything).as(secret.getKey() + " part " + part.substring(0, 8) + "…")
                        .doesNotContain(part);
            }
        }
    }

    /** The secret, and each of its dot-separated parts long enough to be unmistakable. */
    private static List<String> parts(String secret) {
        List<String> out = new ArrayList<>(List.of(secret));
        for (String part : secret.split("\\.")) {
            if (part.length() >= 16) {
                out.add(part);
            }
        }
        return out;
    }

    /** Every file under the audit directory (spool and events), as text. */
    private static String audit() throws IOException {
        StringBuilder all = new StringBuilder();
        try (Stream<Path> files = Files.walk(dir.resolve("audit"))) {
            files.filter(Files::isRegularFile).sorted().forEach(f -> {
                try {
                    all.append(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)).append('\n');
                } catch (java.nio.file.NoSuchFileException e) {
                    // A spool file renamed while the gateway runs; the final read comes after it stopped.
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
        return all.toString();
    }

    private static HttpResponse<String> send(String app, String authorization, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(url(app, "/notes")).header("Accept", "application/json");
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        if (cookie != null) {
            b.header("Cookie", "__Host-pep_session=" + cookie);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Signs in as the quickstart's demo user on {@code app}'s host; the session cookie's value. */
    private static String signIn(String app) throws Exception {
        HttpResponse<String> form = client.send(HttpRequest.newBuilder(url(app, "/.pep/login?return_to=%2F"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(form.statusCode()).as(form.body()).isEqualTo(200);
        Matcher csrf = CSRF.matcher(form.body());
        assertThat(csrf.find()).isTrue();
        String csrfCookie = cookie(form, "__Host-pep_csrf");
        String body = "csrf=" + enc(csrf.group(1)) + "&return_to=%2F&username=demo&password=" + enc(PASSWORD);
        HttpResponse<String> login = client.send(HttpRequest.newBuilder(url(app, "/.pep/login"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Cookie", "__Host-pep_csrf=" + csrfCookie)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).as(login.body()).isEqualTo(303);
        return cookie(login, "__Host-pep_session");
    }

    private static String cookie(HttpResponse<?> r, String name) {
        return r.headers().allValues("set-cookie").stream().filter(c -> c.startsWith(name + "="))
                .map(c -> c.substring(name.length() + 1, c.indexOf(';'))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " cookie in " + r.headers()));
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static URI url(String app, String pathAndQuery) {
        return URI.create("https://" + app.toLowerCase(Locale.ROOT) + ".pep.localhost:" + gateway.port() + pathAndQuery);
    }
}
