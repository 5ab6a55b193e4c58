package dev.pep.proxy.session;

/** Told of what the registry does to live sessions, for audit and metrics. */
public interface SessionListener {

    /** The registry ended {@code session}; called once per session, on the registry's thread. */
    void ended(LiveSession session, SessionEnding ending);

    /** A re-decision of {@code session} kept it alive. */
    default void kept(LiveSession session, String trigger) {
    }
}
