package dev.pep.proxy.server;

import dev.pep.proxy.session.LiveSession;
import dev.pep.proxy.session.SessionControl;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionKind;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A partner HTTP connection as a live session while no exchange is in progress on it. Once the
 * connection carried an allowed exchange, it is registered between exchanges (kind
 * {@code http1_idle} or {@code http2_idle}): one entry per subject it carried, kept by that
 * subject's latest exchange's decision and re-decided with its request and credentials, its
 * age counted from the connection's first allowed exchange. When the registry ends one (a
 * re-decision that denies, an operator, an expiry), an HTTP/1.1 connection is closed and an
 * HTTP/2 one gets GOAWAY.
 *
 * <p>A handler in the connection's pipeline; used on its event loop only (the streams of an
 * HTTP/2 connection share it). The entries leave the registry when an exchange begins, since an
 * exchange in progress is a live session of its own, and when the connection closes.
 */
final class IdleConnection extends ChannelInboundHandlerAdapter implements SessionControl {

    static final String NAME = "idle-session";
    static final AttributeKey<IdleConnection> KEY = AttributeKey.valueOf("pep.idle");
    private static final Logger LOG = LoggerFactory.getLogger(IdleConnection.class);

    /** Told to the HTTP/1.1 handler: close once idle, and keep nothing alive after this exchange. */
    static final Object ENDED = new Object() {
        @Override
        public String toString() {
            return "IdleConnection.ENDED";
        }
    };

    private final GatewayContext gw;
    private final SessionKind kind;
    /** The latest allowed exchange of each subject the connection carried, by subject id. */
    private final Map<String, LiveSession> last = new LinkedHashMap<>(2);
    private final List<LiveSession> registered = new ArrayList<>(1);
    private ChannelHandlerContext ctx;
    private Instant since;
    private int busy;
    private boolean over;

    IdleConnection(GatewayContext gw, boolean http2) {
        this.gw = gw;
        this.kind = http2 ? SessionKind.HTTP2_IDLE : SessionKind.HTTP1_IDLE;
    }

    /** The connection's tracker, or null when it has none (a TCP app's connection). */
    static IdleConnection of(Channel connection) {
        return connection.attr(KEY).get();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        ctx.channel().attr(KEY).set(this);
    }

    /** An exchange began: the connection is not idle until every exchange on it ended. */
    void exchangeStarted() {
        busy++;
        unregisterAll();
    }

    /**
     * An exchange ended.
     *
     * @param allowed its live session when it was allowed and ended on its own, else null
     * @param keepOpen whether the connection carries more exchanges after it
     */
    void exchangeEnded(LiveSession allowed, boolean keepOpen) {
        busy = Math.max(0, busy - 1);
        if (allowed != null) {
            if (since == null) {
                since = allowed.started();
            }
            last.put(allowed.subject(), allowed);
        }
        over |= !keepOpen || kind == SessionKind.HTTP2_IDLE
                && ctx.channel().attr(ProxyHandler.GOAWAY_SENT).get() != null;
        if (busy == 0 && !over && ctx.channel().isActive() && !gw.draining.get()) {
            last.values().forEach(this::register);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        over = true;
        unregisterAll();
        ctx.fireChannelInactive();
    }

    @Override
    public Executor executor() {
        return ctx.executor();
    }

    /**
     * The registry ended one of the connection's idle entries. Also when an exchange began in the
     * meantime: that exchange was decided on its own, but the connection carries no more.
     */
    @Override
    public void end(LiveSession session, SessionEnding ending) {
        if (over) {
            return;
        }
        over = true;
        registered.remove(session);
        unregisterAll();
        LOG.debug("idle connection ended by the gateway session={} kind={} reason={} by={}",
                session.connectionId(), kind, ending.reason(), ending.endedBy());
        PartnerSession partner = ctx.channel().attr(PartnerSession.KEY).get();
        if (partner != null) {
            partner.endReason(ending.reason());
        }
        if (kind == SessionKind.HTTP2_IDLE) {
            // The codec's close sends GOAWAY and lets a stream that raced in finish.
            ctx.channel().attr(ProxyHandler.GOAWAY_SENT).set(Boolean.TRUE);
            ctx.channel().close();
        } else {
            ctx.fireUserEventTriggered(ENDED);
        }
    }

    private void register(LiveSession allowed) {
        LiveSession idle = LiveSession.idle(allowed, kind, since, this);
        registered.add(idle);
        gw.sessions.register(idle);
    }

    private void unregisterAll() {
        registered.forEach(gw.sessions::unregister);
        registered.clear();
    }
}
