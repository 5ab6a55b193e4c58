package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.Effect;
import java.net.URI;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Apps registered at run time: app documents, rules selecting by label, reloads that keep them. */
class RuntimeAppsTest {

    private static final String POLICY = """
            apps:
              a: { hosts: [a.example], upstream: "pep:echo" }
            rules:
              - id: exercise-readers
                app-labels: { tier: exercise }
                effect: allow
                when: '"blue" in subject.groups'
              - id: a-only
                apps: [a]
                effect: allow
                when: "true"
            """;

    @TempDir
    Path dir;

    @Test
    void parse_validJson_givesTheApp() {
        AppDocument doc = AppDocument.parse("request body", """
                {"name": "ex1", "hosts": ["ex1.example"], "upstream": "https://10.0.0.1:8443",
                 "lifecycle": "episodic", "expires": "2027-01-31T00:00:00Z",
                 "labels": {"tier": "exercise"}}
                """);

        assertThat(doc.errors()).isEmpty();
        App app = doc.app().orElseThrow();
        assertThat(app.name()).isEqualTo("ex1");
        assertThat(app.hosts()).containsExactly("ex1.example");
        assertThat(app.upstream()).isEqualTo(URI.create("https://10.0.0.1:8443"));
        assertThat(app.episodic()).isTrue();
        assertThat(app.expires()).contains(Instant.parse("2027-01-31T00:00:00Z"));
        assertThat(app.labels()).containsEntry("tier", "exercise");
    }

    @Test
    void parse_connectorAndTabs_givesTheApp() {
        AppDocument doc = AppDocument.parse("request body",
                "{\n\t\"name\": \"ex2\",\n\t\"hosts\": [\"ex2.example\"],\n\t\"connector\": \"depot-1\"\n}");

        assertThat(doc.errors()).isEmpty();
        assertThat(doc.app().orElseThrow().upstream()).isEqualTo(URI.create("connector:depot-1"));
    }

    @Test
    void parse_sameMistakesAsInAFile_sameMessages() {
        AppDocument doc = AppDocument.parse("request body", """
                {"name": "ex1", "hosts": ["Ex1.example"], "upstream": "ftp://x",
                 "expires": "2027-01-31T00:00:00Z", "colour": "red"}
                """);
        List<PolicyError> inFile = PolicyDirs.errors(PolicyDirs.write(dir, "p.yaml", """
                apps:
                  ex1: { hosts: [Ex1.example], upstream: "ftp://x", expires: "2027-01-31T00:00:00Z",
                         colour: red }
                """));

        assertThat(doc.valid()).isFalse();
        assertThat(doc.errors()).extracting(PolicyError::message)
                .containsExactlyInAnyOrderElementsOf(inFile.stream().map(PolicyError::message).toList());
        assertThat(doc.errors()).allSatisfy(e -> {
            assertThat(e.file()).isEqualTo("request body");
            assertThat(e.line()).isPositive();
        });
    }

    @Test
    void parse_noName_saysSo() {
        AppDocument doc = AppDocument.parse("request body", "{\"hosts\": [\"x.example\"], \"upstream\": \"pep:echo\"}");

        assertThat(doc.errors()).extracting(PolicyError::message).containsExactly("app needs a name");
    }

    @Test
    void parse_notAMappingOrEmptyOrBroken_saysSo() {
        assertThat(AppDocument.parse("b", "[1, 2]").errors()).extracting(PolicyError::message)
                .containsExactly("expected an app: a mapping with a name");
        assertThat(AppDocument.parse("b", "").errors()).extracting(PolicyError::message)
                .containsExactly("expected an app: a mapping with a name");
        assertThat(AppDocument.parse("b", "{\"name\": ").errors()).singleElement()
                .satisfies(e -> assertThat(e.message()).startsWith("YAML syntax"));
    }

    @Test
    void decide_runtimeApp_ruleSelectingItsLabelAllows_othersDeny() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));

        assertThat(engine.register(app("ex1", "ex1.example", Map.of("tier", "exercise")))).isEmpty();
        assertThat(engine.register(app("ex2", "ex2.example", Map.of("tier", "other")))).isEmpty();

        Decision allowed = engine.decide(Requests.to("ex1").groups("blue").build());
        assertThat(allowed.effect()).isEqualTo(Effect.ALLOW);
        assertThat(allowed.ruleId()).contains("exercise-readers");
        assertThat(engine.decide(Requests.to("ex1").groups("red").build()).primaryReason().code())
                .isEqualTo(DecisionReason.NO_MATCHING_RULE);
        // No rule selects ex2: nothing matching means deny.
        assertThat(engine.decide(Requests.to("ex2").groups("blue").build()).primaryReason().code())
                .isEqualTo(DecisionReason.NO_MATCHING_RULE);
        // The label rule does not reach a file app without the label.
        assertThat(engine.decide(Requests.to("a").build()).ruleId()).contains("a-only");
    }

    @Test
    void register_conflicts_refusedAndNothingChanges() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));
        engine.register(app("ex1", "ex1.example", Map.of()));

        assertThat(engine.register(app("a", "new.example", Map.of())))
                .contains("app 'a' is declared in the policy files");
        assertThat(engine.register(app("ex1", "other.example", Map.of())))
                .contains("app 'ex1' is already registered; delete it first");
        assertThat(engine.register(app("ex3", "a.example", Map.of())))
                .contains("host 'a.example' is already routed to app 'a'");
        assertThat(engine.register(app("ex4", "ex1.example", Map.of())))
                .contains("host 'ex1.example' is already routed to app 'ex1'");
        assertThat(engine.apps()).extracting(App::name).containsExactly("a", "ex1");
    }

    @Test
    void register_andDeregister_keepThePolicyVersion() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));
        var version = engine.version();

        engine.register(app("ex1", "ex1.example", Map.of("tier", "exercise")));
        Decision allowed = engine.decide(Requests.to("ex1").groups("blue").build());
        engine.deregister("ex1");

        assertThat(allowed.version()).isEqualTo(version);
        assertThat(engine.version()).isEqualTo(version);
    }

    @Test
    void deregister_runtimeAppGoes_fileAppStays() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));
        engine.register(app("ex1", "ex1.example", Map.of("tier", "exercise")));

        assertThat(engine.deregister("a")).isFalse();
        assertThat(engine.declaredInFiles("a")).isTrue();
        assertThat(engine.deregister("ex1")).isTrue();
        assertThat(engine.deregister("ex1")).isFalse();
        assertThat(engine.decide(Requests.to("ex1").groups("blue").build()).primaryReason().code())
                .isEqualTo(PolicyReasons.UNKNOWN_APP);
    }

    @Test
    void reload_keepsRuntimeApps_andRefusesAFileThatTakesTheirNameOrHost() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));
        engine.register(app("ex1", "ex1.example", Map.of("tier", "exercise")));

        PolicyDirs.write(dir, "p.yaml", POLICY.replace("when: \"true\"", "when: \"false\""));
        assertThat(engine.reload()).isEmpty();
        assertThat(engine.runtimeApps()).extracting(App::name).containsExactly("ex1");
        assertThat(engine.decide(Requests.to("ex1").groups("blue").build()).allowed()).isTrue();

        PolicyDirs.write(dir, "q.yaml", """
                apps:
                  ex1: { hosts: [x.example], upstream: "pep:echo" }
                  b: { hosts: [ex1.example], upstream: "pep:echo" }
                """);
        List<PolicyError> errors = engine.reload();
        assertThat(errors).extracting(PolicyError::message).containsExactly(
                "app 'ex1' is registered at run time; remove that registration (admin API) before "
                        + "declaring it in a file",
                "host 'ex1.example' is routed to run-time app 'ex1'; remove that registration "
                        + "(admin API) first");
        assertThat(errors.get(0).file()).endsWith("q.yaml");
        assertThat(errors.get(0).line()).isEqualTo(2);
        assertThat(engine.apps()).extracting(App::name).containsExactly("a", "ex1");
    }

    @Test
    void load_ruleNamingAnAppOnlyRegisteredAtRunTime_isUnknownApp() {
        List<PolicyError> errors = PolicyDirs.errors(PolicyDirs.write(dir, "p.yaml", POLICY + """
                  - id: by-name
                    apps: [ex1]
                    effect: allow
                    when: "true"
                """));

        assertThat(errors).extracting(PolicyError::message)
                .containsExactly("rule by-name names unknown app 'ex1'; declared apps: [a]");
    }

    @Test
    void load_appLabelsNotAMapping_isAnError() {
        List<PolicyError> errors = PolicyDirs.errors(PolicyDirs.write(dir, "p.yaml", """
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                rules:
                  - id: r
                    app-labels: [tier]
                    effect: allow
                    when: "true"
                """));

        assertThat(errors).extracting(PolicyError::message).containsExactly("app-labels: expected a mapping");
    }

    @Test
    void decide_ruleWithNamesAndLabels_selectsBoth() {
        DefaultPolicyEngine engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", """
                apps:
                  a: { hosts: [a.example], upstream: "pep:echo" }
                  b: { hosts: [b.example], upstream: "pep:echo" }
                rules:
                  - id: both
                    apps: [a]
                    app-labels: { tier: exercise, zone: north }
                    effect: allow
                    when: "true"
                """));
        engine.register(app("ex1", "ex1.example", Map.of("tier", "exercise", "zone", "north", "x", "y")));
        engine.register(app("ex2", "ex2.example", Map.of("tier", "exercise")));

        assertThat(engine.decide(Requests.to("a").build()).allowed()).isTrue();
        assertThat(engine.decide(Requests.to("b").build()).allowed()).isFalse();
        assertThat(engine.decide(Requests.to("ex1").build()).allowed()).isTrue();
        assertThat(engine.decide(Requests.to("ex2").build()).allowed()).isFalse();
    }

    private static App app(String name, String host, Map<String, String> labels) {
        return new App(name, List.of(host), AppProtocol.HTTP, URI.create("pep:echo"), labels, false,
                Optional.empty());
    }
}
