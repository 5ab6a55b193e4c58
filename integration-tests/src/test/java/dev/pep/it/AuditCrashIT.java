package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kill -9} of the packaged gateway at random moments under load, in strict audit mode,
 * then a restart on the same spool: every request that got an answer (allowed or denied) has
 * exactly one decision event in the audit files, and the hash chain runs unbroken across the
 * crashes. Each client names its requests by path, its own record of what was answered.
 */
class AuditCrashIT {

    private static final int KILLS = 3;
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private RecordingUpstream upstream;
    private GatewayProcess gateway;

    @AfterEach
    void cleanUp() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    @Test
    void killDashNineUnderLoad_everyAnsweredRequestHasItsDecisionAndTheChainHolds()
            throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        upstream = RecordingUpstream.start(Mode.ANSWER);
        String yaml = GatewayProcess.baseConfig("it-audit-crash") + """
                identity:
                  session-keys: session-keys
                audit:
                  directory: audit
                  mode: strict
                apps:
                  plain:
                    hosts: [plain.pep.localhost]
                    upstream: %s
                    access: public
                  deny:
                    hosts: [deny.pep.localhost]
                    upstream: %s
                    access: deny
                """.formatted(upstream.url(), upstream.url());
        Files.writeString(dir.resolve("gateway.yaml"), yaml);
        Map<String, Integer> answered = new ConcurrentHashMap<>();
        AtomicInteger otherAnswers = new AtomicInteger();
        for (int round = 0; round <= KILLS; round++) {
            gateway = GatewayProcess.start(dir.resolve("gateway.yaml"));
            HttpClient client = Clients.http(gateway.devCa(), HttpClient.Version.HTTP_1_1);
            int port = gateway.port();
            AtomicBoolean loading = new AtomicBoolean(true);
            int answeredBefore = answered.size();
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < 3; c++) {
                String name = "r" + round + "c" + c;
                Thread t = new Thread(() -> load(client, port, name, loading, answered,
                        otherAnswers));
                t.start();
                clients.add(t);
            }
            // A random moment: after the round's first answer (a loaded machine may take seconds
            // to get there), then 200 to 1200 ms more.
            await().atMost(Duration.ofSeconds(30)).until(() -> answered.size() > answeredBefore);
            LockSupport.parkNanos(Duration.ofMillis(200 + random.nextInt(1000)).toNanos());
            if (round < KILLS) {
                gateway.close(); // SIGKILL, mid-load
            } else {
                loading.set(false);
                clients.forEach(AuditCrashIT::join);
                assertThat(gateway.stop(Duration.ofSeconds(30))).as(gateway.stderr()).isZero();
            }
            loading.set(false);
            clients.forEach(AuditCrashIT::join);
        }

        Map<String, Set<String>> decisions = decisionsByPath(dir.resolve("audit/events"));
        System.out.printf("audit crash test: seed=%d kills=%d answered=%d decision_events=%d%n",
                seed, KILLS, answered.size(), decisions.values().stream().mapToInt(Set::size).sum());
        assertThat(answered).as("answers seen, seed " + seed).hasSizeGreaterThan(20);
        assertThat(answered.values()).containsOnly(200, 403).contains(200, 403);
        assertThat(otherAnswers.get()).as("answers other than 200 and 403").isZero();
        List<String> missing = answered.keySet().stream()
                .filter(p -> !decisions.containsKey(p)).sorted().toList();
        assertThat(missing).as("answered requests without a decision event, seed " + seed)
                .isEmpty();
        assertThat(answered.keySet()).allSatisfy(p -> assertThat(decisions.get(p)).hasSize(1));
        ToolResult verify = GatewayProcess.run(Duration.ofSeconds(60), "audit", "verify",
                dir.resolve("audit/events/audit.jsonl").toString());
        assertThat(verify.exitCode()).as(verify.toString()).isZero();
    }

    private static void load(HttpClient client, int port, String name, AtomicBoolean loading,
            Map<String, Integer> answered, AtomicInteger otherAnswers) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (int n = 0; loading.get() && System.nanoTime() < deadline; n++) {
            String host = n % 3 == 0 ? "deny" : "plain";
            String path = "/crash/" + name + "-" + n;
            try {
                HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create("https://"
                        + host + ".pep.localhost:" + port + path)).timeout(Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.discarding());
                if (r.statusCode() == 200 || r.statusCode() == 403) {
                    answered.put(path, r.statusCode());
                } else {
                    otherAnswers.incrementAndGet();
                }
            } catch (Exception e) {
                // No answer (the gateway was killed): not in the client's record.
                if (!loading.get()) {
                    return;
                }
            }
        }
    }

    /** Decision event ids by request path, from every audit file. */
    private static Map<String, Set<String>> decisionsByPath(Path events) throws Exception {
        Map<String, Set<String>> out = new HashMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(events)) {
            files = s.filter(f -> f.getFileName().toString().endsWith(".jsonl")).toList();
        }
        for (Path f : files) {
            for (String line : Files.readAllLines(f)) {
                JsonNode e = JSON.readTree(line);
                if (e.path("type").asText().equals("decision")) {
                    out.computeIfAbsent(e.at("/http_request/url/path").asText(),
                            k -> new HashSet<>()).add(e.path("id").asText());
                }
            }
        }
        return out;
    }

    private static void join(Thread t) {
        try {
            t.join(15_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
