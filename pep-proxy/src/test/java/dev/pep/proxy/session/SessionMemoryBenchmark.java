package dev.pep.proxy.session;

import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Credentials;
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
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * How much heap one registered live session costs. Not a test and not run by {@code mvn verify}:
 * {@code bench/session-memory.sh} runs it. Registers sessions shaped like a signed-in partner's
 * (a subject with groups, roles and claims, a cookie, six request headers, device signals, a
 * decision with header obligations), each with its own strings, and reads the live heap after a
 * full collection before and after. Two figures: the whole entry (what the registry keeps
 * reachable: the request, subject, credentials and decision) and the registry's own share when
 * the exchange's handler holds the request anyway (the entry, its map node and its optionals).
 */
public final class SessionMemoryBenchmark {

    private static final PolicyVersion VERSION = new PolicyVersion("sha256:bench");
    private static final Instant T0 = Instant.parse("2026-12-04T10:00:00Z");
    private static final SessionControl NOTHING = new SessionControl() {
        @Override
        public Executor executor() {
            return Runnable::run;
        }

        @Override
        public void end(LiveSession session, SessionEnding ending) {
        }
    };

    private SessionMemoryBenchmark() {
    }

    /** Arguments: how many sessions (default 100000). */
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 100_000;
        App app = new App("ledger", List.of("ledger.partners.example"), AppProtocol.HTTP,
                URI.create("https://10.1.2.3:8443"), Map.of("tier", "mission"), false, Optional.empty());
        System.out.printf("sessions=%d jvm=%s%n", n, System.getProperty("java.vm.version"));
        report("whole entry (request, subject, credentials, decision)", perSession(n, app, false, false));
        report("registry's own share (handler holds the request)", perSession(n, app, true, false));
        report("idle connection entry (keeps the last exchange's)", perSession(n, app, false, true));
    }

    private static void report(String what, double bytes) {
        System.out.printf("%-56s %8.0f bytes per session%n", what, bytes);
    }

    /**
     * @param handlerHoldsRequest the inputs stay reachable from elsewhere (the exchange's handler)
     * @param idle each entry is an idle connection made from an exchange's entry, which goes
     */
    private static double perSession(int n, App app, boolean handlerHoldsRequest, boolean idle) throws Exception {
        SessionRegistry registry = new SessionRegistry((s, now) -> CompletableFuture.completedFuture(
                s.decision()), new SessionListener() {
                    @Override
                    public void ended(LiveSession session, SessionEnding ending) {
                    }
                }, Clock.systemUTC(), Duration.ofMinutes(1));
        try {
            List<Object[]> inputs = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                inputs.add(inputs(i, app));
            }
            long before = liveHeap();
            for (int i = 0; i < n; i++) {
                Object[] in = inputs.get(i);
                LiveSession s = new LiveSession("req-" + i + "-4f3a9c2e", "conn-" + i + "-77d1e0b9",
                        Optional.of("gs-" + i + "-0c9e55aa"), SessionKind.WEBSOCKET, (AccessRequest) in[0],
                        (Credentials) in[1], Optional.of(T0.plusSeconds(3600)), 1, (Decision) in[2], NOTHING);
                registry.register(idle ? LiveSession.idle(s, SessionKind.HTTP1_IDLE, T0, NOTHING) : s);
            }
            if (!handlerHoldsRequest) {
                inputs = null;
            }
            long after = liveHeap();
            long registered = registry.size();
            if (registered != n) {
                throw new IllegalStateException("registered " + registered + " of " + n);
            }
            double perSession = (after - before) / (double) n;
            if (handlerHoldsRequest && inputs.size() != n) {
                throw new IllegalStateException("inputs lost");
            }
            return handlerHoldsRequest ? perSession : perSession + inputBytes(n, app);
        } finally {
            registry.close();
        }
    }

    /** The heap the inputs of {@code n} sessions take on their own. */
    private static double inputBytes(int n, App app) throws Exception {
        long before = liveHeap();
        List<Object[]> inputs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            inputs.add(inputs(i, app));
        }
        long after = liveHeap();
        double bytes = (after - before) / (double) n;
        return inputs.size() == n ? bytes : Double.NaN;
    }

    private static Object[] inputs(int i, App app) throws Exception {
        Source source = new Source(InetAddress.getByAddress(new byte[] {(byte) 198, 51, (byte) (i >> 8), (byte) i}),
                40000 + i % 20000, Set.of("partner-vpn"));
        Subject subject = new Subject("user-" + i + "@coalition.example", "https://idp.partner-" + (i % 50) + ".example",
                "partner-" + (i % 50), Set.of("coalition-logistics", "readers", "team-" + i % 100, "site-" + i % 7),
                Set.of("analyst", "viewer"), "user" + i + "@partner.example",
                Map.of("department", "ops-" + i % 30, "clearance", "restricted", "employee_id", "E" + (100000 + i)),
                AuthenticationMethod.values()[i % AuthenticationMethod.values().length], T0);
        DevicePosture device = new DevicePosture(Map.of(
                "managed", new PostureSignal("managed", true, "device-certificate", T0),
                "os", new PostureSignal("os", "windows-11-" + i % 5, "assertion", T0),
                "device_id", new PostureSignal("device_id", "dev-" + i + "-a1b2c3", "assertion", T0)));
        Map<String, String> headers = Map.of("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0." + i,
                "accept", "text/html,application/xhtml+xml", "accept-language", "en-GB,en;q=0.9",
                "origin", "https://ledger.partners.example", "sec-websocket-version", "13",
                "x-request-trace", "trace-" + i);
        RequestAttributes request = new RequestAttributes("GET", "ledger.partners.example", "/live/" + i, "",
                headers, "HTTP/1.1");
        AccessRequest access = new AccessRequest(subject, device, app, request, source, T0, "req-" + i);
        Credentials credentials = new Credentials("ledger.partners.example",
                Map.of("cookie", List.of("__Host-pep_session=" + "s".repeat(180) + i)), List.of(),
                Optional.of("t13d1517h2_8daaf6152771_" + i), source, T0);
        Decision decision = new Decision(Effect.ALLOW, Optional.of("ledger-readers"), VERSION,
                List.of(DecisionReason.of(DecisionReason.RULE_ALLOWED, "access allowed by policy")),
                List.of(new Obligation.SetHeader("X-Pep-Subject", subject.id()),
                        new Obligation.SetHeader("X-Pep-Organisation", subject.organisation()),
                        new Obligation.MaxSessionLength(Duration.ofHours(8))),
                Duration.ofMinutes(1));
        return new Object[] {access, credentials, decision};
    }

    private static long liveHeap() throws InterruptedException {
        for (int i = 0; i < 4; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
