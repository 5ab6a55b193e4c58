package dev.pep.proxy.session;

import dev.pep.core.AccessRequest;
import dev.pep.core.Credentials;
import dev.pep.core.Decision;
import dev.pep.core.Obligation;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One admitted session while it lives: who, from where, to which app, the decision that admitted
 * it (or the latest re-decision that kept it), and how to end it.
 *
 * <p>Thread-safe: the handler that carries it registers it and changes its kind on its event
 * loop; the registry reads it and re-decides it on its own thread. Holds the request's
 * credentials (they may carry secrets) only so it can be re-authenticated; {@link #describe}
 * shows none of them.
 */
public final class LiveSession {

    private final String id;
    private final String connectionId;
    private final Optional<String> gatewaySessionId;
    private final AccessRequest admitted;
    private final Credentials credentials;
    private final Optional<Instant> credentialExpires;
    private final long generation;
    private final Instant started;
    private final Optional<Instant> endsAt;
    private final SessionControl control;
    private volatile SessionKind kind;
    private volatile Decision decision;
    private volatile Instant decidedAt;
    /** The rule's idle limit, from the latest decision; null for none. */
    private volatile Duration idleLimit;
    /** Set by the handler when bytes pass; cleared by the registry's tick, which moves {@link #lastCarried}. */
    private volatile boolean carried;
    /** The tick that last saw bytes (or the start); read and written by the registry's thread. */
    private Instant lastCarried;
    /** The connection its upstream rides (a connector's tunnel), once dialled; else null. */
    private volatile Object carrier;

    /**
     * A session admitted by {@code decision} at {@code admitted.time()}.
     *
     * @param id unique: the admitting request's id
     * @param connectionId the partner connection's session id (audit's {@code session_id})
     * @param gatewaySessionId the gateway sign-in session the request's cookie opened, if any
     * @param credentialExpires when the credential that authenticated the subject runs out
     * @param generation the registry's generation when the request was authenticated
     */
    public LiveSession(String id, String connectionId, Optional<String> gatewaySessionId,
            SessionKind kind, AccessRequest admitted, Credentials credentials,
            Optional<Instant> credentialExpires, long generation, Decision decision,
            SessionControl control) {
        this.id = Objects.requireNonNull(id, "id");
        this.connectionId = Objects.requireNonNull(connectionId, "connectionId");
        this.gatewaySessionId = Objects.requireNonNull(gatewaySessionId, "gatewaySessionId");
        this.kind = Objects.requireNonNull(kind, "kind");
        this.admitted = Objects.requireNonNull(admitted, "admitted");
        this.credentials = Objects.requireNonNull(credentials, "credentials");
        this.credentialExpires = Objects.requireNonNull(credentialExpires, "credentialExpires");
        this.decision = Objects.requireNonNull(decision, "decision");
        this.control = Objects.requireNonNull(control, "control");
        this.generation = generation;
        this.started = admitted.time();
        this.decidedAt = started;
        this.endsAt = maxLength(decision).map(started::plus);
        this.idleLimit = idleLimit(decision);
        this.lastCarried = started;
    }

    /**
     * The connection {@code last} ran on, idle now: a session of {@code kind} since {@code since},
     * kept by {@code last}'s latest decision and re-decided with its request and credentials, so
     * that what would have ended {@code last} ends the connection; it carried nothing since
     * {@code now}. Same id as {@code last}, whose own entry must be gone from the registry.
     */
    public static LiveSession idle(LiveSession last, SessionKind kind, Instant since, Instant now,
            SessionControl control) {
        AccessRequest a = last.admitted;
        LiveSession s = new LiveSession(last.id, last.connectionId, last.gatewaySessionId, kind,
                new AccessRequest(a.subject(), a.device(), a.app(), a.request(), a.source(), since, a.requestId()),
                last.credentials, last.credentialExpires, last.generation, last.decision, control);
        s.kept(last.decision, last.decidedAt);
        s.lastCarried = now;
        return s;
    }

    public String id() {
        return id;
    }

    public String connectionId() {
        return connectionId;
    }

    public Optional<String> gatewaySessionId() {
        return gatewaySessionId;
    }

    public SessionKind kind() {
        return kind;
    }

    /** The session changed protocol (an HTTP exchange became a WebSocket). */
    public void kind(SessionKind next) {
        kind = Objects.requireNonNull(next, "kind");
    }

    /** The request that admitted the session; its subject and device as they were then. */
    public AccessRequest admitted() {
        return admitted;
    }

    /** What the admitting request presented; for re-authentication only, never to show. */
    public Credentials credentials() {
        return credentials;
    }

    /** When the subject's credential runs out (a token's expiry); empty for never or unknown. */
    public Optional<Instant> credentialExpires() {
        return credentialExpires;
    }

    /** The registry's generation when the admitting request was authenticated. */
    public long generation() {
        return generation;
    }

    public Instant started() {
        return started;
    }

    /** The decision that keeps the session alive: the admitting one or the latest re-decision. */
    public Decision decision() {
        return decision;
    }

    /** When {@link #decision()} was made. */
    public Instant decidedAt() {
        return decidedAt;
    }

    /** When the rule's maximum session length runs out; empty when it sets none. */
    public Optional<Instant> endsAt() {
        return endsAt;
    }

    /** The app's name. */
    public String app() {
        return admitted.app().name();
    }

    /** The subject's id. */
    public String subject() {
        return admitted.subject().id();
    }

    /** The device id the posture named, or empty. */
    public String device() {
        return admitted.device().signal("device_id").map(s -> String.valueOf(s.value())).orElse("");
    }

    /** When the session must be decided again: its rule's interval after the last decision. */
    public Optional<Instant> reevaluateAt() {
        return reevaluateInterval(decision).map(decidedAt::plus);
    }

    /**
     * Bytes passed, in either direction. Called by the handler on its event loop for every read
     * or write it relays; cheap: one volatile read, and a write at most once per registry tick.
     */
    public void carried() {
        if (!carried) {
            carried = true;
        }
    }

    /**
     * Its upstream rides {@code connection} (a tunnel stream's parent), so that what ends that
     * connection (a connector revoked) can end the session first. Set by the handler when it
     * dials.
     */
    public void carriedBy(Object connection) {
        carrier = connection;
    }

    /** Whether its upstream rides {@code connection}. */
    public boolean ridesOn(Object connection) {
        return connection != null && carrier == connection;
    }

    /** Whether bytes passed that no registry tick took in yet. */
    boolean carriedSinceTick() {
        return carried;
    }

    /**
     * Whether the session carried no bytes for its rule's idle limit; on the registry's thread
     * at each tick, which counts bytes seen since the last tick as carried now.
     */
    boolean idleOver(Instant now) {
        Duration limit = idleLimit;
        if (limit == null) {
            return false;
        }
        if (carried) {
            carried = false;
            lastCarried = now;
            return false;
        }
        return !now.isBefore(lastCarried.plus(limit));
    }

    /** A re-decision kept the session: it lives on under {@code kept}. */
    void kept(Decision kept, Instant at) {
        decision = kept;
        decidedAt = at;
        idleLimit = idleLimit(kept);
    }

    SessionControl control() {
        return control;
    }

    /** What an operator may see of the session: no credential, no claim values. */
    public Map<String, Object> describe(Instant now) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("id", id);
        d.put("connection", connectionId);
        d.put("kind", kind.name().toLowerCase(java.util.Locale.ROOT));
        d.put("app", app());
        d.put("subject", subject());
        d.put("issuer", admitted.subject().issuer());
        d.put("organisation", admitted.subject().organisation());
        d.put("device", device());
        d.put("device_managed", admitted.device().managed());
        d.put("source", admitted.source().address().getHostAddress());
        d.put("started", started.toString());
        d.put("age_seconds", Duration.between(started, now).toSeconds());
        d.put("rule", decision.ruleId().orElse(""));
        d.put("policy_version", decision.version().id());
        d.put("decided", decidedAt.toString());
        return d;
    }

    private static Optional<Duration> maxLength(Decision d) {
        return d.obligations().stream().filter(Obligation.MaxSessionLength.class::isInstance)
                .map(o -> ((Obligation.MaxSessionLength) o).limit()).min(Duration::compareTo);
    }

    private static Duration idleLimit(Decision d) {
        return d.obligations().stream().filter(Obligation.IdleLimit.class::isInstance)
                .map(o -> ((Obligation.IdleLimit) o).limit()).min(Duration::compareTo).orElse(null);
    }

    private static Optional<Duration> reevaluateInterval(Decision d) {
        return d.obligations().stream().filter(Obligation.Reevaluate.class::isInstance)
                .map(o -> ((Obligation.Reevaluate) o).interval()).min(Duration::compareTo);
    }
}
