package dev.pep.policy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.pep.core.AccessRequest;
import dev.pep.core.Decision;
import dev.pep.core.Obligation;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Runs policy test files: each names requests and the decision expected for them.
 *
 * <pre>
 * tests:
 *   - name: partner reader may read
 *     request: { app: logistics, subject: { id: alice, groups: [coalition-logistics] } }
 *     expect: { effect: allow, rule: logistics-readers, reason: rule_allowed,
 *               obligations: { isolation: read-only, max-session: 8h } }
 * </pre>
 *
 * <p>{@code rule}, {@code reason} and {@code obligations} are checked only when given; given
 * obligations must match exactly (as a set); {@code rule: null} expects no deciding rule.
 */
final class PolicyTestRunner {

    private static final Set<String> TEST_KEYS = Set.of("name", "request", "expect");
    private static final Set<String> EXPECT_KEYS =
            Set.of("effect", "rule", "reason", "obligations");

    private final DefaultPolicyEngine engine;
    private final Clock clock;

    PolicyTestRunner(DefaultPolicyEngine engine, Clock clock) {
        this.engine = engine;
        this.clock = clock;
    }

    /** The counts of a run. */
    record Summary(int passed, int failed) {
    }

    /** Runs every {@code *.yaml} file in the directory, reporting one line per test. */
    Summary runDirectory(Path dir, PrintStream out) throws IOException {
        int passed = 0;
        int failed = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")
                    || f.toString().endsWith(".yml")).sorted().toList()) {
                JsonNode root = new YAMLMapper().readTree(file.toFile());
                int index = 0;
                for (JsonNode test : root == null ? List.<JsonNode>of() : iterable(root)) {
                    index++;
                    String name = test.path("name").asText("test " + index);
                    List<String> problems = run(test);
                    if (problems.isEmpty()) {
                        passed++;
                        out.println("PASS " + file.getFileName() + ": " + name);
                    } else {
                        failed++;
                        out.println("FAIL " + file.getFileName() + ": " + name);
                        problems.forEach(p -> out.println("       " + p));
                    }
                }
            }
        }
        return new Summary(passed, failed);
    }

    private static List<JsonNode> iterable(JsonNode root) {
        List<JsonNode> tests = new ArrayList<>();
        root.path("tests").forEach(tests::add);
        return tests;
    }

    /** The problems of one test, empty when it passed. */
    List<String> run(JsonNode test) {
        try {
            checkKeys(test, TEST_KEYS, "test");
            JsonNode expect = test.path("expect");
            checkKeys(expect, EXPECT_KEYS, "expect");
            AccessRequest request = RequestDocument.parse(test.path("request"),
                    PolicyCommand.appsOf(engine), clock.instant());
            Decision decision = engine.decide(request);
            return compare(expect, decision);
        } catch (RuntimeException e) {
            return List.of("invalid test: " + e.getMessage());
        }
    }

    private static List<String> compare(JsonNode expect, Decision decision) {
        List<String> problems = new ArrayList<>();
        String effect = decision.effect().name().toLowerCase(Locale.ROOT);
        if (!expect.has("effect")) {
            problems.add("expect needs effect: allow or deny");
        } else if (!expect.get("effect").asText().equals(effect)) {
            problems.add("effect: expected " + expect.get("effect").asText() + ", got " + effect
                    + " (" + decision.primaryReason().code() + ")");
        }
        if (expect.has("rule")) {
            String want = expect.get("rule").isNull() ? "(none)" : expect.get("rule").asText();
            String got = decision.ruleId().orElse("(none)");
            if (!want.equals(got)) {
                problems.add("rule: expected " + want + ", got " + got);
            }
        }
        if (expect.has("reason") && !expect.get("reason").asText()
                .equals(decision.primaryReason().code())) {
            problems.add("reason: expected " + expect.get("reason").asText() + ", got "
                    + decision.primaryReason().code());
        }
        if (expect.has("obligations")) {
            Set<Obligation> want = obligations(expect.get("obligations"));
            Set<Obligation> got = new HashSet<>(decision.obligations());
            if (!want.equals(got)) {
                problems.add("obligations: expected " + want + ", got " + got);
            }
        }
        return problems;
    }

    private static Set<Obligation> obligations(JsonNode o) {
        checkKeys(o, Set.of("isolation", "max-session", "idle", "reevaluate", "headers", "assertion"),
                "obligations");
        Set<Obligation> out = new HashSet<>();
        if ("read-only".equals(o.path("isolation").asText())) {
            out.add(new Obligation.ReadOnly());
        }
        if (o.has("max-session")) {
            out.add(new Obligation.MaxSessionLength(Durations.parse(o.get("max-session")
                    .asText())));
        }
        if (o.has("idle")) {
            out.add(new Obligation.IdleLimit(Durations.parse(o.get("idle").asText())));
        }
        if (o.has("reevaluate")) {
            out.add(new Obligation.Reevaluate(Durations.parse(o.get("reevaluate").asText())));
        }
        o.path("headers").fields().forEachRemaining(h -> out.add(
                new Obligation.SetHeader(h.getKey(), h.getValue().asText())));
        if (o.has("assertion")) {
            JsonNode a = o.get("assertion");
            out.add(new Obligation.IdentityAssertion(
                    a.path("header").asText(Obligation.IdentityAssertion.DEFAULT_HEADER),
                    a.has("lifetime") ? Durations.parse(a.get("lifetime").asText())
                            : Duration.ofMinutes(2)));
        }
        return out;
    }

    private static void checkKeys(JsonNode node, Set<String> allowed, String what) {
        node.fieldNames().forEachRemaining(k -> {
            if (!allowed.contains(k)) {
                throw new IllegalArgumentException("unknown key '" + k + "' in " + what
                        + "; expected one of " + new java.util.TreeSet<>(allowed));
            }
        });
    }
}
