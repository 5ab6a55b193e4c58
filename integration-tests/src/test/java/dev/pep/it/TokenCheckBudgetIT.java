package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Never-seen tokens cannot buy unbounded signature checks: with a budget of one check a second, a
 * burst of fresh tokens is mostly refused with 429 {@code too_many_token_checks} before the app,
 * counted in the metrics, while a token verified before still passes.
 */
class TokenCheckBudgetIT {

    private static final ObjectMapper JSON = new ObjectMapper();

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
                """.formatted(ledger.url()));
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-token-budget") + """
                limits:
                  max-token-checks-per-second: 1
                policy:
                  directory: policies
                identity:
                  bearer:
                    - issuer: %s
                      jwks-uri: %s
                      audiences: [%s]
                """.formatted(TokenIssuer.ISSUER, issuer.jwksUri(), TokenIssuer.AUDIENCE));
        client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, ledger, issuer);
    }

    @Test
    void burstOfFreshTokens_mostRefused429_seenTokenStillPasses_counted() throws Exception {
        String seen = issuer.token("alice", "ledger-users");
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1100))
                .until(() -> get(seen).join().statusCode() == 200);
        ledger.clear();

        List<CompletableFuture<HttpResponse<String>>> burst = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            burst.add(get(issuer.token("user-" + i, "ledger-users")));
        }
        List<HttpResponse<String>> answers = burst.stream().map(CompletableFuture::join).toList();
        HttpResponse<String> again = get(seen).join();

        List<HttpResponse<String>> refused = answers.stream().filter(r -> r.statusCode() == 429).toList();
        long allowed = answers.stream().filter(r -> r.statusCode() == 200).count();
        assertThat(refused.size() + allowed).as("every answer is 200 or 429").isEqualTo(20);
        assertThat(refused).as("a one-per-second budget refuses most of a burst of 20").hasSizeGreaterThan(10);
        assertThat(JSON.readTree(refused.get(0).body()).get("error").asText()).isEqualTo("too_many_token_checks");
        assertThat(again.statusCode()).as("a token verified before spends no budget").isEqualTo(200);
        assertThat(ledger.requests()).hasSize((int) allowed + 1);
        HttpResponse<String> metrics = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.body()).containsPattern("pep_identity_token_checks_refused_total [1-9]");
        assertThat(gateway.stderr()).contains("token verification budget spent");
    }

    private static CompletableFuture<HttpResponse<String>> get(String token) {
        return client.sendAsync(HttpRequest.newBuilder(URI.create("https://ledger.pep.localhost:" + gateway.port()
                        + "/books")).header("Authorization", "Bearer " + token)
                .header("Accept", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }
}
