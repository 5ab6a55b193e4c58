package dev.pep.proxy.session;

import java.util.concurrent.Executor;

/**
 * How the registry ends one live session: implemented by the handler that carries it. The
 * registry calls {@link #end} on {@link #executor()} (the session's event loop), handing each
 * event loop the endings of a batch in one task, so ending thousands of sessions wakes each
 * loop once rather than once per session.
 */
public interface SessionControl {

    /** The thread the session lives on. */
    Executor executor();

    /**
     * Ends {@code session} the way its protocol wants (a 403, a reset, a close frame), if it
     * still lives; a second call does nothing. Called on {@link #executor()}.
     */
    void end(LiveSession session, SessionEnding ending);
}
