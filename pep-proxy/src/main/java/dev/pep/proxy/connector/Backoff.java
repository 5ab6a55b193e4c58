package dev.pep.proxy.connector;

import java.time.Duration;
import java.util.Random;

/**
 * Reconnection delays: doubling from half a second to thirty, each with full jitter between
 * half and all of it, so connectors cut off together do not return together. Not thread-safe.
 */
final class Backoff {

    private static final long FIRST_MS = 500;
    private static final long MAX_MS = 30_000;

    private final Random random;
    private int attempt;

    Backoff(Random random) {
        this.random = random;
    }

    /** The delay before the next attempt. */
    Duration next() {
        long ceiling = Math.min(MAX_MS, FIRST_MS << Math.min(attempt, 16));
        attempt++;
        long half = ceiling / 2;
        return Duration.ofMillis(half + (long) (random.nextDouble() * (ceiling - half)));
    }

    /** After a tunnel that worked: start again from the shortest delay. */
    void reset() {
        attempt = 0;
    }
}
