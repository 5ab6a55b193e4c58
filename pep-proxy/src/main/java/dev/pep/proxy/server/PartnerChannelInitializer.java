package dev.pep.proxy.server;

import dev.pep.core.StreamPreamble;
import dev.pep.proxy.config.Http2Config;
import dev.pep.proxy.route.Route;
import dev.pep.proxy.tls.CertificateStore;
import dev.pep.proxy.tls.ClientHelloCapture;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.handler.timeout.IdleStateHandler;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sets up a partner connection: connection limits, the PostgreSQL SSLRequest answered for TCP
 * apps that declare it, the ClientHello fingerprint when posture asks for it, then TLS with the
 * certificate chosen by SNI, then a TCP session when SNI names a TCP app's host, else HTTP/1.1
 * or HTTP/2 as ALPN decided.
 */
final class PartnerChannelInitializer extends ChannelInitializer<SocketChannel> {

    private static final Logger LOG = LoggerFactory.getLogger(PartnerChannelInitializer.class);

    private final GatewayContext gw;
    private final CertificateStore certificates;
    private final ConnectionLimiter limiter;
    private final ChannelGroup connections;

    PartnerChannelInitializer(GatewayContext gw, CertificateStore certificates, ConnectionLimiter limiter,
            ChannelGroup connections) {
        this.gw = gw;
        this.certificates = certificates;
        this.limiter = limiter;
        this.connections = connections;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        connections.add(ch);
        PartnerSession session = new PartnerSession(gw, gw.newRequestId(), gw.clock.instant());
        ch.attr(PartnerSession.KEY).set(session);
        ch.pipeline().addLast("session", session);
        long handshakeMs = gw.config.limits().handshakeTimeout().toMillis();
        ch.pipeline().addLast("limit", limiter);
        ch.pipeline().addLast(PostgresPreambleHandler.NAME,
                new PostgresPreambleHandler(() -> TcpSession.anyPreamble(gw, StreamPreamble.POSTGRES)));
        if (gw.posture != null && gw.posture.fingerprints()) {
            ch.pipeline().addLast("client-hello", new ClientHelloCapture());
        }
        ch.pipeline().addLast("sni", new GatewaySniHandler(gw, certificates, handshakeMs));
        ch.pipeline().addLast("alpn", new AlpnHandler());
    }

    /**
     * Keeps the SNI name for routing, picks a context without ALPN for a TCP app's host, and
     * bounds the whole handshake in time.
     */
    private static final class GatewaySniHandler extends SniHandler {
        private final GatewayContext gw;
        private final CertificateStore certificates;
        private final long handshakeMs;

        GatewaySniHandler(GatewayContext gw, CertificateStore certificates, long handshakeMs) {
            super(certificates, handshakeMs);
            this.gw = gw;
            this.certificates = certificates;
            this.handshakeMs = handshakeMs;
        }

        @Override
        protected Future<SslContext> lookup(ChannelHandlerContext ctx, String hostname) throws Exception {
            String name = normalise(hostname);
            if (name != null && TcpSession.routeOf(gw, name) != null) {
                // The app's bytes are not HTTP: no protocol is selected, whatever the client offers.
                // LIMITATION(L-720): a client that insists on its own ALPN protocol is not served.
                return ctx.executor().newSucceededFuture(certificates.streamContext(name));
            }
            return super.lookup(ctx, hostname);
        }

        @Override
        protected SslHandler newSslHandler(SslContext context, ByteBufAllocator allocator) {
            SslHandler h = super.newSslHandler(context, allocator);
            h.setHandshakeTimeoutMillis(handshakeMs);
            return h;
        }

        @Override
        protected void replaceHandler(ChannelHandlerContext ctx, String hostname, SslContext context)
                throws Exception {
            if (hostname != null) {
                ctx.channel().attr(GatewayContext.SNI).set(normalise(hostname));
            }
            super.replaceHandler(ctx, hostname, context);
        }

        private static String normalise(String hostname) {
            if (hostname == null) {
                return null;
            }
            String h = hostname.toLowerCase(Locale.ROOT);
            return h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
        }
    }

    private final class AlpnHandler extends ApplicationProtocolNegotiationHandler {
        AlpnHandler() {
            super(ApplicationProtocolNames.HTTP_1_1);
        }

        @Override
        protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
            keepPeerCertificates(ctx);
            SslHandler tls = ctx.pipeline().get(SslHandler.class);
            handshakeDone(ctx, "success", tls == null ? "none" : tls.engine().getSession().getProtocol());
            String sni = ctx.channel().attr(GatewayContext.SNI).get();
            Route tcp = sni == null ? null : TcpSession.routeOf(gw, sni);
            StreamPreamble preamble = ctx.channel().attr(PostgresPreambleHandler.USED).get();
            if (preamble != null && (tcp == null || tcp.app().preamble() != preamble)) {
                // Only an app that declares the preamble is reached through it (docs/connectors.md).
                LOG.debug("preamble for an app that does not declare it channel={} sni={} preamble={}",
                        ctx.channel().id(), sni, preamble);
                ctx.close();
            } else if (tcp != null) {
                // Chosen by SNI alone: a TCP app's host never reaches the HTTP codecs.
                ctx.pipeline().addLast(TcpSession.NAME, new TcpSession(gw, tcp, sni));
            } else if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                Http2FrameCodec codec = http2Codec();
                ctx.pipeline().addLast("idle", new IdleStateHandler(0, 0,
                        gw.config.limits().idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
                ctx.pipeline().addLast("h2", codec);
                widenConnectionWindow(codec);
                ctx.pipeline().addLast("h2-streams", new Http2MultiplexHandler(new StreamInitializer()));
                ctx.pipeline().addLast("idle-close",
                        new IdleCloseHandler(() -> codec.connection().numActiveStreams() > 0));
                ctx.pipeline().addLast(IdleConnection.NAME, new IdleConnection(gw, true));
                ctx.channel().flush();
            } else {
                Http1Pipeline.install(ctx.pipeline(), gw);
            }
        }

        /** The handshake is done: keep the client's chain, if it sent one, for the requests. */
        private void keepPeerCertificates(ChannelHandlerContext ctx) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            if (ssl == null) {
                return;
            }
            try {
                List<X509Certificate> chain = new ArrayList<>();
                for (Certificate c : ssl.engine().getSession().getPeerCertificates()) {
                    if (c instanceof X509Certificate x) {
                        chain.add(x);
                    }
                }
                ctx.channel().attr(GatewayContext.PEER_CERTIFICATES).set(List.copyOf(chain));
            } catch (SSLPeerUnverifiedException e) {
                // No client certificate: the normal case.
            }
        }

        @Override
        protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("tls handshake failed channel={} error={}", ctx.channel().id(), cause.toString());
            handshakeDone(ctx, "failure", "none");
            ctx.close();
        }

        private void handshakeDone(ChannelHandlerContext ctx, String result, String protocol) {
            PartnerSession session = ctx.channel().attr(PartnerSession.KEY).get();
            gw.metrics.handshake(result, protocol, Duration.between(session.opened(), gw.clock.instant()));
        }
    }

    private Http2FrameCodec http2Codec() {
        Http2Config c = gw.config.http2();
        Http2Settings settings = Http2Settings.defaultSettings()
                .maxConcurrentStreams(c.maxConcurrentStreams())
                .maxHeaderListSize(c.maxHeaderListSize().bytes())
                .initialWindowSize(c.initialWindowSize().intValue());
        return Http2FrameCodecBuilder.forServer()
                .initialSettings(settings)
                .validateHeaders(true)
                // Rapid reset (CVE-2023-44487): too many client resets in a window close the connection.
                .decoderEnforceMaxRstFramesPerWindow(c.maxResetsPerWindow(), c.resetWindowSeconds())
                .gracefulShutdownTimeoutMillis(gw.config.drainTimeout().toMillis())
                .build();
    }

    /**
     * Sets the connection-level receive window to the configured size (RFC 9113 6.9.2: SETTINGS
     * cannot, only WINDOW_UPDATE on stream 0 can). Runs after the codec was added, so its
     * preface is already written and this WINDOW_UPDATE follows it.
     */
    private void widenConnectionWindow(Http2FrameCodec codec) {
        Http2Stream connectionStream = codec.connection().connectionStream();
        Http2LocalFlowController flow = codec.connection().local().flowController();
        int delta = gw.config.http2().connectionWindowSize().intValue() - flow.windowSize(connectionStream);
        if (delta <= 0) {
            return;
        }
        try {
            flow.incrementWindowSize(connectionStream, delta);
        } catch (Http2Exception e) {
            // The validator bounds the size to 2^31-1, the only way this can fail.
            throw new IllegalStateException("connection window rejected: " + e.getMessage(), e);
        }
    }

    private final class StreamInitializer extends ChannelInitializer<Http2StreamChannel> {
        @Override
        protected void initChannel(Http2StreamChannel ch) {
            ch.pipeline().addLast("h2-bridge", new Http2StreamBridge());
            ch.pipeline().addLast("proxy", new ProxyHandler(gw, true));
        }
    }
}
