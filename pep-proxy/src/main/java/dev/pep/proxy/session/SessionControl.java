package dev.pep.proxy.session;

/**
 * How the registry ends one live session: implemented by the handler that carries it.
 * {@link #end} may be called from any thread; the handler ends the session on its own event
 * loop, the way its protocol wants (a 403, a reset, a close frame), and then unregisters it.
 */
@FunctionalInterface
public interface SessionControl {

    /** Ends {@code session}, if it still lives; a second call does nothing. */
    void end(LiveSession session, SessionEnding ending);
}
