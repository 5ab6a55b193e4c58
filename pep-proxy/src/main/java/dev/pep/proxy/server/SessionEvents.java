package dev.pep.proxy.server;

import dev.pep.proxy.session.LiveSession;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionListener;

/** Records what the session registry does: an audit event per ended session, and counters. */
final class SessionEvents implements SessionListener {

    private final GatewayContext gw;

    SessionEvents(GatewayContext gw) {
        this.gw = gw;
    }

    @Override
    public void ended(LiveSession session, SessionEnding ending) {
        gw.metrics.sessionRevoked(trigger(ending.endedBy()));
        gw.audit.emit(gw.events.sessionRevoked(session.connectionId(), session.id(),
                session.admitted().subject(), session.app(), ending.endedBy(), ending.reason(),
                ending.decision()));
    }

    @Override
    public void kept(LiveSession session, String trigger) {
        gw.metrics.sessionKept(trigger(trigger));
    }

    /** The metric label: the trigger without an operator's name, so its values stay few. */
    private static String trigger(String endedBy) {
        int colon = endedBy.indexOf(':');
        return colon < 0 ? endedBy : endedBy.substring(0, colon);
    }
}
