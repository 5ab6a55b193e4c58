package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.DecisionReason;
import dev.pep.core.Effect;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every attribute, operator and helper, as a table of condition, request and outcome. */
class ConditionTableTest {

    @TempDir
    Path dir;

    static Stream<Arguments> table() {
        Duration min = Duration.ofMinutes(1);
        return Stream.of(
                row("subject.id == \"alice\"", Requests.to("a"), true),
                row("subject.id != \"alice\"", Requests.to("a"), false),
                row("subject.issuer.startsWith(\"https://idp.\")", Requests.to("a"), true),
                row("subject.organisation == \"northwind\"", Requests.to("a"), true),
                row("subject.organisation == \"northwind\"",
                        Requests.to("a").organisation("contoso"), false),
                row("\"ops\" in subject.groups", Requests.to("a").groups("ops", "dev"), true),
                row("\"ops\" in subject.groups", Requests.to("a").groups("dev"), false),
                row("subject.roles.exists(r, r.endsWith(\"-lead\"))",
                        Requests.to("a").roles("team-lead"), true),
                row("subject.roles.all(r, r.startsWith(\"x\"))",
                        Requests.to("a").roles("xa", "b"), false),
                row("size(subject.groups) >= 2", Requests.to("a").groups("a", "b"), true),
                row("subject.email.endsWith(\"@northwind.example\")", Requests.to("a"), true),
                row("subject.email.matches(\"^[a-z]+@\")", Requests.to("a"), true),
                row("subject.claims[\"level\"] > 3", Requests.to("a").claim("level", 5), true),
                row("subject.claims[\"level\"] > 3", Requests.to("a").claim("level", 2), false),
                row("\"level\" in subject.claims", Requests.to("a"), false),
                row("has(subject.claims.level)", Requests.to("a").claim("level", 1), true),
                row("subject.claims[\"tags\"].exists(t, t == \"x\")",
                        Requests.to("a").claim("tags", List.of("x")), true),
                row("subject.method == \"oidc\"", Requests.to("a"), true),
                row("subject.method == \"client_certificate\"",
                        Requests.to("a").method(AuthenticationMethod.CLIENT_CERTIFICATE), true),
                row("subject.authenticated", Requests.to("a"), true),
                row("subject.authenticated", Requests.to("a").anonymous(), false),
                row("!subject.authenticated", Requests.to("a").anonymous(), true),
                row("subject.auth_age < duration(\"1h\")", Requests.to("a"), true),
                row("subject.auth_age < duration(\"1h\")",
                        Requests.to("a").authenticatedAgo(Duration.ofHours(2)), false),
                row("subject.auth_time < context.time", Requests.to("a"), true),
                row("device.managed", Requests.to("a").managed(min), true),
                row("device.managed", Requests.to("a"), false),
                row("device.managed", Requests.to("a").signal("managed", false, min), false),
                row("device.age < duration(\"15m\")", Requests.to("a").managed(min), true),
                row("device.age < duration(\"15m\")",
                        Requests.to("a").managed(Duration.ofMinutes(20)), false),
                row("device.age < duration(\"15m\")", Requests.to("a"), false),
                row("device.age < duration(\"15m\")",
                        Requests.to("a").signal("os.version", "14", min), true),
                row("device.signals[\"os.version\"].value == \"14\"",
                        Requests.to("a").signal("os.version", "14", min), true),
                row("device.signals[\"os.version\"].age < duration(\"30s\")",
                        Requests.to("a").signal("os.version", "14", min), false),
                row("device.signals[\"disk.encrypted\"].value == true",
                        Requests.to("a").signal("disk.encrypted", true, min), true),
                row("device.signals[\"patch.level\"].value >= 7",
                        Requests.to("a").signal("patch.level", 7, min), true),
                row("device.certificate[\"issuer\"] == \"CN=CA\"",
                        Requests.to("a").signal("certificate.issuer", "CN=CA", min), true),
                row("device.fingerprint == \"t13d\"",
                        Requests.to("a").signal("tls.fingerprint", "t13d", min), true),
                row("request.method in [\"GET\", \"HEAD\"]", Requests.to("a"), true),
                row("request.method in [\"GET\", \"HEAD\"]",
                        Requests.to("a").http("POST", "/"), false),
                row("request.path.startsWith(\"/api/\")",
                        Requests.to("a").http("GET", "/api/x"), true),
                row("request.host == \"a.example\"", Requests.to("a"), true),
                row("request.query == \"\"", Requests.to("a"), true),
                row("request.protocol == \"HTTP/1.1\"", Requests.to("a"), true),
                row("request.id == \"req-1\"", Requests.to("a"), true),
                row("request.headers[\"x-tenant\"] == \"n1\"",
                        Requests.to("a").header("x-tenant", "n1"), true),
                row("\"x-tenant\" in request.headers", Requests.to("a"), false),
                row("request.path.matchesGlob(\"/api/*/orders\")",
                        Requests.to("a").http("GET", "/api/v1/orders"), true),
                row("request.path.matchesGlob(\"/api/*/orders\")",
                        Requests.to("a").http("GET", "/api/v1/x/orders"), false),
                row("request.path.matchesGlob(\"/api/**\")",
                        Requests.to("a").http("GET", "/api/v1/x/orders"), true),
                row("request.path.matchesGlob(\"/file?.txt\")",
                        Requests.to("a").http("GET", "/file1.txt"), true),
                row("request.path.matchesGlob(\"/a.b\")",
                        Requests.to("a").http("GET", "/aXb"), false),
                row("source.ip == \"198.51.100.7\"", Requests.to("a"), true),
                row("source.ip.inCidr(\"198.51.100.0/24\")", Requests.to("a"), true),
                row("source.ip.inCidr(\"198.51.100.0/25\")",
                        Requests.to("a").ip("198.51.100.200"), false),
                row("source.ip.inCidr(\"198.51.100.7\")", Requests.to("a"), true),
                row("source.ip.inCidr(\"0.0.0.0/0\")", Requests.to("a"), true),
                row("source.ip.inCidr([\"10.0.0.0/8\", \"198.51.0.0/16\"])", Requests.to("a"),
                        true),
                row("source.ip.inCidr([\"10.0.0.0/8\"])", Requests.to("a"), false),
                row("source.ip.inCidr(\"2001:db8::/32\")", Requests.to("a").ip("2001:db8::1"),
                        true),
                row("source.ip.inCidr(\"2001:db8::/32\")", Requests.to("a"), false),
                row("source.port > 1024", Requests.to("a"), true),
                row("\"partner-vpn\" in source.networks",
                        Requests.to("a").networks("partner-vpn"), true),
                row("app.name == \"a\"", Requests.to("a"), true),
                row("app.labels[\"tier\"] == \"gold\"", Requests.to("a"), true),
                row("app.lifecycle == \"permanent\"", Requests.to("a"), true),
                row("app.protocol == \"http\"", Requests.to("a"), true),
                row("context.day == \"thursday\"", Requests.to("a"), true),
                row("context.hour == 10", Requests.to("a"), true),
                row("context.time > timestamp(\"2026-01-01T00:00:00Z\")", Requests.to("a"),
                        true),
                row("context.policy_version.startsWith(\"sha256:\")", Requests.to("a"), true),
                row("context.time.inWindow(\"08:00\", \"18:00\")", Requests.to("a"), true),
                row("context.time.inWindow(\"08:00\", \"10:00\")", Requests.to("a"), false),
                row("context.time.inWindow(\"10:00\", \"11:00\")", Requests.to("a"), true),
                row("context.time.inWindow(\"22:00\", \"06:00\")",
                        Requests.to("a").at("2026-12-03T23:30:00Z"), true),
                row("context.time.inWindow(\"22:00\", \"06:00\")", Requests.to("a"), false),
                row("context.time.inWindow(\"10:30\", \"12:00\", \"Europe/Berlin\")",
                        Requests.to("a"), true),
                row("context.time.inWindow(\"10:30\", \"12:00\", \"UTC\")", Requests.to("a"),
                        false),
                row("true && (false || subject.id == \"alice\")", Requests.to("a"), true),
                row("subject.id == \"alice\" ? device.managed : true", Requests.to("a"), false),
                row("int(\"3\") + 4 == 7 && 2.5 * 2.0 == 5.0", Requests.to("a"), true),
                row("[1, 2, 3].filter(x, x > 1).size() == 2", Requests.to("a"), true),
                row("{\"k\": 1}.exists_one(k, k == \"k\")", Requests.to("a"), true));
    }

    @ParameterizedTest(name = "[{index}] {0} -> {2}")
    @MethodSource("table")
    void decide_conditionTable_matchesAsExpected(String when, Requests request, boolean allow) {
        PolicyDirs.write(dir, "p.yaml", PolicyDirs.oneRule(when));
        var decision = PolicyDirs.engine(dir).decide(request.build());

        assertThat(decision.effect()).isEqualTo(allow ? Effect.ALLOW : Effect.DENY);
        assertThat(decision.primaryReason().code()).isEqualTo(
                allow ? DecisionReason.RULE_ALLOWED : DecisionReason.NO_MATCHING_RULE);
    }

    static Stream<Arguments> failing() {
        return Stream.of(
                row("subject.claims[\"missing\"] == 1", Requests.to("a"), false),
                row("source.ip.inCidr(\"198.51.100.0/33\")", Requests.to("a"), false),
                row("source.ip.inCidr(\"not-a-network\")", Requests.to("a"), false),
                row("request.headers[\"absent\"] == \"x\"", Requests.to("a"), false),
                row("context.time.inWindow(\"8am\", \"18:00\")", Requests.to("a"), false),
                row("context.time.inWindow(\"08:00\", \"18:00\", \"Mars/Base\")",
                        Requests.to("a"), false),
                row("1 / (size(subject.groups)) == 1", Requests.to("a"), false),
                row("subject.claims[\"big\"].exists(x, x == -1)", Requests.to("a").claim("big",
                        java.util.Collections.nCopies(Conditions.MAX_ITERATIONS + 1, 1)), false));
    }

    @ParameterizedTest(name = "[{index}] {0}")
    @MethodSource("failing")
    void decide_conditionFailsAtRuntime_deniesWithEvaluationError(String when, Requests request,
            boolean unused) {
        PolicyDirs.write(dir, "p.yaml", PolicyDirs.oneRule(when));
        var decision = PolicyDirs.engine(dir).decide(request.build());

        assertThat(decision.effect()).isEqualTo(Effect.DENY);
        assertThat(decision.primaryReason().code()).isEqualTo(DecisionReason.EVALUATION_ERROR);
        assertThat(decision.ruleId()).isEmpty();
    }

    private static Arguments row(String when, Requests request, boolean allow) {
        return Arguments.of(when, request, allow);
    }
}
