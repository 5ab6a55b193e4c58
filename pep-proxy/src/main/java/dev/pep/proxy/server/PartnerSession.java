package dev.pep.proxy.server;

import dev.pep.core.App;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.telemetry.audit.AuditEvents;
import dev.pep.telemetry.trace.TraceContext;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.util.AttributeKey;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A partner connection as audit sees it: one session from the first allowed request to the close,
 * with the bytes that crossed the wire each way. Also the handler that counts those bytes, first
 * in the pipeline (so TLS records are counted as sent). Used on the connection's event loop only;
 * HTTP/2 streams of the connection share it.
 */
final class PartnerSession extends ChannelDuplexHandler {

    static final AttributeKey<PartnerSession> KEY = AttributeKey.valueOf("pep.session");
    private static final CompletionStage<Void> RECORDED = CompletableFuture.completedStage(null);

    private final GatewayContext gw;
    private final String id;
    private final Instant opened;
    private long bytesIn;
    private long bytesOut;
    private boolean started;
    private TraceContext startTrace;
    private String endReason = "closed";

    PartnerSession(GatewayContext gw, String id, Instant opened) {
        this.gw = gw;
        this.id = id;
        this.opened = opened;
    }

    String id() {
        return id;
    }

    /** When the connection was accepted. */
    Instant opened() {
        return opened;
    }

    /**
     * Records the session's start at its first allowed request, tied to that request's trace;
     * later calls do nothing. The stage is the audit pipeline's for that event (strict mode:
     * completes once it is on disk), already complete on later calls.
     */
    CompletionStage<Void> startOnce(String requestId, Subject subject, App app, Source source,
            String protocol, TraceContext trace) {
        if (started) {
            return RECORDED;
        }
        started = true;
        startTrace = trace;
        gw.metrics.sessionStarted();
        return gw.audit.emit(AuditEvents.traced(gw.events.sessionStarted(id, requestId, subject,
                app, source, protocol), trace.traceId(), trace.spanId()));
    }

    /**
     * The audit spool refused the start event (strict mode): the session counts as not started,
     * so the next allowed request records its start again before anything is forwarded.
     */
    void startRefused() {
        if (started) {
            started = false;
            gw.metrics.sessionEnded(StrictSessionAudit.REASON);
        }
    }

    /** Why the session is ending, when the gateway ends it (idle, drain, error). */
    void endReason(String reason) {
        endReason = reason;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        long n = size(msg);
        bytesIn += n;
        gw.metrics.bytes(n, 0);
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        long n = size(msg);
        bytesOut += n;
        gw.metrics.bytes(0, n);
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (started) {
            gw.metrics.sessionEnded(endReason);
            // Tied to the trace of the request that started the session, as session.started is.
            gw.audit.emit(AuditEvents.traced(gw.events.sessionEnded(id, bytesIn, bytesOut,
                    Duration.between(opened, gw.clock.instant()), endReason), startTrace.traceId(),
                    startTrace.spanId()));
        }
        ctx.fireChannelInactive();
    }

    private static long size(Object msg) {
        if (msg instanceof ByteBuf b) {
            return b.readableBytes();
        }
        return msg instanceof ByteBufHolder h ? h.content().readableBytes() : 0;
    }
}
