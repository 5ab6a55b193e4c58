package dev.pep.identity.jwt;

import dev.pep.core.Subject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokens that passed full verification, keyed by the SHA-256 of the token (the token itself is
 * never stored), until they expire.
 *
 * <p>Bounded: when full, expired entries are purged first, then arbitrary ones, so a flood of
 * distinct tokens costs verification time but never memory. Thread-safe.
 */
final class VerifiedTokenCache {

    private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing from the JDK", e);
        }
    });

    private final int maxEntries;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    VerifiedTokenCache(int maxEntries) {
        if (maxEntries < 0) {
            throw new IllegalArgumentException("maxEntries negative: " + maxEntries);
        }
        this.maxEntries = maxEntries;
    }

    static String hash(String token) {
        byte[] digest = SHA256.get().digest(token.getBytes(StandardCharsets.US_ASCII));
        return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
    }

    Optional<Entry> get(String hash, Instant now) {
        Entry entry = entries.get(hash);
        if (entry == null) {
            return Optional.empty();
        }
        if (!now.isBefore(entry.expiresAt())) {
            entries.remove(hash, entry);
            return Optional.empty();
        }
        return Optional.of(entry);
    }

    void put(String hash, Entry entry, Instant now) {
        if (maxEntries == 0) {
            return;
        }
        if (entries.size() >= maxEntries) {
            evict(now);
        }
        entries.put(hash, entry);
    }

    void remove(String hash) {
        entries.remove(hash);
    }

    int size() {
        return entries.size();
    }

    private void evict(Instant now) {
        entries.values().removeIf(e -> !now.isBefore(e.expiresAt()));
        // Still full: drop about a tenth, arbitrary ones; they cost one verification each later.
        Iterator<String> keys = entries.keySet().iterator();
        int toDrop = entries.size() - maxEntries + Math.max(1, maxEntries / 10);
        while (toDrop-- > 0 && keys.hasNext()) {
            keys.next();
            keys.remove();
        }
    }

    /** A verified token's outcome. */
    record Entry(Subject subject, Instant expiresAt, String issuer, String keyId) {
    }
}
