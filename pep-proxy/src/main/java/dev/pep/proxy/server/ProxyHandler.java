package dev.pep.proxy.server;

import dev.pep.core.AccessRequest;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.session.Session;
import dev.pep.identity.session.SessionCookieCodec;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Obligation;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.identity.posture.Assessment;
import dev.pep.proxy.tls.ClientHelloCapture;
import dev.pep.proxy.http.CanonicalRequest;
import dev.pep.proxy.http.CanonicalizationResult;
import dev.pep.proxy.http.ForwardHeaders;
import dev.pep.proxy.http.HttpRejection;
import dev.pep.proxy.http.RequestCanonicalizer;
import dev.pep.proxy.http.RequestHead;
import dev.pep.proxy.http.StrictHttpRequestDecoder;
import dev.pep.proxy.route.Route;
import dev.pep.proxy.session.LiveSession;
import dev.pep.proxy.session.SessionControl;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionKind;
import dev.pep.proxy.upstream.NoConnectorException;
import dev.pep.proxy.upstream.UpstreamBusyException;
import dev.pep.proxy.upstream.UpstreamLostException;
import dev.pep.proxy.connector.StreamRefusedException;
import dev.pep.proxy.upstream.UpstreamListener;
import dev.pep.proxy.upstream.UpstreamTlsException;
import dev.pep.telemetry.audit.AuditEvents;
import dev.pep.telemetry.trace.RequestSpan;
import dev.pep.telemetry.trace.TraceContext;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One partner exchange at a time: an HTTP/1.1 connection (requests in turn) or one HTTP/2
 * stream. A state machine, so it is long; every path ends in a response from the app or from the
 * gateway, and every failure goes through {@link #fail}.
 *
 * <p>Order matters for security: the request is canonicalised, routed and decided before a
 * single byte of its body is read or anything is sent to the app. Runs on one event loop;
 * the upstream connection is on the same loop.
 */
final class ProxyHandler extends ChannelInboundHandlerAdapter implements UpstreamListener {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);
    private static final Set<CharSequence> RESPONSE_HOP_BY_HOP = Set.of(
            HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE, "proxy-connection",
            HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE, HttpHeaderNames.TE,
            HttpHeaderNames.TRAILER, HttpHeaderNames.PROXY_AUTHENTICATE);

    /** How long a connection answered early still reads what its client sends before closing. */
    private static final Duration LINGER = Duration.ofSeconds(2);

    /** Set on an HTTP/2 connection once the gateway sent it GOAWAY for an ended session. */
    static final io.netty.util.AttributeKey<Boolean> GOAWAY_SENT =
            io.netty.util.AttributeKey.valueOf("pep.goaway");
    private static final String ENDED_MESSAGE = "Your access to this application has ended.";
    private static final String AUDIT_MESSAGE = "The gateway cannot record this access right now; try again shortly.";
    /** RFC 6455 7.4.1: the endpoint ends the connection because a message violated its policy. */
    private static final int WS_POLICY_VIOLATION = 1008;

    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS");

    private enum State { IDLE, ENDPOINT, DECIDING, CONNECTING, FORWARDING, UPGRADED, CLOSING }

    private final GatewayContext gw;
    private final boolean http2;
    private final ArrayDeque<Object> inbound = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private State state = State.IDLE;
    private ScheduledFuture<?> headTimer;

    // The exchange in progress; reset by endExchange().
    private CanonicalRequest request;
    private Route route;
    private String requestId;
    private TraceContext trace;
    private long decideNanos;
    private AccessRequest access;
    private List<Obligation> obligations = List.of();
    private Credentials credentials;
    private Optional<Instant> credentialExpires = Optional.empty();
    private long generation;
    private Source source;
    private StringBuilder endpointBody;
    private Instant started;
    private boolean clientKeepAlive;
    private boolean streamedBody;
    private boolean html;
    private long bodyBytes;
    private boolean requestComplete;
    private boolean responseStarted;
    private boolean interimResponse;
    private boolean upstreamReusable;
    private int status;
    private Channel upstream;
    private boolean upstreamNeedsFlush;
    private ScheduledFuture<?> responseTimer;
    /** The exchange as the session registry knows it, from its allow to its end. */
    private LiveSession live;
    /** The gateway session the admitted request's cookie opened, unsealed once at the allow. */
    private Session cookieSession;
    /** Where frames end in the app's WebSocket bytes, so a close frame goes in between two. */
    private final WebSocketFrameBoundary toClient = new WebSocketFrameBoundary();
    private SessionEnding webSocketEnding;
    /** Whether this exchange was counted by the connection's {@link IdleConnection}. */
    private boolean counted;

    ProxyHandler(GatewayContext gw, boolean http2) {
        this.gw = gw;
        this.http2 = http2;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (!http2) {
            armHeadTimer();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (state == State.UPGRADED) {
            relayToUpstream(msg);
            return;
        }
        if (state == State.CLOSING) {
            ReferenceCountUtil.release(msg);
            return;
        }
        inbound.add(msg);
        drain();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flushUpstream();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == DrainEvent.INSTANCE && state == State.IDLE && !http2) {
            closeNow();
            return;
        }
        if (evt == IdleConnection.ENDED) {
            // The connection's idle session was ended: nothing more is carried on it.
            clientKeepAlive = false;
            if (state == State.IDLE) {
                closeNow();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        // The client drains slowly: stop reading the app until it catches up.
        if (upstream != null) {
            upstream.config().setAutoRead(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancelTimers();
        releaseInbound();
        if (upstream != null) {
            // The client went away mid-exchange: the upstream connection is out of step.
            upstream.close();
            upstream = null;
        }
        if (request != null) {
            endExchange(false);
        }
        state = State.CLOSING;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("client connection failed channel={} error={}", ctx.channel().id(), cause.toString());
        fail(502, "client_error", "The connection failed.", cause);
    }

    // ---- inbound: head, decision, body ---------------------------------------------------

    private void drain() {
        while (!inbound.isEmpty()) {
            Object msg = inbound.peek();
            boolean head = msg instanceof HttpRequest || msg instanceof Http2StreamBridge.StreamRequest
                    || msg instanceof HttpRejection;
            if (head && state != State.IDLE || !head && state != State.FORWARDING && state != State.ENDPOINT) {
                return;
            }
            inbound.poll();
            if (msg instanceof HttpRejection r) {
                reject(r);
            } else if (msg instanceof HttpRequest h1) {
                onHead(RequestHead.fromHttp1(h1), HttpUtil.isKeepAlive(h1),
                        HttpUtil.isTransferEncodingChunked(h1));
            } else if (msg instanceof Http2StreamBridge.StreamRequest h2) {
                onHead(h2.head(), true, !h2.endOfStream() && !h2.head().headers()
                        .contains(HttpHeaderNames.CONTENT_LENGTH));
            } else if (msg instanceof HttpContent content) {
                onBody(content);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }
    }

    private void onHead(RequestHead head, boolean keepAlive, boolean streamed) {
        cancel(headTimer);
        IdleConnection idle = IdleConnection.of(connection());
        if (idle != null) {
            idle.exchangeStarted();
            counted = true;
        }
        started = gw.clock.instant();
        requestId = gw.newRequestId();
        clientKeepAlive = keepAlive && !gw.draining.get();
        streamedBody = streamed;
        html = ErrorPages.prefersHtml(head.headers().get(HttpHeaderNames.ACCEPT));
        state = State.DECIDING;
        gw.inFlight.incrementAndGet();
        // Nothing more is read until the request is decided and the app is connected.
        ctx.channel().config().setAutoRead(false);
        CanonicalizationResult result = RequestCanonicalizer.canonicalize(head);
        if (result instanceof HttpRejection r) {
            reject(r);
            return;
        }
        request = (CanonicalRequest) result;
        trace = gw.tracing.start(request.headers().getAll("traceparent"),
                request.headers().getAll("tracestate"));
        if (request.webSocketUpgrade() && http2) {
            gw.metrics.rejected("websocket_over_h2");
            respondError(400, "websocket_over_h2", "WebSocket over HTTP/2 is not supported.");
            return;
        }
        route = gw.router().route(request.host()).orElse(null);
        if (route != null && route.app().protocol() == AppProtocol.TCP) {
            // A TCP app is reached by SNI only, never through HTTP: to HTTP it is no app at all.
            LOG.debug("http request for a tcp app refused request={} app={}", requestId, route.name());
            route = null;
        }
        if (route == null) {
            // Refused before routing: pep_requests_rejected_total{reason="unknown_host"}.
            gw.metrics.rejected("unknown_host");
            respondError(404, "unknown_host", "No application is served at this address.");
            return;
        }
        String sni = sni();
        if (sni != null && !sni.equals(request.host())
                && gw.router().route(sni).map(r -> r != route).orElse(true)) {
            gw.metrics.rejected("sni_host_mismatch");
            respondError(421, "sni_host_mismatch",
                    "The TLS server name and the Host header name different applications.");
            return;
        }
        if (request.contentLength() > route.settings().maxBodySize().bytes()) {
            respondError(413, "body_too_large", "The request body is larger than this application accepts.");
            return;
        }
        if ("GET".equals(request.method()) && GatewayAssertions.PARTNER_JWKS_PATH.equals(request.path())) {
            // Public keys only: any client, the apps included, may fetch them.
            respondJwks();
            return;
        }
        credentials = credentials();
        if (request.path().startsWith(GatewayIdentity.PREFIX)) {
            // The gateway's own endpoints (sign-in, sign-out): answered here, never forwarded.
            state = State.ENDPOINT;
            endpointBody = new StringBuilder();
            ctx.channel().config().setAutoRead(true);
            return;
        }
        // Read before authenticating: a revocation from here on re-decides this session.
        generation = gw.sessions.generation();
        AuthenticationResult auth = gw.identity.authenticate(credentials);
        if (auth instanceof AuthenticationResult.Rejected rejected && credentials.header("authorization").size() > 0
                && SessionCookieCodec.cookieValue(credentials, SessionCookieCodec.COOKIE_NAME).isEmpty()) {
            // A spent verification budget is the gateway's load, not a bad token: come back later.
            boolean busy = IdentityReasons.TOO_MANY_TOKEN_CHECKS.equals(rejected.reason().code());
            respondError(busy ? 429 : 401, rejected.reason().code(), rejected.reason().message());
            return;
        }
        credentialExpires = auth instanceof AuthenticationResult.Authenticated ok ? ok.expiresAt() : Optional.empty();
        assess(auth instanceof AuthenticationResult.Authenticated ok ? ok.subject() : Subject.anonymous());
    }

    /** Assesses the device off the event loop, within the posture deadline, then decides. */
    private void assess(Subject subject) {
        if (gw.posture == null) {
            decide(subject, DevicePosture.unknown());
            return;
        }
        gw.posture.assess(subject, credentials, route.app().name()).whenComplete((assessment, error) ->
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

    private Credentials credentials() {
        Map<String, List<String>> byName = new LinkedHashMap<>();
        for (Map.Entry<String, String> h : request.headers()) {
            byName.computeIfAbsent(h.getKey().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(h.getValue());
        }
        Channel connection = connection();
        List<X509Certificate> chain = connection.attr(GatewayContext.PEER_CERTIFICATES).get();
        return new Credentials(request.host(), byName, chain == null ? List.of() : chain,
                Optional.ofNullable(connection.attr(ClientHelloCapture.FINGERPRINT).get()), source(),
                gw.clock.instant());
    }

    private void onEndpointBody(HttpContent content) {
        int room = gw.identity.maxFormBytes() - endpointBody.length();
        if (content.content().readableBytes() > room) {
            content.release();
            respondError(413, "form_too_large", "The form is larger than the gateway accepts.");
            return;
        }
        endpointBody.append(content.content().toString(StandardCharsets.UTF_8));
        boolean last = content instanceof LastHttpContent;
        content.release();
        if (!last) {
            return;
        }
        ctx.channel().config().setAutoRead(false);
        var req = new GatewayIdentity.EndpointRequest(request.method(), request.path(), request.query(),
                endpointBody.toString(), route.app(), request.host(), request.authority(), credentials, requestId,
                trace);
        gw.identity.handle(req).whenComplete((res, error) -> ctx.executor().execute(() -> endpointDone(res)));
    }

    private void endpointDone(GatewayIdentity.EndpointResponse res) {
        if (state != State.ENDPOINT) {
            return;
        }
        if (res == null || res.errorCode() != null) {
            respondError(res == null ? 500 : res.status(), res == null ? "identity_error" : res.errorCode(),
                    res == null ? "The gateway could not complete this step." : res.body());
            return;
        }
        ByteBuf body = ctx.alloc().buffer();
        body.writeCharSequence(res.body(), StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(res.status()), body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, res.contentType())
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE)
                .set("x-content-type-options", "nosniff")
                .set("x-frame-options", "DENY")
                .set("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
                .set("x-request-id", requestId);
        if (res.location() != null) {
            r.headers().set(HttpHeaderNames.LOCATION, res.location());
        }
        res.cookies().forEach(c -> r.headers().add(HttpHeaderNames.SET_COOKIE, c));
        respond(r);
    }

    private void decide(Subject subject, DevicePosture device) {
        access = new AccessRequest(subject, device,
                route.app(), request.toAttributes(http2 ? "HTTP/2" : "HTTP/1.1"), source(),
                gw.clock.instant(), requestId);
        decideNanos = System.nanoTime();
        AccessRequest asked = access;
        gw.engine().decideAsync(asked)
                .thenCompose(d -> gw.assertions.renderAsync(d, asked.subject(), route.name())
                        .handle((rendered, signError) -> new Decided(d, rendered, signError)))
                .whenComplete((decided, error) -> ctx.executor().execute(() -> onDecision(decided, error)));
    }

    private void onDecision(Decided decided, Throwable error) {
        if (state != State.DECIDING) {
            return;
        }
        Decision decision = decided == null ? null : decided.decision();
        gw.metrics.decisionDuration(route.name(), Duration.ofNanos(System.nanoTime() - decideNanos));
        if (error != null || decision == null) {
            LOG.warn("decision failed request={} app={} error={}", requestId, route.name(), String.valueOf(error));
            gw.metrics.decision(route.name(), "deny", DecisionReason.EVALUATION_ERROR);
            respondError(403, DecisionReason.EVALUATION_ERROR, "Access could not be decided, so it is denied.");
            return;
        }
        gw.metrics.decision(route.name(), decision.allowed() ? "allow" : "deny",
                decision.primaryReason().code());
        LOG.debug("decided request={} app={} effect={} reason={} managed={}", requestId, route.name(),
                decision.effect(), decision.primaryReason().code(), access.device().managed());
        CompletionStage<Void> recorded = gw.audit.emit(AuditEvents.traced(
                gw.events.decision(access, decision, session().id()), trace.traceId(), trace.spanId()));
        if (!decision.allowed()) {
            if (gw.strictAudit) {
                // Strict audit: a denial is answered once its event is on disk too, so every
                // answered request has its event; a refused event still denies.
                recorded.whenComplete((ok, auditError) -> ctx.executor().execute(() -> deny(decision)));
            } else {
                deny(decision);
            }
            return;
        }
        if (!applicable(decision)) {
            return;
        }
        if (decided.signError() != null) {
            LOG.warn("identity assertion failed, request denied request={} app={} error={}", requestId,
                    route.name(), decided.signError().getClass().getName());
            respondError(500, "assertion_failed", "The gateway could not vouch for you to the application.");
            return;
        }
        obligations = decided.obligations();
        admit(decision);
        CompletionStage<Void> started = session().startOnce(requestId, access.subject(), access.app(),
                access.source(), access.request().protocol(), trace);
        if (!gw.strictAudit) {
            connect();
            return;
        }
        // Strict audit: nothing reaches the app unless its decision and its session's start are
        // on disk.
        PartnerSession session = session();
        started.whenComplete((ok, auditError) -> {
            if (auditError != null) {
                ctx.executor().execute(session::startRefused);
            }
        });
        recorded.thenCombine(started, (a, b) -> (Void) null)
                .whenComplete((ok, auditError) -> ctx.executor().execute(() -> afterAudit(auditError)));
    }

    private void deny(Decision decision) {
        if (state != State.DECIDING) {
            return;
        }
        if (access.subject().isAnonymous() && html && gw.identity.loginAvailable(request.host())
                && "GET".equals(request.method())) {
            // A browser without a session: sign in first, then come back here.
            respondRedirect(GatewayIdentity.loginRedirect(request.pathAndQuery()));
            return;
        }
        DecisionReason shown = DenyMessages.shown(decision);
        if (access.subject().isAnonymous() && DecisionReason.NO_MATCHING_RULE.equals(shown.code())) {
            // Nothing allows an anonymous subject, and a signed-in one might be allowed; a
            // device shortfall is shown as such, since signing in would not mend it.
            respondUnauthenticated();
            return;
        }
        respondError(403, shown.code(), DenyMessages.message(shown, access.device()));
    }

    /** How the session registry ends this handler's exchanges: on this connection's event loop. */
    private final SessionControl control = new SessionControl() {
        @Override
        public java.util.concurrent.Executor executor() {
            return ctx.executor();
        }

        @Override
        public void end(LiveSession session, SessionEnding ending) {
            endedByRegistry(ending, session);
        }
    };

    /** Bytes passed for the exchange: its rule's idle limit counts from here. */
    private void carried() {
        if (live != null) {
            live.carried();
        }
    }

    /** Registers the allowed exchange as a live session, re-decided until it ends. */
    private void admit(Decision decision) {
        cookieSession = gw.identity.cookieSession(credentials).orElse(null);
        String signIn = cookieSession == null ? null : cookieSession.id();
        LiveSession s = new LiveSession(requestId, session().id(), Optional.ofNullable(signIn),
                http2 ? SessionKind.HTTP2 : SessionKind.HTTP1, access, credentials, credentialExpires,
                generation, decision,
                control);
        live = s;
        gw.sessions.register(s);
    }

    /**
     * The registry ended this exchange: a 403 if nothing was answered yet, a close frame for a
     * WebSocket, else the stream is reset (HTTP/2) or the connection closed (HTTP/1.1).
     */
    private void endedByRegistry(SessionEnding ending, LiveSession target) {
        if (target == null || target != live || state == State.CLOSING) {
            return;
        }
        live = null;
        LOG.debug("session ended by the gateway request={} app={} reason={} by={}", requestId,
                route.name(), ending.reason(), ending.endedBy());
        session().endReason(ending.reason());
        if (http2 && connection().attr(GOAWAY_SENT).setIfAbsent(Boolean.TRUE) == null) {
            // New requests on this connection must come on a new one, decided afresh.
            connection().writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR));
        }
        if (state == State.UPGRADED) {
            endWebSocket(ending);
        } else if (!responseStarted) {
            cancelTimers();
            if (upstream != null) {
                upstream.close();
                upstream = null;
            }
            if (StrictSessionAudit.REASON.equals(ending.reason())) {
                // Strict audit could not record this connection: the same answer as afterAudit's.
                respondError(503, ending.reason(), AUDIT_MESSAGE);
            } else {
                respondError(403, ending.reason(), ENDED_MESSAGE);
            }
        } else {
            fail(403, ending.reason(), ENDED_MESSAGE, null);
        }
    }

    /** Checks the obligations this exchange can honour; answers 403 and returns false if not. */
    private boolean applicable(Decision decision) {
        for (Obligation o : decision.obligations()) {
            if (o instanceof Obligation.ReadOnly && !SAFE_METHODS.contains(request.method())) {
                respondError(403, "read_only", "This application is read-only for you.");
                return false;
            }
        }
        return true;
    }

    private void afterAudit(Throwable error) {
        if (state != State.DECIDING) {
            return;
        }
        if (error != null) {
            LOG.warn("audit refused, request not forwarded request={} error={}", requestId, error.toString());
            respondError(503, StrictSessionAudit.REASON, AUDIT_MESSAGE);
            return;
        }
        connect();
    }

    private void connect() {
        state = State.CONNECTING;
        Future<Channel> f = gw.upstreams.acquire(ctx.channel().eventLoop(), route, this);
        if (f.isDone()) {
            onUpstream(f);
        } else {
            f.addListener(this::onUpstream);
        }
    }

    private void onUpstream(Future<? super Channel> f) {
        if (state != State.CONNECTING) {
            if (f.isSuccess()) {
                ((Channel) f.getNow()).close();
            }
            return;
        }
        if (!f.isSuccess()) {
            upstreamFailed(f.cause());
            return;
        }
        upstream = (Channel) f.getNow();
        if (live != null) {
            // A tunnel stream's parent is the tunnel: its connector revoked ends this first.
            live.carriedBy(upstream.parent());
        }
        upstream.config().setAutoRead(true);
        upstream.write(upstreamRequest());
        upstreamNeedsFlush = true;
        state = State.FORWARDING;
        long timeout = route.settings().responseTimeout().toMillis();
        responseTimer = ctx.executor().schedule(this::responseTimedOut, timeout, TimeUnit.MILLISECONDS);
        drain();
        flushUpstream();
        if (!requestComplete) {
            ctx.channel().config().setAutoRead(upstream.isWritable());
        }
    }

    private HttpRequest upstreamRequest() {
        HttpHeaders headers = request.headers();
        ForwardHeaders.applyForwarding(headers, source().address().getHostAddress(), request.authority());
        headers.set("x-request-id", requestId);
        // W3C trace context: the app's parent is the gateway's span, whatever the client sent.
        headers.set("traceparent", trace.traceparent());
        if (trace.traceState().isEmpty()) {
            headers.remove("tracestate");
        } else {
            headers.set("tracestate", trace.traceState());
        }
        if (http2 && headers.getAll(HttpHeaderNames.COOKIE).size() > 1) {
            // HTTP/2 may split Cookie into several fields; HTTP/1.1 wants one (RFC 9113 8.2.3).
            headers.set(HttpHeaderNames.COOKIE, String.join("; ", headers.getAll(HttpHeaderNames.COOKIE)));
        }
        // Posture assertions are the device's credentials for the gateway; the app sees none.
        PostureCarriers carriers = gw.posture == null ? PostureCarriers.NONE : gw.posture.carriers();
        carriers.headers().forEach(headers::remove);
        stripGatewayCookies(headers, carriers.cookies());
        if (access.subject().method() == AuthenticationMethod.BEARER) {
            // The partner's token was its credential for the gateway, minted for the gateway's
            // audience: passing it on would let the app replay it (RFC 9700 token passthrough).
            headers.remove(HttpHeaderNames.AUTHORIZATION);
        }
        for (Obligation o : obligations) {
            if (o instanceof Obligation.SetHeader h) {
                ForwardHeaders.removeEverySpelling(headers, h.name());
                headers.set(h.name(), h.value());
            }
        }
        if (!request.webSocketUpgrade() && streamedBody) {
            // A body of unknown length (chunked from the client, or HTTP/2 DATA frames without
            // Content-Length) goes to the app chunked.
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(request.method()),
                request.pathAndQuery(), headers);
    }

    private static void stripGatewayCookies(HttpHeaders headers, Set<String> postureCookies) {
        // The gateway's own cookies are its credentials: the app never sees them.
        List<String> kept = new ArrayList<>();
        for (String line : headers.getAll(HttpHeaderNames.COOKIE)) {
            for (String pair : line.split(";")) {
                String p = pair.trim();
                int eq = p.indexOf('=');
                String name = eq < 0 ? p : p.substring(0, eq).trim();
                if (!p.isEmpty() && !p.startsWith(SessionCookieCodec.COOKIE_NAME + "=")
                        && !p.startsWith("__Host-pep_csrf=")
                        && !postureCookies.contains(name)) {
                    kept.add(p);
                }
            }
        }
        headers.remove(HttpHeaderNames.COOKIE);
        if (!kept.isEmpty()) {
            headers.set(HttpHeaderNames.COOKIE, String.join("; ", kept));
        }
    }

    private void onBody(HttpContent content) {
        if (state == State.ENDPOINT) {
            onEndpointBody(content);
            return;
        }
        int n = content.content().readableBytes();
        bodyBytes += n;
        if (bodyBytes > route.settings().maxBodySize().bytes()) {
            content.release();
            fail(413, "body_too_large", "The request body is larger than this application accepts.", null);
            return;
        }
        boolean last = content instanceof LastHttpContent;
        carried();
        upstream.write(content);
        upstreamNeedsFlush = true;
        if (last) {
            requestComplete = true;
            // HTTP/1.1: no next request is read until this response is done (bounded pipelining).
            ctx.channel().config().setAutoRead(false);
            flushUpstream();
        } else if (!upstream.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    // ---- upstream: response --------------------------------------------------------------

    @Override
    public void onResponse(Object msg) {
        if (state == State.UPGRADED) {
            relayToClient(msg);
            return;
        }
        if (state != State.FORWARDING) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpResponse head) {
            onResponseHead(head);
        } else if (msg instanceof HttpContent content) {
            onResponseContent(content);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onResponseHead(HttpResponse head) {
        int code = head.status().code();
        if (code == 101) {
            upgrade(head);
            return;
        }
        interimResponse = code >= 100 && code < 200;
        if (!interimResponse) {
            cancel(responseTimer);
            responseStarted = true;
            status = code;
            upstreamReusable = HttpUtil.isKeepAlive(head);
        }
        HttpHeaders h = head.headers();
        boolean chunked = !h.contains(HttpHeaderNames.CONTENT_LENGTH) && bodyAllowed(code);
        for (String named : h.getAll(HttpHeaderNames.CONNECTION)) {
            // RFC 9110 7.6.1: fields named in Connection are hop-by-hop too.
            for (String name : named.split(",")) {
                if (!name.isBlank() && !name.trim().equalsIgnoreCase("content-length")) {
                    h.remove(name.trim());
                }
            }
        }
        RESPONSE_HOP_BY_HOP.forEach(h::remove);
        if (!interimResponse && cookieSession != null) {
            // Use slides the session's idle expiry: the browser gets the cookie re-sealed as of now.
            gw.identity.renewedCookie(cookieSession, credentials.time())
                    .ifPresent(c -> h.add(HttpHeaderNames.SET_COOKIE, c));
        }
        if (!http2 && !interimResponse) {
            if (chunked) {
                h.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
            }
            if (!clientKeepAlive || gw.draining.get()) {
                clientKeepAlive = false;
                h.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
        }
        ctx.write(head);
    }

    private void onResponseContent(HttpContent content) {
        if (interimResponse) {
            // The end of a 1xx response: the real response follows. HTTP/1.1's encoder needs the
            // end marker to start the next response head.
            content.release();
            interimResponse = false;
            if (!http2) {
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            }
            return;
        }
        boolean last = content instanceof LastHttpContent;
        carried();
        if (!last) {
            ctx.write(content);
            if (!ctx.channel().isWritable()) {
                upstream.config().setAutoRead(false);
            }
            return;
        }
        ctx.writeAndFlush(content);
        Channel up = upstream;
        upstream = null;
        if (upstreamReusable && requestComplete) {
            gw.upstreams.release(ctx.channel().eventLoop(), route, up);
        } else {
            up.close();
        }
        endExchange(true);
    }

    private boolean bodyAllowed(int code) {
        return code != 204 && code != 304 && !"HEAD".equals(request.method()) && code >= 200;
    }

    @Override
    public void onUpstreamReadComplete() {
        ctx.flush();
    }

    @Override
    public void onUpstreamClosed(Throwable cause) {
        if (state == State.UPGRADED) {
            ctx.flush();
            closeNow();
            return;
        }
        if (state != State.FORWARDING) {
            return;
        }
        upstream = null;
        LOG.debug("upstream closed mid-exchange request={} app={} error={}", requestId, route.name(),
                String.valueOf(cause));
        if (cause instanceof UpstreamLostException) {
            fail(502, "connector_lost", "The connection to the application was lost; try again.", cause);
            return;
        }
        if (cause instanceof UpstreamTlsException) {
            LOG.warn("upstream tls failed app={} error={}", route.name(), String.valueOf(cause.getCause()));
            fail(502, "upstream_tls_failed", "The application could not be reached securely.", cause);
            return;
        }
        fail(502, "upstream_closed", "The application closed the connection.", cause);
    }

    @Override
    public void onUpstreamWritability(boolean writable) {
        if (state == State.UPGRADED || state == State.FORWARDING && !requestComplete) {
            ctx.channel().config().setAutoRead(writable);
        }
    }

    private void responseTimedOut() {
        if (state == State.FORWARDING && !responseStarted) {
            fail(504, "upstream_timeout", "The application did not answer in time.", null);
        }
    }

    private void upstreamFailed(Throwable cause) {
        if (cause instanceof NoConnectorException) {
            LOG.debug("no connector for app request={} app={}", requestId, route.name());
            respondError(502, "connector_unavailable", "The application's connector is not connected right now.");
        } else if (cause instanceof StreamRefusedException refused) {
            LOG.debug("connector refused stream request={} app={} reason={}", requestId, route.name(),
                    refused.reason());
            respondError(502, "connector_" + refused.reason().replaceFirst("^connector_", ""),
                    "The application could not be reached through its connector.");
        } else if (cause instanceof java.util.concurrent.TimeoutException) {
            respondError(504, "connector_timeout", "The application's connector did not answer in time.");
        } else if (cause instanceof UpstreamBusyException) {
            respondError(503, "upstream_busy", "The application is busy; try again shortly.");
        } else if (cause instanceof ConnectTimeoutException) {
            respondError(504, "upstream_connect_timeout", "The application could not be reached in time.");
        } else if (cause instanceof UpstreamTlsException) {
            LOG.warn("upstream tls failed app={} error={}", route.name(), String.valueOf(cause.getCause()));
            respondError(502, "upstream_tls_failed", "The application could not be reached securely.");
        } else {
            String code = cause instanceof ConnectException ? "upstream_unreachable" : "upstream_failed";
            LOG.debug("upstream connect failed request={} app={} error={}", requestId, route.name(), cause.toString());
            respondError(502, code, "The application could not be reached.");
        }
    }

    // ---- WebSocket -----------------------------------------------------------------------

    private void upgrade(HttpResponse head) {
        if (!request.webSocketUpgrade()) {
            ReferenceCountUtil.release(head);
            fail(502, "unexpected_upgrade", "The application switched protocols unasked.", null);
            return;
        }
        cancel(responseTimer);
        responseStarted = true;
        status = 101;
        state = State.UPGRADED;
        ctx.writeAndFlush(head);
        if (live != null) {
            live.kind(SessionKind.WEBSOCKET);
        }
        // From here on both sides carry WebSocket frames: drop the HTTP codecs on the client
        // side (the app side's decoder passes bytes through after a 101).
        ctx.pipeline().remove(Http1Pipeline.ENCODER);
        ctx.pipeline().remove(Http1Pipeline.DECODER);
        ctx.channel().config().setAutoRead(true);
        Channel up = upstream;
        up.eventLoop().execute(() -> {
            if (up.pipeline().get("codec") != null) {
                up.pipeline().remove("codec");
            }
        });
    }

    /** Relays the app's WebSocket bytes; once the session is ending, up to a frame's end. */
    private void relayToClient(Object msg) {
        ByteBuf buf = msg instanceof ByteBuf b ? b : msg instanceof HttpContent c ? c.content() : null;
        if (buf == null) {
            ReferenceCountUtil.release(msg);
            return;
        }
        carried();
        if (webSocketEnding == null) {
            toClient.advance(buf, buf.readerIndex(), buf.readableBytes(), false);
            ctx.write(buf);
            return;
        }
        int cut = toClient.advance(buf, buf.readerIndex(), buf.readableBytes(), true);
        if (cut < 0) {
            ctx.write(buf);
            return;
        }
        ctx.write(buf.retainedSlice(buf.readerIndex(), cut));
        buf.release();
        sendWebSocketClose();
    }

    /** Ends a WebSocket with a close frame, at the next frame boundary of the app's bytes. */
    private void endWebSocket(SessionEnding ending) {
        webSocketEnding = ending;
        if (toClient.atBoundary()) {
            sendWebSocketClose();
            return;
        }
        // The app is mid-frame: let the frame finish, but not for long.
        ctx.executor().schedule(() -> {
            if (state == State.UPGRADED) {
                closeNow();
            }
        }, LINGER.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void sendWebSocketClose() {
        state = State.CLOSING;
        if (upstream != null) {
            upstream.close();
            upstream = null;
        }
        ByteBuf frame = WebSocketFrameBoundary.closeFrame(ctx.alloc(), WS_POLICY_VIOLATION,
                webSocketEnding.reason());
        // The client answers with its own close frame; the connection goes after a short linger.
        ctx.writeAndFlush(frame).addListener(f -> ctx.executor().schedule(() -> ctx.close(),
                LINGER.toMillis(), TimeUnit.MILLISECONDS));
    }

    private void relayToUpstream(Object msg) {
        if (msg instanceof LastHttpContent && msg == LastHttpContent.EMPTY_LAST_CONTENT) {
            return;
        }
        if (!(msg instanceof ByteBuf) && !(msg instanceof HttpContent)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        Object out = msg instanceof HttpContent c ? c.content() : msg;
        carried();
        upstream.write(out);
        upstreamNeedsFlush = true;
        if (!upstream.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    // ---- endings -------------------------------------------------------------------------

    private void reject(HttpRejection r) {
        gw.metrics.rejected(r.code());
        LOG.debug("request rejected channel={} status={} code={}", ctx.channel().id(), r.status(), r.code());
        if (requestId == null) {
            requestId = gw.newRequestId();
            started = gw.clock.instant();
            gw.inFlight.incrementAndGet();
        }
        clientKeepAlive = false;
        respondError(r.status(), r.code(), r.detail());
    }

    private void respondRedirect(String location) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.FOUND,
                io.netty.buffer.Unpooled.EMPTY_BUFFER);
        r.headers().set(HttpHeaderNames.LOCATION, location).setInt(HttpHeaderNames.CONTENT_LENGTH, 0)
                .set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE).set("x-request-id", requestId);
        respond(r);
    }

    private void respondJwks() {
        ByteBuf body = ctx.alloc().buffer();
        body.writeCharSequence(gw.assertions.jwksJson(), StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/jwk-set+json")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes())
                .set(HttpHeaderNames.CACHE_CONTROL, "max-age=300").set("x-request-id", requestId);
        respond(r);
    }

    private void respondUnauthenticated() {
        FullHttpResponse r = ErrorPages.page(ctx.alloc(), 401, "authentication_required",
                "Sign in, or present a bearer token, to use this application.", requestId, html);
        r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"pep\"");
        respond(r);
    }

    /** Answers from the gateway and closes: a refused request's body is never read. */
    private void respondError(int code, String reason, String message) {
        FullHttpResponse r = ErrorPages.page(ctx.alloc(), code, reason, message,
                requestId == null ? gw.newRequestId() : requestId, html);
        respond(r);
    }

    private void respond(FullHttpResponse r) {
        int code = r.status().code();
        if (!http2) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        status = code;
        state = State.CLOSING;
        releaseInbound();
        if (http2) {
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        } else {
            ctx.writeAndFlush(r).addListener(f -> lingerClose());
        }
        endExchange(false);
    }

    /**
     * Half-closes after an answer given before the request was read to its end, then reads and
     * drops what the client still sends for a bounded time. Closing at once with unread bytes
     * makes the close a TCP reset that can destroy the answer on its way (RFC 9112 section 9.6).
     */
    private void lingerClose() {
        Channel channel = ctx.channel();
        if (!channel.isActive()) {
            return;
        }
        ctx.executor().schedule(() -> channel.close(), LINGER.toMillis(), TimeUnit.MILLISECONDS);
        channel.config().setAutoRead(true);
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        if (tls == null) {
            shutdownOutput(channel);
        } else {
            tls.closeOutbound().addListener(f -> shutdownOutput(channel));
        }
    }

    private static void shutdownOutput(Channel channel) {
        if (channel instanceof DuplexChannel duplex) {
            duplex.shutdownOutput();
        } else {
            channel.close();
        }
    }

    /** The one failure path: answers if nothing was answered yet, else cuts the exchange. */
    private void fail(int code, String reason, String message, Throwable cause) {
        cancelTimers();
        if (upstream != null) {
            upstream.close();
            upstream = null;
        }
        if (state == State.CLOSING) {
            return;
        }
        if (!responseStarted) {
            respondError(code, reason, message);
        } else {
            state = State.CLOSING;
            status = status == 0 ? code : status;
            endExchange(false);
            closeNow();
        }
    }

    private void endExchange(boolean complete) {
        LiveSession allowed = live;
        if (live != null) {
            gw.sessions.unregister(live);
            live = null;
        }
        boolean keepGoing = complete && !http2 && clientKeepAlive && !gw.draining.get();
        if (counted) {
            // Between exchanges the connection is a live session of its own (kind ..._idle).
            counted = false;
            IdleConnection idle = IdleConnection.of(connection());
            if (idle != null) {
                idle.exchangeEnded(allowed, http2 || keepGoing);
            }
        }
        if (requestId != null) {
            gw.inFlight.decrementAndGet();
            gw.metrics.request(route == null ? "-" : route.name(), status == 0 ? 499 : status,
                    Duration.between(started, gw.clock.instant()));
            endSpan();
        }
        cancelTimers();
        request = null;
        trace = null;
        access = null;
        obligations = List.of();
        credentials = null;
        cookieSession = null;
        source = null;
        endpointBody = null;
        route = null;
        requestId = null;
        bodyBytes = 0;
        requestComplete = false;
        responseStarted = false;
        interimResponse = false;
        upstreamReusable = false;
        status = 0;
        if (!complete) {
            return;
        }
        if (http2) {
            state = State.CLOSING;
        } else if (keepGoing) {
            state = State.IDLE;
            armHeadTimer();
            StrictHttpRequestDecoder decoder = ctx.pipeline().get(StrictHttpRequestDecoder.class);
            if (decoder != null) {
                decoder.resumeAfterRefusedUpgrade();
            }
            ctx.channel().config().setAutoRead(true);
            drain();
        } else {
            state = State.CLOSING;
            ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Hands the request's span to tracing: the exchange from its head to its end. */
    private void endSpan() {
        if (trace == null || request == null || !gw.tracing.exporting()) {
            return;
        }
        int code = status == 0 ? 499 : status;
        Map<String, Object> attributes = new LinkedHashMap<>();
        attributes.put("http.request.method", request.method());
        attributes.put("http.response.status_code", (long) code);
        attributes.put("server.address", request.host());
        attributes.put("url.path", request.path());
        attributes.put("network.protocol.version", http2 ? "2" : "1.1");
        attributes.put("pep.request_id", requestId);
        if (route != null) {
            attributes.put("pep.app", route.name());
        }
        long start = started.getEpochSecond() * 1_000_000_000L + started.getNano();
        Instant now = gw.clock.instant();
        gw.tracing.end(new RequestSpan(trace, request.method() + " " + (route == null ? "-" : route.name()),
                start, now.getEpochSecond() * 1_000_000_000L + now.getNano(), attributes, code >= 500));
    }

    private void armHeadTimer() {
        long ms = gw.config.limits().headerReadTimeout().toMillis();
        headTimer = ctx.executor().schedule(() -> {
            if (state == State.IDLE) {
                // Slowloris or an idle keep-alive connection: either way it holds a slot for nothing.
                LOG.debug("request head timeout channel={}", ctx.channel().id());
                state = State.CLOSING;
                closeNow();
            }
        }, ms, TimeUnit.MILLISECONDS);
    }

    private void closeNow() {
        state = State.CLOSING;
        ctx.close();
    }

    private void flushUpstream() {
        if (upstreamNeedsFlush && upstream != null) {
            upstreamNeedsFlush = false;
            upstream.flush();
        }
    }

    private void cancelTimers() {
        cancel(headTimer);
        cancel(responseTimer);
    }

    private static void cancel(ScheduledFuture<?> f) {
        if (f != null) {
            f.cancel(false);
        }
    }

    private void releaseInbound() {
        Object m;
        while ((m = inbound.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
    }

    private Channel connection() {
        Channel ch = ctx.channel();
        return http2 && ch.parent() != null ? ch.parent() : ch;
    }

    private String sni() {
        return connection().attr(GatewayContext.SNI).get();
    }

    private PartnerSession session() {
        return connection().attr(PartnerSession.KEY).get();
    }

    private Source source() {
        if (source == null) {
            InetSocketAddress peer = (InetSocketAddress) connection().remoteAddress();
            source = new Source(peer.getAddress(), peer.getPort(),
                    gw.posture == null ? Set.of() : gw.posture.networks(peer.getAddress()));
        }
        return source;
    }

    /** A decision with its obligations ready for the app, or why they could not be made. */
    private record Decided(Decision decision, List<Obligation> obligations, Throwable signError) {
    }
}
