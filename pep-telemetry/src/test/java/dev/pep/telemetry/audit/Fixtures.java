package dev.pep.telemetry.audit;

import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuditEvent;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Effect;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import dev.pep.core.PostureSignal;
import dev.pep.core.RequestAttributes;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import java.net.InetAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/** Shared test values: a fixed clock, counting ids, and one of each vocabulary record. */
final class Fixtures {

    static final Instant NOW = Instant.parse("2026-12-03T20:00:00Z");
    static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    static final String SECRET_TOKEN = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl";

    private Fixtures() {
    }

    static AuditEvents events() {
        AtomicLong n = new AtomicLong();
        return new AuditEvents("gw-1", CLOCK, () -> "evt-" + n.incrementAndGet());
    }

    static Subject subject() {
        return new Subject("alice", "https://idp.partner.example", "partner", Set.of("logistics"),
                Set.of("reader"), "alice@partner.example", Map.of("acr", "mfa"),
                AuthenticationMethod.OIDC, NOW.minusSeconds(60));
    }

    static App app() {
        return new App("logistics", List.of("logistics.partners.example"), AppProtocol.HTTP,
                URI.create("https://10.1.2.3:8443"), Map.of(), true,
                Optional.of(Instant.parse("2027-01-31T00:00:00Z")));
    }

    static Source source() {
        try {
            return new Source(InetAddress.getByName("192.0.2.10"), 51515, Set.of("partners"));
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    static AccessRequest request() {
        DevicePosture device = new DevicePosture(Map.of("managed",
                new PostureSignal("managed", true, "device-certificate", NOW)));
        RequestAttributes attrs = new RequestAttributes("GET", "logistics.partners.example",
                "/orders", "access_token=" + SECRET_TOKEN,
                Map.of("cookie", "pep_session=" + SECRET_TOKEN), "HTTP/1.1");
        return new AccessRequest(subject(), device, app(), attrs, source(), NOW, "req-1");
    }

    static Decision allow() {
        return new Decision(Effect.ALLOW, Optional.of("logistics-readers"),
                new PolicyVersion("sha256:abc"),
                List.of(DecisionReason.of(DecisionReason.RULE_ALLOWED, "allowed")),
                List.of(new Obligation.ReadOnly(),
                        new Obligation.SetHeader("X-Identity", SECRET_TOKEN)),
                Duration.ofMinutes(1));
    }

    /** {@code n} chained JSON lines of one gateway, from seq 1. */
    static List<String> chainedLines(int n) {
        AuditEvents events = events();
        List<String> lines = new ArrayList<>();
        String prev = AuditJson.GENESIS_HASH;
        for (int i = 1; i <= n; i++) {
            AuditEvent e = events.sessionEnded("s-" + i, i, 2L * i, Duration.ofSeconds(i), "closed");
            AuditJson.Chained c = AuditJson.chain(e, i, prev);
            lines.add(c.json());
            prev = c.hash();
        }
        return lines;
    }
}
