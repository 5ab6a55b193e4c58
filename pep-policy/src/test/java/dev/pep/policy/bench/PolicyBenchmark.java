package dev.pep.policy.bench;

import dev.pep.core.AccessRequest;
import dev.pep.core.Decision;
import dev.pep.policy.DefaultPolicyEngine;
import dev.pep.policy.PolicyLoadResult;
import dev.pep.policy.Requests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Decisions per second and latency of the built-in engine with 10, 1,000 and 10,000 rules over
 * 100 apps. Not a test: run by hand (see docs/policy-reference.md, "Performance").
 *
 * <p>{@code layout even}: the rules are spread evenly, so the decided app holds rules/100 of them.
 * {@code layout fixed}: the decided app holds 10 rules and the other 99 apps the rest, which shows
 * that a decision does not pay for other apps' rules.
 *
 * <p>{@code conditions grouped}: each allow rule starts with {@code "group-r" in subject.groups},
 * so the group index hands the engine only the one rule the subject's group names: the best case,
 * whatever the number of rules of the app. {@code conditions unindexed}: the rules test the
 * device, the path and a claim, which no index covers, so every decision runs the conditions of
 * every allow rule of the app (each one fails only on its last term, the claim) until the last
 * one matches: the worst case. Both evaluate the two global deny rules first.
 */
@State(Scope.Benchmark)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class PolicyBenchmark {

    private static final int APPS = 100;

    @Param({"10", "1000", "10000"})
    public int rules;

    @Param({"even", "fixed"})
    public String layout;

    @Param({"grouped", "unindexed"})
    public String conditions;

    private DefaultPolicyEngine engine;
    private AccessRequest request;
    private int targetRules;

    @Setup(Level.Trial)
    public void load() throws IOException {
        Path dir = Files.createTempDirectory("pep-policy-bench");
        targetRules = layout.equals("fixed") ? Math.min(10, rules) : Math.max(1, rules / APPS);
        boolean grouped = conditions.equals("grouped");
        Files.writeString(dir.resolve("bench.yaml"), policyFor(rules, targetRules, grouped));
        long start = System.nanoTime();
        PolicyLoadResult result = DefaultPolicyEngine.load(dir);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        if (!(result instanceof PolicyLoadResult.Loaded loaded)) {
            throw new IllegalStateException(result.toString());
        }
        engine = loaded.engine();
        System.out.printf("%nloaded %d rules (%d for the decided app) in %d ms%n", rules,
                targetRules, millis);
        request = Requests.to("app-0").groups("group-" + (targetRules - 1))
                .claim("unit", "unit-" + (targetRules - 1))
                .managed(Duration.ofMinutes(2)).http("GET", "/api/v1/orders/17").build();
        Decision check = engine.decide(request);
        if (!check.allowed() || !check.ruleId().orElseThrow()
                .equals("app-0-rule-" + (targetRules - 1))) {
            throw new IllegalStateException("benchmark request not decided as planned: " + check);
        }
    }

    /** Decisions per second, one thread. */
    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public Decision throughput() {
        return engine.decide(request);
    }

    /** Latency of one decision, sampled: p50, p90, p99. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public Decision latency() {
        return engine.decide(request);
    }

    /** Policy text: 100 apps, two global deny rules, then {@code rules} allow rules. */
    public static String policyFor(int rules, int targetRules, boolean grouped) {
        StringBuilder yaml = new StringBuilder("apps:\n");
        for (int a = 0; a < APPS; a++) {
            yaml.append("  app-").append(a).append(": { hosts: [app-").append(a)
                    .append(".example], upstream: \"https://10.0.0.1:8443\" }\n");
        }
        yaml.append("rules:\n");
        yaml.append(rule("deny-sanctioned", "", "deny",
                "source.ip.inCidr([\"203.0.113.0/24\", \"192.0.2.0/24\"])"));
        yaml.append(rule("deny-stale-login", "", "deny",
                "subject.authenticated && subject.auth_age > duration(\"12h\")"));
        for (int r = 0; r < targetRules; r++) {
            yaml.append(rule("app-0-rule-" + r, "app-0", "allow", condition(r, grouped)));
        }
        for (int r = targetRules; r < rules; r++) {
            int app = 1 + (r - targetRules) % (APPS - 1);
            yaml.append(rule("app-" + app + "-rule-" + r, "app-" + app, "allow",
                    condition(r, grouped)));
        }
        return yaml.toString();
    }

    private static String rule(String id, String app, String effect, String when) {
        return "  - id: " + id + "\n" + (app.isEmpty() ? "" : "    apps: [" + app + "]\n")
                + "    effect: " + effect + "\n    when: '" + when.replace("'", "''") + "'\n";
    }

    private static String condition(int r, boolean grouped) {
        if (grouped) {
            return "\"group-" + r + "\" in subject.groups && device.managed && "
                    + "device.age < duration(\"15m\") && request.method in [\"GET\", \"HEAD\"] && "
                    + "request.path.matchesGlob(\"/api/*/orders/**\")";
        }
        return "device.managed && device.age < duration(\"15m\") && "
                + "request.path.matchesGlob(\"/api/*/orders/**\") && "
                + "subject.claims.unit == \"unit-" + r + "\"";
    }
}
