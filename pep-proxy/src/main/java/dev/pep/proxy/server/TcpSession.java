package dev.pep.proxy.server;

import dev.pep.core.AccessRequest;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Obligation;
import dev.pep.core.RequestAttributes;
import dev.pep.core.Source;
import dev.pep.core.StreamPreamble;
import dev.pep.core.Subject;
import dev.pep.identity.posture.Assessment;
import dev.pep.proxy.route.Route;
import dev.pep.proxy.session.LiveSession;
import dev.pep.proxy.session.SessionControl;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionKind;
import dev.pep.proxy.tls.ClientHelloCapture;
import dev.pep.proxy.upstream.NoConnectorException;
import dev.pep.proxy.upstream.UpstreamTlsException;
import dev.pep.telemetry.audit.AuditEvents;
import dev.pep.telemetry.trace.TraceContext;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A partner connection whose SNI names a TCP app: authenticated by its client certificate, its
 * device assessed, decided once ({@code CONNECT}), then spliced to the app by a {@link TcpRelay}
 * over a stream from the gateway's {@link dev.pep.proxy.upstream.AppDialer}. A state machine:
 * every path ends in a relay or a close, and every refusal has a decision audit event with its
 * reason. Nothing is sent to the app before the allow; a refusal is a TLS close_notify.
 *
 * <p>Runs on the connection's event loop. Registered as a live session from its allow to its
 * end, so re-decisions, expiry and operators end it by closing both sides.
 */
final class TcpSession extends ChannelInboundHandlerAdapter {

    static final String NAME = "tcp";
    /** The action every TCP session asks for, as {@code request.method}. */
    static final String CONNECT = "CONNECT";
    static final String PROTOCOL = "TCP";
    /** The reason a connection without a usable client certificate is refused with. */
    static final String CERTIFICATE_REQUIRED = "certificate_required";
    /** The reason an allow is refused with when a TCP session cannot honour its obligations. */
    static final String OBLIGATION_NOT_ENFORCEABLE = "obligation_not_enforceable";

    private static final Logger LOG = LoggerFactory.getLogger(TcpSession.class);

    private enum State { DECIDING, CONNECTING, RELAYING, CLOSED }

    private final GatewayContext gw;
    private final Route route;
    private final String host;
    private final ArrayDeque<Object> early = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private State state = State.DECIDING;
    private String requestId;
    private TraceContext trace;
    private Instant started;
    private long decideNanos;
    private Credentials credentials;
    private Optional<Instant> credentialExpires = Optional.empty();
    private long generation;
    private AccessRequest access;
    private LiveSession live;
    private TcpRelay relay;
    private ScheduledFuture<?> dialTimer;

    TcpSession(GatewayContext gw, Route route, String host) {
        this.gw = gw;
        this.route = route;
        this.host = host;
    }

    /** Whether any routed TCP app declares that preamble. */
    static boolean anyPreamble(GatewayContext gw, StreamPreamble preamble) {
        return gw.router().routes().stream().anyMatch(r -> r.app().protocol() == AppProtocol.TCP
                && r.app().preamble() == preamble);
    }

    /** The route of {@code host} when it is a TCP app's, else null. */
    static Route routeOf(GatewayContext gw, String host) {
        return gw.router().route(host).filter(r -> r.app().protocol() == AppProtocol.TCP).orElse(null);
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        Channel ch = ctx.channel();
        // Nothing more is read until the session is decided and the app is connected.
        ch.config().setAutoRead(false);
        // A client that finished sending still reads the app's reply (half-close).
        ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        started = gw.clock.instant();
        requestId = gw.newRequestId();
        trace = gw.tracing.start(List.of(), List.of());
        authenticate();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.RELAYING) {
            ctx.fireChannelRead(msg);
        } else if (state == State.CLOSED) {
            ReferenceCountUtil.release(msg);
        } else {
            // Bytes sent with or right after the handshake wait for the decision.
            early.add(msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (state == State.RELAYING) {
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == DrainEvent.INSTANCE) {
            // A spliced stream has no request boundary to wait for: it ends when the gateway drains.
            end("draining");
            return;
        }
        if (state == State.RELAYING) {
            ctx.fireUserEventTriggered(evt);
        } else {
            ReferenceCountUtil.release(evt);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (state != State.RELAYING) {
            refused("client_closed", null);
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (state == State.RELAYING) {
            ctx.fireExceptionCaught(cause);
            return;
        }
        LOG.debug("tcp client connection failed request={} error={}", requestId, cause.toString());
        refused("client_error", null);
    }

    // ---- authenticate, assess, decide ----------------------------------------------------

    private void authenticate() {
        Channel ch = ctx.channel();
        List<X509Certificate> chain = ch.attr(GatewayContext.PEER_CERTIFICATES).get();
        credentials = new Credentials(host, Map.of(), chain == null ? List.of() : chain,
                Optional.ofNullable(ch.attr(ClientHelloCapture.FINGERPRINT).get()), source(),
                started);
        // Read before authenticating: a revocation from here on re-decides this session.
        generation = gw.sessions.generation();
        AuthenticationResult auth = gw.identity.authenticate(credentials);
        if (auth instanceof AuthenticationResult.Authenticated ok) {
            credentialExpires = ok.expiresAt();
            assess(ok.subject());
            return;
        }
        // A TCP app is for certificate holders only: without one, nobody is there to decide on.
        DecisionReason reason = auth instanceof AuthenticationResult.Rejected rejected ? rejected.reason()
                : DecisionReason.of(CERTIFICATE_REQUIRED, "a client certificate is required");
        access = accessRequest(Subject.anonymous(), DevicePosture.unknown());
        decideNanos = System.nanoTime();
        onDecision(Decision.deny(gw.engine().version(), reason), null);
    }

    /** Assesses the device off the event loop, within the posture deadline, then decides. */
    private void assess(Subject subject) {
        if (gw.posture == null) {
            decide(subject, DevicePosture.unknown());
            return;
        }
        gw.posture.assess(subject, credentials, route.name()).whenComplete((assessment, error) ->
                ctx.executor().execute(() -> onPosture(subject, assessment)));
    }

    private void onPosture(Subject subject, Assessment assessment) {
        if (state != State.DECIDING) {
            return;
        }
        if (assessment == null) {
            // The assessor never fails; if it did, the device is unknown, never assumed fine.
            decide(subject, DevicePosture.unknown());
            return;
        }
        assessment.outcomes().forEach(gw.metrics::posture);
        decide(subject, assessment.posture());
    }

    private void decide(Subject subject, DevicePosture device) {
        access = accessRequest(subject, device);
        decideNanos = System.nanoTime();
        gw.engine().decideAsync(access).whenComplete((decision, error) ->
                ctx.executor().execute(() -> onDecision(decision, error)));
    }

    private AccessRequest accessRequest(Subject subject, DevicePosture device) {
        return new AccessRequest(subject, device, route.app(),
                new RequestAttributes(CONNECT, host, "", "", Map.of(), PROTOCOL), source(),
                gw.clock.instant(), requestId);
    }

    private void onDecision(Decision decided, Throwable error) {
        if (state != State.DECIDING) {
            return;
        }
        gw.metrics.decisionDuration(route.name(), Duration.ofNanos(System.nanoTime() - decideNanos));
        Decision decision = decided;
        if (error != null || decided == null) {
            LOG.warn("decision failed request={} app={} error={}", requestId, route.name(), String.valueOf(error));
            decision = Decision.deny(gw.engine().version(), DecisionReason.of(DecisionReason.EVALUATION_ERROR,
                    "access could not be decided, so it is denied"));
        } else {
            decision = enforced(decided);
        }
        gw.metrics.decision(route.name(), decision.allowed() ? "allow" : "deny", decision.primaryReason().code());
        LOG.debug("decided request={} app={} effect={} reason={}", requestId, route.name(), decision.effect(),
                decision.primaryReason().code());
        CompletionStage<Void> recorded = gw.audit.emit(AuditEvents.traced(
                gw.events.decision(access, decision, session().id()), trace.traceId(), trace.spanId()));
        if (!decision.allowed()) {
            String reason = decision.primaryReason().code();
            if (gw.strictAudit) {
                // Strict audit: the refusal waits for its event to be on disk.
                recorded.whenComplete((ok, e) -> ctx.executor().execute(() -> refused(reason, null)));
            } else {
                refused(reason, null);
            }
            return;
        }
        admit(decision);
        session().startOnce(requestId, access.subject(), access.app(), access.source(), PROTOCOL, trace);
        if (!gw.strictAudit) {
            dial();
            return;
        }
        // Strict audit: nothing reaches the app unless its decision is on disk.
        recorded.whenComplete((ok, e) -> ctx.executor().execute(() -> {
            if (e != null) {
                LOG.warn("audit refused, session not relayed request={} error={}", requestId, e.toString());
                end("audit_unavailable");
            } else {
                dial();
            }
        }));
    }

    /**
     * The decision as a TCP session can enforce it: an allow whose obligations a byte stream
     * cannot honour (read-only, headers to the app) becomes a deny, since ignoring them would
     * grant more than the rule did.
     */
    static Decision enforced(Decision d) {
        if (!d.allowed()) {
            return d;
        }
        for (Obligation o : d.obligations()) {
            if (!(o instanceof Obligation.MaxSessionLength) && !(o instanceof Obligation.IdleLimit)
                    && !(o instanceof Obligation.Reevaluate)) {
                return Decision.deny(d.version(), DecisionReason.of(OBLIGATION_NOT_ENFORCEABLE,
                        "the rule that allows this asks for what a TCP session cannot enforce"));
            }
        }
        return d;
    }

    /** Registers the allowed session as live, re-decided until it ends. */
    private void admit(Decision decision) {
        live = new LiveSession(requestId, session().id(), Optional.empty(), SessionKind.TCP, access,
                credentials, credentialExpires, generation, decision, control);
        gw.sessions.register(live);
    }

    /** How the session registry ends this session: by closing both sides. */
    private final SessionControl control = new SessionControl() {
        @Override
        public Executor executor() {
            return ctx.executor();
        }

        @Override
        public void end(LiveSession session, SessionEnding ending) {
            if (session == live) {
                LOG.debug("session ended by the gateway request={} app={} reason={} by={}", requestId,
                        route.name(), ending.reason(), ending.endedBy());
                live = null;
                TcpSession.this.end(ending.reason());
            }
        }
    };

    // ---- connect and relay ---------------------------------------------------------------

    private void dial() {
        if (state != State.DECIDING) {
            return;
        }
        state = State.CONNECTING;
        Future<Channel> f;
        try {
            f = gw.dialer.dial(ctx.channel().eventLoop(), route);
        } catch (RuntimeException e) {
            dialFailed(e);
            return;
        }
        // The dialer's own timeout may be another's (a tunnel): this one bounds them all.
        long limit = route.settings().connectTimeout().plus(gw.config.limits().handshakeTimeout()).toMillis();
        dialTimer = ctx.executor().schedule(() -> {
            if (state == State.CONNECTING) {
                f.cancel(false);
                dialFailed(new ConnectTimeoutException("no stream to the app within " + limit + " ms"));
            }
        }, limit, TimeUnit.MILLISECONDS);
        f.addListener(done -> ctx.executor().execute(() -> onStream(f)));
    }

    private void onStream(Future<Channel> f) {
        if (state != State.CONNECTING) {
            if (f.isSuccess()) {
                f.getNow().close();
            }
            return;
        }
        dialTimer.cancel(false);
        if (!f.isSuccess()) {
            dialFailed(f.cause());
            return;
        }
        Channel app = f.getNow();
        if (live != null) {
            // A tunnel stream's parent is the tunnel: its connector revoked ends this first.
            live.carriedBy(app.parent());
        }
        state = State.RELAYING;
        relay = new TcpRelay(ctx.channel(), app, new TcpRelay.Listener() {
            @Override
            public void ended(String reason, long toApp, long toClient) {
                relayEnded(reason, toApp, toClient);
            }

            @Override
            public void carried() {
                if (live != null) {
                    live.carried();
                }
            }
        });
        relay.start(gw.config.tcp().idleTimeout(), gw.config.tcp().maxDuration());
        LOG.debug("tcp session relaying request={} app={}", requestId, route.name());
        boolean any = !early.isEmpty();
        Object m;
        while ((m = early.poll()) != null) {
            ctx.fireChannelRead(m);
        }
        if (any) {
            ctx.fireChannelReadComplete();
        }
    }

    private void dialFailed(Throwable cause) {
        String reason;
        if (cause instanceof NoConnectorException) {
            reason = "no_connector";
        } else if (cause instanceof ConnectTimeoutException) {
            reason = "upstream_connect_timeout";
        } else if (cause instanceof UpstreamTlsException) {
            LOG.warn("upstream tls failed app={} error={}", route.name(), String.valueOf(cause.getCause()));
            reason = "upstream_tls_failed";
        } else {
            reason = cause instanceof ConnectException ? "upstream_unreachable" : "upstream_failed";
        }
        LOG.debug("tcp app not reached request={} app={} reason={} error={}", requestId, route.name(), reason,
                cause.toString());
        end(reason);
    }

    // ---- endings -------------------------------------------------------------------------

    /** Ends the session, whatever its state: the relay closes both sides; before it, the client. */
    private void end(String reason) {
        if (state == State.RELAYING) {
            relay.end(reason);
        } else {
            refused(reason, null);
        }
    }

    /** Closes a session that never relayed: a close_notify to the client, nothing to the app. */
    private void refused(String reason, Throwable cause) {
        if (state == State.CLOSED || state == State.RELAYING) {
            return;
        }
        if (dialTimer != null) {
            dialTimer.cancel(false);
        }
        state = State.CLOSED;
        releaseEarly();
        session().endReason(reason);
        finish(reason, 0, 0);
        ctx.close();
    }

    private void relayEnded(String reason, long toApp, long toClient) {
        state = State.CLOSED;
        session().endReason(reason);
        LOG.debug("tcp session ended request={} app={} reason={} to_app={} to_client={}", requestId,
                route.name(), reason, toApp, toClient);
        finish(reason, toApp, toClient);
    }

    private void finish(String reason, long toApp, long toClient) {
        if (live != null) {
            gw.sessions.unregister(live);
            live = null;
        }
        gw.metrics.tcpSession(route.name(), relay == null ? "refused" : reason, toApp, toClient,
                Duration.between(started, gw.clock.instant()));
    }

    private void releaseEarly() {
        Object m;
        while ((m = early.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
    }

    private Source source() {
        InetSocketAddress peer = (InetSocketAddress) ctx.channel().remoteAddress();
        return new Source(peer.getAddress(), peer.getPort(),
                gw.posture == null ? Set.of() : gw.posture.networks(peer.getAddress()));
    }

    private PartnerSession session() {
        return ctx.channel().attr(PartnerSession.KEY).get();
    }
}
