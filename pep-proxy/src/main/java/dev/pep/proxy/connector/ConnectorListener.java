package dev.pep.proxy.connector;

import dev.pep.proxy.tls.TlsContexts;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's connector listener: TLS with its internal CA's certificate. A connection that
 * presents a connector certificate (checked against the enrolment store during the handshake)
 * becomes a tunnel; one without a certificate may only enrol (HTTP/1.1, one POST of at most
 * {@link #MAX_ENROLMENT_BYTES}). Until a connection is a tunnel it is bounded by
 * {@link UnauthenticatedConnections}: caps in total and per address, and a deadline.
 */
public final class ConnectorListener implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectorListener.class);
    /** The largest enrolment request body: a name, a token and a PKCS#10 request fit many times. */
    static final int MAX_ENROLMENT_BYTES = 16 * 1024;

    private final Channel server;

    private ConnectorListener(Channel server) {
        this.server = server;
    }

    /** Binds the listener with the default bounds on unauthenticated connections. */
    public static ConnectorListener start(EventLoopGroup boss, EventLoopGroup workers,
            Class<? extends ServerChannel> channelClass, String address, int port, ConnectorCa ca,
            ConnectorRegistry registry, Clock clock) throws Exception {
        return start(boss, workers, channelClass, address, port, ca, registry, clock,
                new UnauthenticatedConnections(UnauthenticatedConnections.Limits.DEFAULT,
                        new io.micrometer.core.instrument.simple.SimpleMeterRegistry()));
    }

    /**
     * Binds the listener; the CA's listener certificate must exist. Connections that have not
     * presented a connector certificate are bounded by {@code unauthenticated}.
     */
    public static ConnectorListener start(EventLoopGroup boss, EventLoopGroup workers,
            Class<? extends ServerChannel> channelClass, String address, int port, ConnectorCa ca,
            ConnectorRegistry registry, Clock clock, Duration handshakeTimeout, int maxUnauthenticated,
            int maxUnauthenticatedPerAddress, MeterRegistry meters) throws Exception {
        return start(boss, workers, channelClass, address, port, ca, registry, clock,
                new UnauthenticatedConnections(new UnauthenticatedConnections.Limits(handshakeTimeout,
                        maxUnauthenticated, maxUnauthenticatedPerAddress), meters));
    }

    static ConnectorListener start(EventLoopGroup boss, EventLoopGroup workers,
            Class<? extends ServerChannel> channelClass, String address, int port, ConnectorCa ca,
            ConnectorRegistry registry, Clock clock, UnauthenticatedConnections unauthenticated)
            throws Exception {
        SslContext tls = SslContextBuilder.forServer(ca.listenerCertificate().toFile(), ca.listenerKey().toFile())
                .sslProvider(TlsContexts.provider()).protocols("TLSv1.3", "TLSv1.2")
                .trustManager(new ConnectorTrust(ca.certificate(), clock, registry))
                .clientAuth(ClientAuth.OPTIONAL).build();
        Enroller enroller = new Enroller(ca, registry, clock);
        Channel server = new ServerBootstrap().group(boss, workers).channel(channelClass)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        InetSocketAddress remote = ch.remoteAddress();
                        // First: a connection over the caps is closed before its handshake costs anything.
                        ch.pipeline().addLast("unauthenticated", unauthenticated.handler());
                        ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), remote.getHostString(),
                                remote.getPort()));
                        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, 30, TimeUnit.SECONDS));
                        ch.pipeline().addLast("sort", new Sorter(registry, enroller, unauthenticated));
                    }
                }).bind(address, port).sync().channel();
        return new ConnectorListener(server);
    }

    /** The port it listens on. */
    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
    }

    /** After the handshake: a tunnel for a connector certificate, enrolment otherwise. */
    private static final class Sorter extends ChannelInboundHandlerAdapter {

        private final ConnectorRegistry registry;
        private final Enroller enroller;
        private final UnauthenticatedConnections unauthenticated;

        Sorter(ConnectorRegistry registry, Enroller enroller, UnauthenticatedConnections unauthenticated) {
            this.registry = registry;
            this.enroller = enroller;
            this.unauthenticated = unauthenticated;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                if (!done.isSuccess()) {
                    LOG.debug("connector handshake failed remote={} error={}", ctx.channel().remoteAddress(),
                            String.valueOf(done.cause()));
                    ctx.close();
                    return;
                }
                X509Certificate peer = peer(ctx);
                if (peer == null) {
                    ctx.pipeline().addLast("http", new HttpServerCodec(4096, 8192, 8192));
                    ctx.pipeline().addLast("aggregate", new HttpObjectAggregator(MAX_ENROLMENT_BYTES) {
                        @Override
                        protected void handleOversizedMessage(ChannelHandlerContext c, HttpMessage oversized)
                                throws Exception {
                            // Answered 413 and closed by the aggregator; counted here.
                            unauthenticated.requestTooLarge();
                            super.handleOversizedMessage(c, oversized);
                        }
                    });
                    ctx.pipeline().addLast("enrol", enroller.handler());
                    ctx.pipeline().remove(this);
                } else {
                    tunnel(ctx, peer);
                }
                return;
            }
            if (evt instanceof IdleStateEvent) {
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        private void tunnel(ChannelHandlerContext ctx, X509Certificate peer) {
            Enrolment enrolment;
            String name = ConnectorCa.connectorName(peer);
            try {
                // Checked again: a revocation may have landed during the handshake.
                enrolment = registry.verify(name, ConnectorCa.serial(peer));
            } catch (EnrolmentRefusedException e) {
                registry.refused(name, null, (InetSocketAddress) ctx.channel().remoteAddress(), e.reason());
                ctx.close();
                return;
            }
            Channel ch = ctx.channel();
            UnauthenticatedConnections.authenticated(ch.pipeline());
            Tunnel tunnel = new Tunnel(ch, enrolment, registry.now());
            ch.pipeline().remove("idle");
            ch.pipeline().addAfter("tls", "seen", new Seen(tunnel, registry));
            ch.pipeline().addAfter("seen", "idle", new IdleStateHandler(TunnelProtocol.DEAD_SECONDS, 0,
                    TunnelProtocol.PING_SECONDS, TimeUnit.SECONDS));
            ch.pipeline().addLast("h2", Http2FrameCodecBuilder.forClient()
                    .initialSettings(TunnelProtocol.settings()).build());
            // The connector may open no streams of its own: anything it starts is reset.
            ch.pipeline().addLast("streams", new Http2MultiplexHandler(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelActive(ChannelHandlerContext c) {
                    c.close();
                }
            }));
            ch.pipeline().addLast("keepalive", new Keepalive(tunnel));
            ch.pipeline().remove(this);
            ch.writeAndFlush(new DefaultHttp2WindowUpdateFrame(TunnelProtocol.CONNECTION_WINDOW_INCREMENT));
            tunnel.open(Tunnel.hello(), registry.helloTimeout()).addListener(f -> {
                if (!f.isSuccess()) {
                    LOG.debug("connector hello failed connector={} error={}", name, String.valueOf(f.cause()));
                    tunnel.close("hello_failed");
                    return;
                }
                Channel stream = (Channel) f.getNow();
                Http2Headers answer = stream.attr(Tunnel.ANSWER).get();
                stream.close();
                registry.connected(tunnel, ConnectorRegistry.split(answer.get(TunnelProtocol.APPS)));
            });
        }

        private static X509Certificate peer(ChannelHandlerContext ctx) {
            try {
                Certificate[] chain = ctx.pipeline().get(SslHandler.class).engine().getSession().getPeerCertificates();
                return chain.length == 0 ? null : (X509Certificate) chain[0];
            } catch (SSLPeerUnverifiedException e) {
                return null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("connector connection failed remote={} error={}", ctx.channel().remoteAddress(),
                    cause.toString());
            ctx.close();
        }
    }

    /** Notes when the gateway last heard from a tunnel. */
    private static final class Seen extends ChannelInboundHandlerAdapter {

        private final Tunnel tunnel;
        private final ConnectorRegistry registry;
        private long lastNanos;

        Seen(Tunnel tunnel, ConnectorRegistry registry) {
            this.tunnel = tunnel;
            this.registry = registry;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            long now = System.nanoTime();
            if (now - lastNanos > 1_000_000_000L) {
                lastNanos = now;
                tunnel.seen(registry.now());
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** Pings a quiet tunnel; closes one silent past {@link TunnelProtocol#DEAD_SECONDS}. */
    private static final class Keepalive extends ChannelInboundHandlerAdapter {

        private final Tunnel tunnel;

        Keepalive(Tunnel tunnel) {
            this.tunnel = tunnel;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent idle) {
                if (idle.state() == IdleState.READER_IDLE) {
                    tunnel.close("keepalive_timeout");
                } else {
                    ctx.writeAndFlush(new DefaultHttp2PingFrame(System.nanoTime()));
                }
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            // Settings, pings and GOAWAY from the connector: nothing to do beyond being seen.
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("connector tunnel failed connector={} error={}", tunnel.name(), cause.toString());
            tunnel.close("tunnel_error");
        }
    }

    /** The names the listener certificate carries: this host's, loopback, and the bound address. */
    public static List<String> listenerNames(String address) {
        List<String> names = new java.util.ArrayList<>(ConnectorCa.Pem.localNames());
        if (!names.contains(address) && !address.equals("0.0.0.0") && !address.equals("::")) {
            names.add(address);
        }
        return names;
    }
}
