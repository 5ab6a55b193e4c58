package dev.pep.identity.session;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * A {@link SessionStore} in this process's memory.
 *
 * <p>Entries are dropped once their session's absolute expiry has passed, so memory follows the
 * number of live sessions. Thread-safe.
 */
// LIMITATION(L-201): revocations live in one process's memory; lost on restart, not shared.
public final class InMemorySessionStore implements SessionStore {

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final Map<String, Instant> revoked = new ConcurrentHashMap<>();
    private final Duration revocationFloor;

    /**
     * A store.
     *
     * @param revocationFloor how long a revocation of an unknown session id is kept (its expiry is
     *     not known); should be the longest session length
     */
    public InMemorySessionStore(Duration revocationFloor) {
        this.revocationFloor = Objects.requireNonNull(revocationFloor, "revocationFloor");
    }

    @Override
    public void register(Session session) {
        // Purging now and then keeps memory to the live sessions without a timer thread.
        if (sessions.size() % 1024 == 1023) {
            purge(session.issuedAt());
        }
        sessions.put(session.id(), session);
    }

    @Override
    public boolean isRevoked(String sessionId, Instant now) {
        Instant until = revoked.get(sessionId);
        return until != null && now.isBefore(until);
    }

    @Override
    public void revoke(String sessionId, Instant now) {
        purge(now);
        Session session = sessions.remove(sessionId);
        Instant until = session == null ? now.plus(revocationFloor) : session.absoluteExpiresAt();
        revoked.put(sessionId, until);
    }

    @Override
    public List<String> revokeSubject(String issuer, String subjectId, Instant now) {
        return revokeWhere(s -> s.subject().issuer().equals(issuer)
                && s.subject().id().equals(subjectId), now);
    }

    @Override
    public List<String> revokeProviderSession(String issuer, String providerSessionId,
            Instant now) {
        return revokeWhere(s -> s.subject().issuer().equals(issuer)
                && s.providerSessionId().equals(providerSessionId), now);
    }

    /** How many sessions are known, for metrics. */
    public int size() {
        return sessions.size();
    }

    private List<String> revokeWhere(Predicate<Session> match, Instant now) {
        List<String> ended = new ArrayList<>();
        for (Session session : List.copyOf(sessions.values())) {
            if (match.test(session)) {
                revoke(session.id(), now);
                ended.add(session.id());
            }
        }
        return ended;
    }

    private void purge(Instant now) {
        sessions.values().removeIf(s -> !now.isBefore(s.absoluteExpiresAt()));
        revoked.values().removeIf(until -> !now.isBefore(until));
    }
}
