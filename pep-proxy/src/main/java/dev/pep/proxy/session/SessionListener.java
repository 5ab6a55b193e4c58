package dev.pep.proxy.session;

/** Told of what the registry does to live sessions, for audit and metrics. */
public interface SessionListener {

    /**
     * The registry ended {@code session}: called once per session, just after its event loop
     * was told to end it, on the thread that ended it (the registry's, or an operator's call).
     */
    void ended(LiveSession session, SessionEnding ending);

    /** A re-decision of {@code session} kept it alive. */
    default void kept(LiveSession session, String trigger) {
    }
}
