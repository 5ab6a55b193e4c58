package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.core.Decision;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hot reload: atomic swaps, refused invalid changes, the watcher, listeners. */
class ReloadTest {

    @TempDir
    Path dir;

    /** Two files that change together; each version's rules carry its own name. */
    private static void writeVersion(Path dir, String name) {
        PolicyDirs.write(dir, "apps.yaml", """
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo", labels: { gen: %s } }
                """.formatted(name));
        PolicyDirs.write(dir, "rules.yaml", """
                rules:
                  - id: allow-%s
                    apps: [a]
                    effect: allow
                    when: app.labels["gen"] == "%s"
                    obligations:
                      headers: { X-Version: "${context.policy_version}" }
                """.formatted(name, name));
    }

    @Test
    void reload_underConcurrentDecisions_everyDecisionIsWhollyOneVersion() throws Exception {
        writeVersion(dir, "one");
        DefaultPolicyEngine engine = PolicyDirs.engine(dir);
        PolicyVersion one = engine.version();
        List<String> problems = new CopyOnWriteArrayList<>();
        Map<String, String> ruleOfVersion = new ConcurrentHashMap<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong decisions = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> readers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                readers.add(pool.submit(() -> {
                    while (running.get()) {
                        check(engine.decide(Requests.to("a").build()), ruleOfVersion, problems);
                        decisions.incrementAndGet();
                    }
                }));
            }
            for (int i = 0; i < 30; i++) {
                writeVersion(dir, i % 2 == 0 ? "two" : "one");
                assertThat(engine.reload()).isEmpty();
            }
            running.set(false);
            for (Future<?> reader : readers) {
                reader.get();
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(problems).isEmpty();
        assertThat(decisions.get()).isPositive();
        assertThat(ruleOfVersion.get(one.id())).isEqualTo("allow-one");
    }

    private static void check(Decision d, Map<String, String> ruleOfVersion,
            List<String> problems) {
        if (!d.allowed()) {
            problems.add("denied: " + d);
            return;
        }
        String rule = d.ruleId().orElseThrow();
        String previous = ruleOfVersion.putIfAbsent(d.version().id(), rule);
        Obligation.SetHeader header = (Obligation.SetHeader) d.obligations().get(0);
        if (previous != null && !previous.equals(rule)) {
            problems.add("version " + d.version() + " decided by " + rule + " and " + previous);
        }
        if (!header.value().equals(d.version().id())) {
            problems.add("header from " + header.value() + " in decision of " + d.version());
        }
    }

    @Test
    void reload_validChange_swapsAndNotifiesListener() {
        writeVersion(dir, "one");
        DefaultPolicyEngine engine = PolicyDirs.engine(dir);
        PolicyVersion before = engine.version();
        List<String> heard = new ArrayList<>();
        engine.addListener((previous, current) -> heard.add(previous + "->" + current));

        writeVersion(dir, "two");
        assertThat(engine.reload()).isEmpty();

        assertThat(engine.version()).isNotEqualTo(before);
        assertThat(heard).containsExactly(before + "->" + engine.version());
        assertThat(engine.decide(Requests.to("a").build()).ruleId()).contains("allow-two");
    }

    @Test
    void reload_unchangedContent_doesNotNotify() {
        writeVersion(dir, "one");
        DefaultPolicyEngine engine = PolicyDirs.engine(dir);
        List<String> heard = new ArrayList<>();
        engine.addListener((previous, current) -> heard.add("changed"));

        assertThat(engine.reload()).isEmpty();

        assertThat(heard).isEmpty();
    }

    @Test
    void reload_invalidChange_isRefusedAndRunningVersionKeepsDeciding() {
        writeVersion(dir, "one");
        DefaultPolicyEngine engine = PolicyDirs.engine(dir);
        PolicyVersion before = engine.version();
        List<List<PolicyError>> refused = new ArrayList<>();
        engine.addListener(new PolicyListener() {
            @Override
            public void versionChanged(PolicyVersion previous, PolicyVersion current) {
                refused.add(List.of());
            }

            @Override
            public void reloadRefused(PolicyVersion running, List<PolicyError> errors) {
                assertThat(running).isEqualTo(before);
                refused.add(errors);
            }
        });
        PolicyDirs.write(dir, "rules.yaml", "rules:\n  - { id: x, effect: allow, when: nope }\n");

        List<PolicyError> errors = engine.reload();

        assertThat(errors).singleElement().satisfies(e -> {
            assertThat(e.file()).endsWith("rules.yaml");
            assertThat(e.line()).isEqualTo(2);
            assertThat(e.column()).isEqualTo(35);
        });
        assertThat(refused).containsExactly(errors);
        assertThat(engine.version()).isEqualTo(before);
        assertThat(engine.decide(Requests.to("a").build()).ruleId()).contains("allow-one");
    }

    @Test
    void watcher_seesChangedContentAndReloads() {
        writeVersion(dir, "one");
        try (DefaultPolicyEngine engine = PolicyDirs.engine(dir)) {
            PolicyVersion before = engine.version();
            List<PolicyVersion> heard = new CopyOnWriteArrayList<>();
            List<PolicyError> refused = new CopyOnWriteArrayList<>();
            engine.addListener(new PolicyListener() {
                @Override
                public void versionChanged(PolicyVersion previous, PolicyVersion current) {
                    heard.add(current);
                }

                @Override
                public void reloadRefused(PolicyVersion running, List<PolicyError> errors) {
                    refused.addAll(errors);
                }
            });
            engine.startWatching(Duration.ofMillis(20));

            PolicyDirs.write(dir, "rules.yaml", "rules: [ { id: y, effect: deny, when: nope } ]\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> !refused.isEmpty());
            assertThat(engine.version()).isEqualTo(before);

            writeVersion(dir, "two");
            await().atMost(Duration.ofSeconds(5)).until(() -> !heard.isEmpty());
            assertThat(engine.version()).isEqualTo(heard.get(heard.size() - 1))
                    .isNotEqualTo(before);
            assertThat(refused).hasSize(1);
        }
    }
}
