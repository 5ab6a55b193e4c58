package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sign-in through the packaged gateway when the partner's provider fails it: a token endpoint
 * that accepts the code exchange and never answers, and a provider that is not there at all. The
 * browser gets a bounded, plain error page with its reason and request id; no session cookie is
 * set and nothing reaches the app.
 */
class ProviderFaultsIT {

    private static final Pattern STATE = Pattern.compile("[?&]state=([^&]+)");

    @TempDir
    static Path dir;

    static HangingProvider hanging;
    static RecordingUpstream app;
    static GatewayProcess gateway;

    @BeforeAll
    static void start() throws Exception {
        hanging = HangingProvider.start();
        app = RecordingUpstream.start(Mode.ANSWER);
        int nobody = RecordingUpstream.unboundPort();
        Files.writeString(dir.resolve("client.secret"), "faults-client-secret-for-tests-only\n");
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), """
                apps:
                  depot:
                    hosts: [hang.pep.localhost]
                    upstream: %s
                  yard:
                    hosts: [down.pep.localhost]
                    upstream: %s
                rules:
                  - id: signed-in
                    apps: [depot, yard]
                    effect: allow
                    when: subject.authenticated
                """.formatted(app.url(), app.url()));
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-provider-faults") + """
                policy:
                  directory: policies
                audit:
                  directory: audit
                identity:
                  provider-timeout: 2s
                  providers:
                    - name: hangs
                      issuer: %s
                      client-id: pep-gateway
                      client-secret-file: client.secret
                      insecure-http: true
                      hosts: [hang.pep.localhost]
                    - name: gone
                      issuer: http://127.0.0.1:%d/realms/gone
                      client-id: pep-gateway
                      client-secret-file: client.secret
                      insecure-http: true
                      hosts: [down.pep.localhost]
                """.formatted(hanging.issuer(), nobody));
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, app, hanging);
    }

    @Test
    void tokenEndpointHangsAtTheCallback_503ProviderUnavailableWithinTheTimeout_noSession() throws Exception {
        Browser browser = new Browser(gateway.devCa());
        // Discovery and keys come in the background after start; the sign-in redirects once they did.
        URI authorize = await().atMost(Duration.ofSeconds(30)).until(() -> {
            HttpResponse<String> r = browser.get(uri("hang", "/.pep/login?return_to=%2Fbins"));
            return r.statusCode() == 302 ? Browser.location(r) : null;
        }, u -> u != null);
        assertThat(authorize.toString()).startsWith(hanging.issuer() + "/authorize?");
        Matcher state = STATE.matcher(authorize.toString());
        assertThat(state.find()).isTrue();

        long t0 = System.nanoTime();
        HttpResponse<String> back = browser.get(uri("hang", "/.pep/callback?code=code-1&state=" + state.group(1)));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);

        assertThat(hanging.tokenRequests()).as("the exchange reached the hanging endpoint").isEqualTo(1);
        assertThat(back.statusCode()).as(back.body()).isEqualTo(503);
        assertThat(took).as("bounded by identity.provider-timeout (2 s)").isBetween(Duration.ofMillis(1500),
                Duration.ofSeconds(10));
        String requestId = back.headers().firstValue("x-request-id").orElseThrow();
        assertThat(back.body()).contains("provider_unavailable").contains(requestId);
        assertThat(back.headers().allValues("set-cookie")).noneMatch(c -> c.startsWith("__Host-pep_session=")
                && !c.startsWith("__Host-pep_session=;"));
        assertThat(app.heads()).isEmpty();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(AuditFiles.lines(dir.resolve("audit")))
                .anySatisfy(line -> assertThat(line).contains("login.failed").contains("provider_unavailable")));
    }

    @Test
    void providerDownAtTheStartOfASignIn_503ProviderUnavailable_atOnce() throws Exception {
        Browser browser = new Browser(gateway.devCa());

        long t0 = System.nanoTime();
        HttpResponse<String> r = browser.get(uri("down", "/.pep/login?return_to=%2F"));
        Duration took = Duration.ofNanos(System.nanoTime() - t0);

        assertThat(r.statusCode()).as(r.body()).isEqualTo(503);
        assertThat(r.body()).contains("provider_unavailable")
                .contains(r.headers().firstValue("x-request-id").orElseThrow());
        assertThat(took).isLessThan(Duration.ofSeconds(10));
        assertThat(app.heads()).isEmpty();
    }

    private static URI uri(String app, String pathAndQuery) {
        return URI.create("https://" + app + ".pep.localhost:" + gateway.port() + pathAndQuery);
    }
}
