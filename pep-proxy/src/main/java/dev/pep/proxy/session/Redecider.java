package dev.pep.proxy.session;

import dev.pep.core.Decision;
import java.time.Instant;
import java.util.concurrent.CompletionStage;

/**
 * Decides a live session again from its credentials as they are now: authenticate, assess the
 * device, decide. Never completes exceptionally for a denial; an internal failure completes
 * with a deny that says so, since a session that cannot be re-decided is not allowed.
 */
@FunctionalInterface
public interface Redecider {

    /** The decision for {@code session} at {@code now}. */
    CompletionStage<Decision> redecide(LiveSession session, Instant now);
}
