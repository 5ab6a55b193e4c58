package dev.pep.identity.posture;

/**
 * Told when a session's posture changes, for example to re-decide its live connections.
 *
 * <p>Called on a posture thread, after the assessment that saw the change; must return quickly
 * and not block. An exception is logged and does not reach other listeners.
 */
@FunctionalInterface
public interface PostureListener {

    /** The posture of a session changed. */
    void postureChanged(PostureChange change);
}
