package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quickstart: {@code pep serve --config config/quickstart.yaml}, run on a copy of the
 * repository's {@code config/} directory with free ports, laid out like the repository so that its
 * {@code ../.pep} paths stay in the temp dir. The demo user signs in through the login form.
 */
class QuickstartIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CSRF = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"");

    @TempDir
    static Path dir;

    static GatewayProcess gateway;
    static Path ca;

    @BeforeAll
    static void start() throws Exception {
        Path config = dir.resolve("config");
        copyTree(GatewayProcess.pepHome().resolve("config"), config);
        Path file = config.resolve("quickstart.yaml");
        String original = Files.readString(file);
        String freePorts = original.replace("port: 8443", "port: 0").replace("port: 9090", "port: 0")
                .replace("port: 8444", "port: 0");
        assertThat(freePorts).as("the quickstart's fixed ports were found and replaced")
                .isNotEqualTo(original).doesNotContain("port: 8443").doesNotContain("port: 9090")
                .doesNotContain("port: 8444");
        Files.writeString(file, freePorts);
        gateway = GatewayProcess.start(file);
        ca = dir.resolve(".pep/dev-ca/ca.pem");
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway);
    }

    @Test
    void firstStart_createsDevelopmentCa_andNamesItInTheLog() throws Exception {
        assertThat(ca).isRegularFile();
        assertThat(gateway.stderr()).contains("development certificate created")
                .contains("trust_ca=" + ca.toRealPath());
    }

    /** The shipped TCP app is routed by SNI: without a client certificate it is closed at once. */
    @Test
    void tcpApp_withoutClientCertificate_isClosed() throws Exception {
        ToolResult r = Clients.openssl(gateway.port(), "telemetry.partners.example",
                "<14>hello\n".getBytes(java.nio.charset.StandardCharsets.UTF_8), Duration.ofSeconds(20));

        assertThat(r.timedOut()).as("the gateway closed the connection; " + r).isFalse();
        assertThat(gateway.stderr()).doesNotContain("app not routed");
    }

    @Test
    void browserWithoutSession_isSentToTheLoginForm() throws Exception {
        ToolResult r = demo("-i", "-H", "Accept: text/html", url("/hello"));

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 302");
        assertThat(r.out().toLowerCase()).contains("location: /.pep/login?return_to=%2fhello");
    }

    @Test
    void demoUserSignsIn_thenEchoAppAnswers_withoutTheSessionCookie() throws Exception {
        JsonNode echo = signedInEcho("/hello?x=1");

        assertThat(echo.get("app").asText()).isEqualTo("pep echo");
        assertThat(echo.get("path").asText()).isEqualTo("/hello?x=1");
        assertThat(header(echo, "x-forwarded-proto")).containsExactly("https");
        assertThat(echo.toString()).doesNotContain("pep_session").doesNotContain("pep_csrf");
    }

    @Test
    void signedIn_echoAppSeesTheRulesObligationHeaders() throws Exception {
        JsonNode echo = signedInEcho("/who");

        assertThat(header(echo, "x-pep-subject")).containsExactly("demo");
        assertThat(header(echo, "x-pep-organisation")).containsExactly("pep-demo");
    }

    @Test
    void closedHost_anonymousApiClient_401AuthenticationRequired() throws Exception {
        ToolResult r = Clients.curl(ca, "closed.pep.localhost", gateway.port(), "-i",
                "https://closed.pep.localhost:" + gateway.port() + "/");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 401");
        String out = ProxyingIT.body(r);
        assertThat(out.toLowerCase()).contains("www-authenticate: bearer");
        JsonNode error = JSON.readTree(out.substring(out.indexOf("\r\n\r\n") + 4));
        assertThat(error.get("error").asText()).isEqualTo("authentication_required");
        assertThat(error.get("request_id").asText()).isNotBlank();
    }

    @Test
    void closedHost_signedIn_403WithTheReasonAndRequestId_asTheReadmeSays() throws Exception {
        Path jar = signIn("closed");
        ToolResult r = Clients.curl(ca, "closed.pep.localhost", gateway.port(), "-b", jar.toString(),
                "https://closed.pep.localhost:" + gateway.port() + "/");

        assertThat(ProxyingIT.statusLine(r)).as(r.toString()).endsWith(" 403");
        JsonNode error = JSON.readTree(ProxyingIT.body(r));
        assertThat(error.get("error").asText()).isEqualTo("no_matching_rule");
        assertThat(error.get("request_id").asText()).isNotBlank();
    }

    /** Signs in as the quickstart's demo user with a cookie jar, then GETs {@code path}. */
    private static JsonNode signedInEcho(String path) throws Exception {
        Path jar = signIn("demo");
        ToolResult echo = demo("-b", jar.toString(), url(path));
        assertThat(ProxyingIT.statusLine(echo)).as(echo.toString()).endsWith(" 200");
        return JSON.readTree(ProxyingIT.body(echo));
    }

    /** Signs in as the demo user through the login form of {@code app}.pep.localhost; the cookie jar. */
    private static Path signIn(String app) throws Exception {
        String host = app + ".pep.localhost";
        String base = "https://" + host + ":" + gateway.port();
        Path jar = Files.createTempFile(dir, "cookies", ".txt");
        ToolResult form = Clients.curl(ca, host, gateway.port(), "-c", jar.toString(), "-b", jar.toString(),
                base + "/.pep/login?return_to=%2F");
        assertThat(ProxyingIT.statusLine(form)).as(form.toString()).endsWith(" 200");
        Matcher csrf = CSRF.matcher(form.out());
        assertThat(csrf.find()).as(form.out()).isTrue();

        ToolResult login = Clients.curl(ca, host, gateway.port(), "-c", jar.toString(), "-b", jar.toString(),
                "--data-urlencode", "csrf=" + csrf.group(1), "--data-urlencode", "return_to=/",
                "--data-urlencode", "username=demo", "--data-urlencode", "password=demo-password",
                base + "/.pep/login");
        assertThat(ProxyingIT.statusLine(login)).as(login.toString()).endsWith(" 303");
        return jar;
    }

    private static List<String> header(JsonNode echo, String name) {
        List<String> values = new ArrayList<>();
        for (JsonNode pair : echo.get("headers")) {
            if (pair.get(0).asText().equalsIgnoreCase(name)) {
                values.add(pair.get(1).asText());
            }
        }
        return values;
    }

    private static ToolResult demo(String... args) throws Exception {
        return Clients.curl(ca, "demo.pep.localhost", gateway.port(), args);
    }

    private static String url(String pathAndQuery) {
        return "https://demo.pep.localhost:" + gateway.port() + pathAndQuery;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            paths.forEach(p -> {
                try {
                    Path target = to.resolve(from.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(target);
                    } else {
                        Files.copy(p, target);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
