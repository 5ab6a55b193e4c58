package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Outbound-only connectors end to end: the packaged gateway, real connector processes
 * ({@code ./pep connector}), and a real app server (python's http.server) that only the connector
 * can reach. Where this machine allows (root, iproute2), the app and its connectors run in a
 * network namespace of their own, so the app is unreachable from the gateway's side by
 * construction; elsewhere the app binds a loopback port the gateway is never told of.
 */
class ConnectorIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String ADMIN = "it-connector-admin-0123456789abcdef0123";
    private static final Pattern CONNECTOR_PORT = Pattern.compile("connector listener started address=\\S+:(\\d+)");

    @TempDir
    static Path dir;

    static Netns netns;
    static AppServer app;
    static ChatApp chat;
    static GatewayProcess gateway;
    static int connectorPort;
    static HttpClient h1;
    static HttpClient h2;
    static final List<ConnectorProcess> connectors = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        ToolResult.assumeInstalled("python3");
        netns = Netns.tryCreate();
        System.out.println(netns == null
                ? "ConnectorIT: no network namespace here; the app binds a loopback port the gateway is never told of"
                : "ConnectorIT: app and connectors in network namespace, gateway side " + netns.hostAddress());
        Path site = Files.createDirectories(dir.resolve("site"));
        Files.writeString(site.resolve("hello.txt"), "hello from the app\n");
        Files.write(site.resolve("big.bin"), RecordingUpstream.pattern(8 << 20));
        app = AppServer.start(site, netns);
        chat = ChatApp.start(netns);
        Files.writeString(dir.resolve("admin-tokens"), "ops " + ADMIN + "\n");
        String yaml = GatewayProcess.baseConfig("it-connectors").replace("drain-timeout:",
                "  token-file: admin-tokens\ndrain-timeout:") + """
                audit:
                  directory: audit
                connectors:
                  address: %s
                  port: 0
                  state-directory: connectors
                apps:
                  logistics:
                    hosts: [logistics.pep.localhost]
                    upstream: connector:depot-1
                    access: public
                  stock:
                    hosts: [stock.pep.localhost]
                    upstream: connector:depot-1
                    access: public
                  shared:
                    hosts: [shared.pep.localhost]
                    upstream: connector:pair
                    access: public
                  revocable:
                    hosts: [revocable.pep.localhost]
                    upstream: connector:doomed
                    access: public
                  tunnel-chat:
                    hosts: [tunnel-chat.pep.localhost]
                    upstream: connector:talk
                    access: public
                  chat-revoked:
                    hosts: [chat-revoked.pep.localhost]
                    upstream: connector:talk-revoked
                    access: public
                  chat-kept:
                    hosts: [chat-kept.pep.localhost]
                    upstream: connector:talk-kept
                    access: public
                  chat-pair:
                    hosts: [chat-pair.pep.localhost]
                    upstream: connector:talk-pair
                    access: public
                """.formatted(netns == null ? "127.0.0.1" : netns.hostAddress());
        gateway = GatewayProcess.start(dir, yaml);
        Matcher m = CONNECTOR_PORT.matcher(gateway.stderr());
        assertThat(m.find()).as("the connector listener line; stderr:%n%s", gateway.stderr()).isTrue();
        connectorPort = Integer.parseInt(m.group(1));
        assertThat(gateway.stderr()).contains("gateway_ca=" + dir.resolve("connectors/ca.pem"));
        h1 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
        h2 = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_2);
    }

    @AfterAll
    static void stop() throws Exception {
        for (ConnectorProcess c : connectors) {
            c.close();
        }
        GatewayProcess.stopAll(gateway, app, chat, netns);
    }

    @Test
    void enrolledConnector_carriesHttpBothVersions_andTheAppIsReachableOnlyThroughIt() throws Exception {
        connector("depot-1", token("depot-1", "--app", "logistics"), List.of("logistics")).awaitTunnel();

        for (HttpClient client : List.of(h1, h2)) {
            HttpResponse<String> r = get(client, "logistics", "/hello.txt");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("hello from the app\n");
        }
        HttpResponse<byte[]> big = h2.send(request("logistics", "/big.bin"), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(big.body()).isEqualTo(RecordingUpstream.pattern(8 << 20));
        if (netns != null) {
            // The app listens on the namespace's own loopback: from here, not even its veth address reaches it.
            assertThat(reachable(new InetSocketAddress(netns.innerAddress(), app.port()))).isFalse();
        } else {
            // No namespace here: the gateway is at least never told where the app is.
            assertThat(Files.readString(gateway.configFile())).doesNotContain(Integer.toString(app.port()));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("connector.enrolled").anyMatch(l ->
                l.contains("\"depot-1\"")) && audit("connector.connected").findAny().isPresent());
        assertThat(allAudit()).noneMatch(l -> l.contains("pepct_"));
        assertThat(gateway.stderr()).doesNotContain("pepct_");
        JsonNode list = JSON.readTree(admin("GET", "/api/v1/connectors", null).body());
        JsonNode depot = find(list.get("connectors"), "depot-1");
        assertThat(depot.get("connected").asBoolean()).isTrue();
        assertThat(depot.get("routed_apps").toString()).contains("logistics");
        assertThat(depot.get("last_seen").asText()).isNotEmpty();
    }

    @Test
    void tokenReusedExpiredOrForged_refusedWithItsReason_audited() throws Exception {
        Path spent = token("reuse", "--app", "logistics");
        connector("reuse", spent, List.of("logistics")).awaitTunnel();
        Path expired = token("late", "--app", "logistics", "--token-ttl", "1s");
        Path forged = dir.resolve("forged-token");
        Files.writeString(forged, "pepct_" + "Q".repeat(43) + "\n");
        Thread.sleep(1500);

        assertRefused(connector("reuse", spent, List.of("logistics")), "token_used");
        assertRefused(connector("late", expired, List.of("logistics")), "token_expired");
        assertRefused(connector("forger", forged, List.of("logistics")), "token_unknown");
        await().atMost(Duration.ofSeconds(10)).until(() -> Stream.of("token_used", "token_expired", "token_unknown")
                .allMatch(reason -> audit("connector.refused").anyMatch(l -> l.contains(reason))));
    }

    @Test
    void appAnnouncedButNotEnrolled_refusedAudited_neverRouted() throws Exception {
        // depot-1 instances are enrolled for logistics only; this one also announces stock.
        ConnectorProcess c = connector("depot-1", token("depot-1", "--app", "logistics"),
                List.of("logistics", "stock")).awaitTunnel();

        await().atMost(Duration.ofSeconds(10)).until(() -> audit("connector.refused")
                .anyMatch(l -> l.contains("app_not_enrolled") && l.contains("\"stock\"")));
        HttpResponse<String> r = get(h1, "stock", "/hello.txt");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).contains("connector_unavailable");
        assertThat(gateway.stderr()).contains("connector announced an app it is not enrolled for");
        assertThat(c.isAlive()).isTrue();
    }

    @Test
    void revokedConnector_tunnelClosesAtOnce_andItsCertificateIsRefusedFromThenOn() throws Exception {
        ConnectorProcess c = connector("doomed", token("doomed", "--app", "revocable"), List.of("revocable"))
                .awaitTunnel();
        await().atMost(Duration.ofSeconds(10)).until(() -> get(h1, "revocable", "/hello.txt").statusCode() == 200);

        ToolResult revoke = GatewayProcess.run(Duration.ofSeconds(60), "connector", "revoke", "--config",
                gateway.configFile().toString(), "--name", "doomed");
        assertThat(revoke.exitCode()).as(revoke.toString()).isZero();

        await().atMost(Duration.ofSeconds(15)).until(() -> get(h1, "revocable", "/hello.txt").statusCode() == 502);
        assertThat(get(h1, "revocable", "/hello.txt").body()).contains("connector_unavailable");
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("connector.revoked").anyMatch(l -> l.contains("doomed"))
                && audit("connector.disconnected").anyMatch(l -> l.contains("connector_revoked")));
        // It dials again, and its certificate is refused in the handshake.
        await().atMost(Duration.ofSeconds(30)).until(() -> audit("connector.refused")
                .anyMatch(l -> l.contains("doomed") && l.contains("connector_revoked")));
        assertThat(get(h1, "revocable", "/hello.txt").statusCode()).isEqualTo(502);
        assertThat(c.isAlive()).isTrue();
    }

    @Test
    void twoConnectorsForOneApp_oneKilledMidTraffic_newSessionsKeepWorking() throws Exception {
        ConnectorProcess first = connector("pair", token("pair", "--app", "shared"), List.of("shared")).awaitTunnel();
        ConnectorProcess second = connector("pair", token("pair", "--app", "shared"), List.of("shared"))
                .awaitTunnel();
        await().atMost(Duration.ofSeconds(10)).until(() -> connectedInstances("pair") == 2);
        AtomicBoolean running = new AtomicBoolean(true);
        List<Integer> statuses = new CopyOnWriteArrayList<>();
        ConcurrentHashMap<String, Integer> broken = new ConcurrentHashMap<>();
        List<Thread> load = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            Thread t = new Thread(() -> {
                long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                while (running.get() && System.nanoTime() < end) {
                    try {
                        HttpResponse<byte[]> r = h1.send(request("shared", "/big.bin"),
                                HttpResponse.BodyHandlers.ofByteArray());
                        statuses.add(r.statusCode());
                        if (r.statusCode() != 200) {
                            broken.merge(new String(r.body()).replaceAll(".*\"error\":\"([a-z_]+)\".*", "$1").strip(),
                                    1, Integer::sum);
                        }
                    } catch (IOException e) {
                        // A response cut mid-body by the lost tunnel: the client sees the connection end.
                        broken.merge("cut", 1, Integer::sum);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            t.start();
            load.add(t);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> statuses.size() >= 4);

        first.kill();
        int before = statuses.size();
        await().atMost(Duration.ofSeconds(30)).until(() -> statuses.size() >= before + 12);
        running.set(false);
        for (Thread t : load) {
            t.join(30_000);
        }

        // Every session started after the kill went through the surviving instance.
        List<Integer> after = statuses.subList(before + 4, statuses.size());
        assertThat(after).as("statuses after the kill; broken: %s", broken).containsOnly(200);
        assertThat(broken.keySet()).as("how the sessions on the killed tunnel ended")
                .isSubsetOf("connector_lost", "cut", "connector_unavailable");
        await().atMost(Duration.ofSeconds(10)).until(() -> connectedInstances("pair") == 1);
        assertThat(second.isAlive()).isTrue();
        assertThat(metrics()).contains("pep_connectors_connected");
    }

    @Test
    void webSocketThroughTheTunnel_framesBothWays_endedByTheAdminLikeADirectOne() throws Exception {
        connector("talk", token("talk", "--app", "tunnel-chat"), Map.of("tunnel-chat", chat.address()))
                .awaitTunnel();
        await().atMost(Duration.ofSeconds(10)).until(() -> connectedInstances("talk") == 1);
        EchoSocket socket = EchoSocket.open(h1, gateway.port(), "tunnel-chat", null);

        assertThat(socket.echo("over the tunnel")).isEqualTo("over the tunnel");
        // Near the echo app's 64 KiB frame limit: many DATA frames on the stream, echoed whole.
        String large = "0123456789abcdef".repeat(3750);
        socket.socket.sendText(large, true).get(10, TimeUnit.SECONDS);
        StringBuilder back = new StringBuilder();
        String part;
        while (back.length() < large.length() && (part = socket.texts.poll(10, TimeUnit.SECONDS)) != null) {
            back.append(part);
        }
        assertThat(back.toString().equals(large)).as("60,000 characters echoed whole, got %d", back.length())
                .isTrue();
        for (int i = 0; i < 50; i++) {
            socket.socket.sendText("frame-" + i, true).get(10, TimeUnit.SECONDS);
        }
        for (int i = 0; i < 50; i++) {
            assertThat(socket.texts.poll(10, TimeUnit.SECONDS)).isEqualTo("frame-" + i);
        }
        JsonNode listed = JSON.readTree(admin("GET", "/api/v1/sessions?app=tunnel-chat", null).body());
        assertThat(listed.get("count").asInt()).isEqualTo(1);
        assertThat(listed.get("sessions").get(0).get("kind").asText()).isEqualTo("websocket");
        assertThat(sessionsOf("talk")).isEqualTo(1);

        HttpResponse<String> ended = admin("POST", "/api/v1/sessions/end?app=tunnel-chat", null);

        assertThat(JSON.readTree(ended.body()).get("ended").asInt()).as(ended.body()).isEqualTo(1);
        assertThat(socket.closed.get(10, TimeUnit.SECONDS)).isEqualTo("1008 admin_ended");
        await().atMost(Duration.ofSeconds(10)).until(() -> sessionsOf("talk") == 0);
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("revocation").anyMatch(l ->
                l.contains("tunnel-chat") && l.contains("admin:ops")));
        EchoSocket again = EchoSocket.open(h1, gateway.port(), "tunnel-chat", null);
        assertThat(again.echo("the tunnel stays up")).isEqualTo("the tunnel stays up");
        again.socket.sendClose(1000, "done").get(10, TimeUnit.SECONDS);
        assertThat(again.closed.get(10, TimeUnit.SECONDS)).startsWith("1000");
    }

    @Test
    void connectorRevokedUnderAWebSocket_itEndsWithCloseFrame1008AndTheReason_audited_othersLiveOn() throws Exception {
        connector("talk-revoked", token("talk-revoked", "--app", "chat-revoked"),
                Map.of("chat-revoked", chat.address())).awaitTunnel();
        connector("talk-kept", token("talk-kept", "--app", "chat-kept"), Map.of("chat-kept", chat.address()))
                .awaitTunnel();
        await().atMost(Duration.ofSeconds(10)).until(() -> connectedInstances("talk-revoked") == 1
                && connectedInstances("talk-kept") == 1);
        EchoSocket doomed = EchoSocket.open(h1, gateway.port(), "chat-revoked", null);
        EchoSocket kept = EchoSocket.open(h1, gateway.port(), "chat-kept", null);
        assertThat(doomed.echo("before")).isEqualTo("before");
        assertThat(kept.echo("before")).isEqualTo("before");

        HttpResponse<String> revoked = admin("DELETE", "/api/v1/connectors/talk-revoked", null);

        assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
        // Ended through the session registry before its tunnel closed: not a lost upstream.
        assertThat(doomed.closed.get(10, TimeUnit.SECONDS)).isEqualTo("1008 connector_revoked");
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("revocation").anyMatch(l ->
                l.contains("chat-revoked") && l.contains("connector_revoked")));
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("connector.disconnected").anyMatch(l ->
                l.contains("talk-revoked") && l.contains("connector_revoked")));
        // Only the sessions that tunnel carried: the other connector's WebSocket lives on.
        assertThat(kept.echo("after")).isEqualTo("after");
        assertThat(audit("revocation").noneMatch(l -> l.contains("chat-kept"))).isTrue();
        kept.socket.sendClose(1000, "done").get(10, TimeUnit.SECONDS);
        assertThat(kept.closed.get(10, TimeUnit.SECONDS)).startsWith("1000");
    }

    @Test
    void oneOfTwoInstancesExpires_theWebSocketItCarriesEndsWithEnrolmentExpired_theOtherLivesOn()
            throws Exception {
        connector("talk-pair", token("talk-pair", "--app", "chat-pair", "--expires", "30s"),
                Map.of("chat-pair", chat.address())).awaitTunnel();
        connector("talk-pair", token("talk-pair", "--app", "chat-pair"), Map.of("chat-pair", chat.address()))
                .awaitTunnel();
        await().atMost(Duration.ofSeconds(10)).until(() -> connectedInstances("talk-pair") == 2);
        // Each goes to the instance carrying fewer sessions: one WebSocket on each tunnel.
        EchoSocket first = EchoSocket.open(h1, gateway.port(), "chat-pair", null);
        EchoSocket second = EchoSocket.open(h1, gateway.port(), "chat-pair", null);
        assertThat(first.echo("one")).isEqualTo("one");
        assertThat(second.echo("two")).isEqualTo("two");

        await().atMost(Duration.ofSeconds(45)).until(() -> first.closed.isDone() || second.closed.isDone());

        EchoSocket ended = first.closed.isDone() ? first : second;
        EchoSocket alive = ended == first ? second : first;
        assertThat(ended.closed.get(1, TimeUnit.SECONDS)).isEqualTo("1008 enrolment_expired");
        assertThat(alive.echo("still here")).isEqualTo("still here");
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("revocation").filter(l ->
                l.contains("chat-pair") && l.contains("enrolment_expired")).count() == 1);
        await().atMost(Duration.ofSeconds(10)).until(() -> connectedInstances("talk-pair") == 1);
        alive.socket.sendClose(1000, "done").get(10, TimeUnit.SECONDS);
        assertThat(alive.closed.get(10, TimeUnit.SECONDS)).startsWith("1000");
    }

    @Test
    void adminApi_createsTokens_listsHealth_andRevokes() throws Exception {
        HttpResponse<String> created = admin("POST", "/api/v1/connectors/tokens",
                "{\"name\": \"ops-made\", \"apps\": [\"revocable\"], \"token_ttl\": \"10m\", \"expires\": \"30d\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        JsonNode body = JSON.readTree(created.body());
        Path token = Files.createTempFile(dir, "ops-made-token", "");
        Files.writeString(token, body.get("token").asText());
        assertThat(body.get("enrolment_expires").asText()).isNotEmpty();
        connector("ops-made", token, List.of("revocable")).awaitTunnel();
        await().atMost(Duration.ofSeconds(10)).until(() -> connectedInstances("ops-made") == 1);

        HttpResponse<String> revoked = admin("DELETE", "/api/v1/connectors/ops-made", null);
        assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(5)).until(() -> connectedInstances("ops-made") == 0);
        assertThat(admin("DELETE", "/api/v1/connectors/ops-made", null).statusCode()).isEqualTo(404);
        assertThat(admin("POST", "/api/v1/connectors/tokens", "{\"name\": \"Bad Name\", \"apps\": [\"x\"]}")
                .statusCode()).isEqualTo(400);
        await().atMost(Duration.ofSeconds(10)).until(() -> audit("admin.action").anyMatch(l ->
                l.contains("create-connectors")) && audit("connector.revoked").anyMatch(l -> l.contains("\"ops\"")));
        assertThat(allAudit()).noneMatch(l -> l.contains(body.get("token").asText()));
    }

    // ---- fixtures ------------------------------------------------------------------------

    /** Creates a token with the command line and writes it to a file. */
    private static Path token(String name, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("connector", "token", "create", "--config",
                gateway.configFile().toString(), "--name", name));
        command.addAll(List.of(args));
        ToolResult r = GatewayProcess.run(Duration.ofSeconds(60), command.toArray(String[]::new));
        assertThat(r.exitCode()).as(r.toString()).isZero();
        String token = r.out().strip();
        assertThat(token).startsWith("pepct_").doesNotContain("\n");
        Path file = Files.createTempFile(dir, name + "-token", "");
        Files.writeString(file, token + "\n");
        return file;
    }

    /** Starts a connector for apps all served by the app server, as below. */
    private static ConnectorProcess connector(String name, Path tokenFile, List<String> apps) throws Exception {
        Map<String, String> addresses = new java.util.LinkedHashMap<>();
        apps.forEach(a -> addresses.put(a, app.address()));
        return connector(name, tokenFile, addresses);
    }

    /** Starts a connector with a fresh state directory, in the namespace when there is one. */
    private static ConnectorProcess connector(String name, Path tokenFile, Map<String, String> apps)
            throws Exception {
        Path home = Files.createTempDirectory(dir, "connector-" + name);
        StringBuilder yaml = new StringBuilder("""
                name: %s
                gateways:
                  - address: %s:%d
                gateway-ca: %s
                enrolment-token-file: %s
                state-directory: state
                apps:
                """.formatted(name, netns == null ? "127.0.0.1" : netns.hostAddress(), connectorPort,
                dir.resolve("connectors/ca.pem"), tokenFile));
        apps.forEach((a, address) -> yaml.append("  ").append(a).append(": { address: ").append(address)
                .append(" }\n"));
        Path file = home.resolve("connector.yaml");
        Files.writeString(file, yaml.toString());
        ConnectorProcess c = ConnectorProcess.start(file, netns);
        connectors.add(c);
        return c;
    }

    private static void assertRefused(ConnectorProcess c, String reason) throws Exception {
        assertThat(c.awaitExit(Duration.ofSeconds(60))).as(c.stderr()).isEqualTo(1);
        assertThat(c.stderr()).contains("enrolment refused (" + reason + ")").doesNotContain("pepct_");
    }

    private static int connectedInstances(String name) throws Exception {
        JsonNode list = JSON.readTree(admin("GET", "/api/v1/connectors", null).body()).get("connectors");
        int n = 0;
        for (JsonNode c : list) {
            if (c.get("name").asText().equals(name) && c.get("connected").asBoolean()) {
                n++;
            }
        }
        return n;
    }

    /** Session streams open now on the connector's tunnels, as the admin API counts them. */
    private static int sessionsOf(String name) throws Exception {
        int n = 0;
        for (JsonNode c : JSON.readTree(admin("GET", "/api/v1/connectors", null).body()).get("connectors")) {
            if (c.get("name").asText().equals(name)) {
                n += c.path("sessions").asInt();
            }
        }
        return n;
    }

    private static JsonNode find(JsonNode list, String name) {
        for (JsonNode c : list) {
            if (c.get("name").asText().equals(name) && c.get("connected").asBoolean()) {
                return c;
            }
        }
        throw new AssertionError("no connected " + name + " in " + list);
    }

    private static HttpRequest request(String app, String path) {
        return HttpRequest.newBuilder(URI.create("https://" + app + ".pep.localhost:" + gateway.port() + path))
                .timeout(Duration.ofSeconds(30)).build();
    }

    private static HttpResponse<String> get(HttpClient client, String app, String path) throws Exception {
        return client.send(request(app, path), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> admin(String method, String path, String body) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + path))
                .header("Authorization", "Bearer " + ADMIN)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String metrics() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    private static boolean reachable(InetSocketAddress address) {
        try (Socket s = new Socket()) {
            s.connect(address, 2000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static Stream<String> allAudit() {
        return AuditFiles.lines(dir.resolve("audit"));
    }

    private static Stream<String> audit(String type) {
        return allAudit().filter(l -> l.contains("\"type\":\"" + type + "\""));
    }

    /**
     * The WebSocket echo app ({@link WebSocketEchoServer}) where the connector runs: in its own
     * JVM inside the namespace, else in this one on loopback.
     */
    static final class ChatApp implements AutoCloseable {

        private final Process process;
        private final WebSocketEchoServer local;
        private final int port;

        private ChatApp(Process process, WebSocketEchoServer local, int port) {
            this.process = process;
            this.local = local;
            this.port = port;
        }

        static ChatApp start(Netns netns) throws Exception {
            if (netns == null) {
                WebSocketEchoServer local = WebSocketEchoServer.start();
                return new ChatApp(null, local, URI.create(local.url()).getPort());
            }
            List<String> command = new ArrayList<>(netns.exec());
            command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx64m",
                    "-cp", System.getProperty("java.class.path"), WebSocketEchoServer.class.getName()));
            Process p = new ProcessBuilder(command).redirectError(dir.resolve("chat.stderr.log").toFile()).start();
            var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8));
            CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
                try {
                    String l;
                    while ((l = out.readLine()) != null && !l.startsWith("listening ")) {
                        // Not the line it prints once bound.
                    }
                    return l;
                } catch (IOException e) {
                    return null;
                }
            });
            String first = line.get(60, TimeUnit.SECONDS);
            if (first == null || !first.startsWith("listening ")) {
                p.destroyForcibly();
                throw new IllegalStateException("chat app did not start: " + first);
            }
            return new ChatApp(p, null, Integer.parseInt(first.substring("listening ".length()).strip()));
        }

        /** Where it listens, as the connector beside it sees it. */
        String address() {
            return "127.0.0.1:" + port;
        }

        @Override
        public void close() throws Exception {
            if (local != null) {
                local.close();
            }
            if (process != null) {
                process.getOutputStream().close();
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            }
        }
    }
}
