package dev.pep.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A deny that only the device caused says so, for the partner's deny page. */
class DeviceShortfallTest {

    private static final String POLICY = """
            apps:
              a: { hosts: [a.example], upstream: "pep:echo" }
              b: { hosts: [b.example], upstream: "pep:echo" }
              c: { hosts: [c.example], upstream: "pep:echo" }
            rules:
              - id: a-ops
                apps: [a]
                effect: allow
                when: '"ops" in subject.groups && device.managed && device.age < duration("15m")'
              - id: b-chrome
                apps: [b]
                effect: allow
                when: >
                  subject.authenticated && "browser.version" in device.signals &&
                  device.signals["browser.version"].value >= 120
              - id: c-either
                apps: [c]
                effect: allow
                when: '"ops" in subject.groups || device.managed'
            """;

    @TempDir
    Path dir;
    DefaultPolicyEngine engine;

    @BeforeEach
    void load() {
        engine = PolicyDirs.engine(PolicyDirs.write(dir, "p.yaml", POLICY));
    }

    @Test
    void decide_onlyUnmanagedDeviceMissing_deviceNotManagedAfterNoMatch() {
        Decision d = engine.decide(Requests.to("a").groups("ops").build());

        assertThat(d.allowed()).isFalse();
        assertThat(d.ruleId()).isEmpty();
        assertThat(d.reasons()).extracting(DecisionReason::code).containsExactly(
                DecisionReason.NO_MATCHING_RULE, DecisionReason.DEVICE_NOT_MANAGED);
        assertThat(d.reasons().get(1).message()).isEqualTo("this application requires a managed device");
    }

    @Test
    void decide_managedButStale_devicePostureStale() {
        Decision d = engine.decide(Requests.to("a").groups("ops").managed(Duration.ofMinutes(20)).build());

        assertThat(d.reasons()).extracting(DecisionReason::code).containsExactly(
                DecisionReason.NO_MATCHING_RULE, DecisionReason.DEVICE_POSTURE_STALE);
    }

    @Test
    void decide_otherDeviceRequirement_deviceRequirementNotMet() {
        Decision d = engine.decide(Requests.to("b").signal("browser.version", 109L, Duration.ZERO).build());

        assertThat(d.reasons()).extracting(DecisionReason::code).containsExactly(
                DecisionReason.NO_MATCHING_RULE, DecisionReason.DEVICE_REQUIREMENT_NOT_MET);
    }

    @Test
    void decide_guardedSignalAbsent_deviceRequirementNotMet() {
        // The guard is false and the guarded term alone cannot be evaluated: still the device.
        Decision d = engine.decide(Requests.to("b").build());

        assertThat(d.allowed()).isFalse();
        assertThat(d.reasons()).extracting(DecisionReason::code).containsExactly(
                DecisionReason.NO_MATCHING_RULE, DecisionReason.DEVICE_REQUIREMENT_NOT_MET);
    }

    @Test
    void decide_subjectAlsoFallsShort_noDeviceReason() {
        Decision d = engine.decide(Requests.to("a").groups("guests").build());

        assertThat(d.reasons()).extracting(DecisionReason::code)
                .containsExactly(DecisionReason.NO_MATCHING_RULE);
    }

    @Test
    void decide_disjunction_noDeviceReason() {
        Decision d = engine.decide(Requests.to("c").groups("guests").build());

        assertThat(d.reasons()).extracting(DecisionReason::code)
                .containsExactly(DecisionReason.NO_MATCHING_RULE);
    }

    @Test
    void decide_managedAndFresh_allowedWithoutDeviceReason() {
        Decision d = engine.decide(Requests.to("a").groups("ops").managed(Duration.ofMinutes(1)).build());

        assertThat(d.allowed()).isTrue();
        assertThat(d.reasons()).extracting(DecisionReason::code).containsExactly(DecisionReason.RULE_ALLOWED);
    }
}
