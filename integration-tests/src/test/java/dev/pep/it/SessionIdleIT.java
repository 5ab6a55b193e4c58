package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How long a browser session lives through the packaged gateway: use slides the idle expiry (the
 * answers to an active browser carry the session cookie re-sealed, over HTTP/2 here), and an idle
 * one ends after {@code session-idle-timeout} (4 s in this test).
 */
class SessionIdleIT {

    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");

    @TempDir
    static Path dir;

    static RecordingUpstream app;
    static GatewayProcess gateway;
    static HttpClient h1;
    static HttpClient h2;

    @BeforeAll
    static void start() throws Exception {
        app = RecordingUpstream.start(Mode.ANSWER);
        Files.copy(GatewayProcess.pepHome().resolve("config/quickstart-users.yaml"), dir.resolve("users.yaml"));
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), """
                apps:
                  brief:
                    hosts: [brief.pep.localhost]
                    upstream: %s
                rules:
                  - id: signed-in
                    apps: [brief]
                    effect: allow
                    when: subject.authenticated
                """.formatted(app.url()));
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-session-idle") + """
                policy:
                  directory: policies
                identity:
                  local-users: users.yaml
                  session-idle-timeout: 4s
                """);
        h1 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        h2 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_2);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, app);
    }

    @Test
    void activeBrowser_cookieRenewedOnUse_outlivesTheIdleTimeout_thenEndsWhenIdle() throws Exception {
        String first = signIn();
        String cookie = first;
        int renewals = 0;
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < end) {
            HttpResponse<String> r = get(h2, cookie);
            assertThat(r.statusCode()).as("an active session stays signed in: " + r.body()).isEqualTo(200);
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
            Optional<String> renewed = sessionCookie(r);
            if (renewed.isPresent()) {
                cookie = renewed.get();
                renewals++;
            }
            await().pollDelay(Duration.ofMillis(700)).atMost(Duration.ofSeconds(2)).until(() -> true);
        }

        assertThat(renewals).as("renewed at least every idle timeout").isGreaterThanOrEqualTo(2);
        assertThat(get(h1, first).statusCode()).as("the sign-in's own cookie ran out").isEqualTo(302);
        String last = cookie;
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500))
                .until(() -> get(h1, last).statusCode() == 302);
    }

    private static HttpResponse<String> get(HttpClient client, String cookie) throws Exception {
        return client.send(HttpRequest.newBuilder(url("/notes")).header("Accept", "text/html")
                .header("Cookie", cookie).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String signIn() throws Exception {
        HttpResponse<String> form = h1.send(HttpRequest.newBuilder(url("/.pep/login?return_to=%2F"))
                .header("Accept", "text/html").build(), HttpResponse.BodyHandlers.ofString());
        Matcher csrf = CSRF.matcher(form.body());
        assertThat(csrf.find()).as(form.body()).isTrue();
        String csrfCookie = form.headers().allValues("set-cookie").stream()
                .filter(c -> c.startsWith("__Host-pep_csrf=")).map(c -> c.substring(0, c.indexOf(';')))
                .findFirst().orElseThrow();
        HttpResponse<String> login = h1.send(HttpRequest.newBuilder(url("/.pep/login"))
                .header("Cookie", csrfCookie).header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("csrf=" + csrf.group(1)
                        + "&return_to=%2F&username=demo&password=demo-password")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).as(login.body()).isEqualTo(303);
        return sessionCookie(login).orElseThrow();
    }

    private static Optional<String> sessionCookie(HttpResponse<?> r) {
        return r.headers().allValues("set-cookie").stream().filter(c -> c.startsWith("__Host-pep_session="))
                .map(c -> c.substring(0, c.indexOf(';'))).findFirst();
    }

    private static URI url(String pathAndQuery) {
        return URI.create("https://brief.pep.localhost:" + gateway.port() + pathAndQuery);
    }
}
