package dev.pep.identity.posture;

import dev.pep.core.Credentials;
import dev.pep.core.PostureProvider;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The TLS and browser context: the ClientHello fingerprint the listener computed
 * ({@link Credentials#tlsFingerprint()}), the offered TLS version, the browser family and major
 * version of the User-Agent, and whether the session showed another fingerprint before
 * ({@code tls.fingerprint_changed}): a session cookie replayed from another client shows up as a
 * change. Completes at once; thread-safe.
 */
public final class TlsContextProvider implements PostureProvider {

    private final String name;
    private final DeviceBindings bindings;
    private final BoundedStore<String> firstFingerprints;

    /**
     * A provider.
     *
     * @param name recorded as the source of its signals
     * @param bindings names the session of a request
     * @param idle how long a session's first fingerprint is remembered without use
     * @param maxSessions the most sessions remembered
     */
    public TlsContextProvider(String name, DeviceBindings bindings, Duration idle, int maxSessions) {
        this.name = Objects.requireNonNull(name, "name");
        this.bindings = Objects.requireNonNull(bindings, "bindings");
        this.firstFingerprints = new BoundedStore<>(maxSessions, idle);
    }

    @Override
    public String name() {
        return name;
    }

    // LIMITATION(L-506): no built-in check that the fingerprint fits the browser the agent names.
    @Override
    public CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials) {
        Instant now = credentials.time();
        List<PostureSignal> out = new ArrayList<>();
        credentials.tlsFingerprint().ifPresent(fp -> {
            out.add(PostureSignals.signal(PostureSignals.TLS_FINGERPRINT, fp, name, now));
            out.add(PostureSignals.signal(PostureSignals.TLS_VERSION, version(fp), name, now));
            String key = bindings.sessionKey(subject, credentials);
            String first = firstFingerprints.compute(key, now, (k, old) -> old == null ? fp : old);
            out.add(PostureSignals.signal(PostureSignals.TLS_FINGERPRINT_CHANGED, !fp.equals(first),
                    name, now));
        });
        List<String> agents = credentials.header("user-agent");
        if (agents.size() == 1) {
            UserAgents.parse(agents.get(0)).ifPresent(b -> {
                out.add(PostureSignals.signal(PostureSignals.BROWSER_FAMILY, b.family(), name, now));
                out.add(PostureSignals.signal(PostureSignals.BROWSER_VERSION, b.majorVersion(), name,
                        now));
                out.add(PostureSignals.signal(PostureSignals.BROWSER_HEADLESS, b.headless(), name,
                        now));
            });
        }
        return CompletableFuture.completedFuture(out);
    }

    private static String version(String fingerprint) {
        String code = fingerprint.length() >= 3 ? fingerprint.substring(1, 3) : "";
        return switch (code) {
            case "13" -> "1.3";
            case "12" -> "1.2";
            case "11" -> "1.1";
            case "10" -> "1.0";
            default -> "unknown";
        };
    }
}
