package dev.pep.proxy.connector;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connector's tunnel to one gateway, kept up: dialled at start, dialled again with
 * {@link Backoff} whenever it fails or closes, until {@link #close}. Thread-safe.
 */
final class GatewayLink {

    private static final Logger LOG = LoggerFactory.getLogger(GatewayLink.class);

    private final EventLoopGroup group;
    private final Class<? extends SocketChannel> channelClass;
    private final SslContext tls;
    private final String address;
    private final String host;
    private final int port;
    private final AppStreams streams;
    private final Backoff backoff;
    private volatile boolean closed;
    private volatile Channel channel;
    private volatile boolean up;
    private volatile long upSince;

    GatewayLink(EventLoopGroup group, Class<? extends SocketChannel> channelClass, SslContext tls, String address,
            AppStreams streams, Random random) {
        this.group = group;
        this.channelClass = channelClass;
        this.tls = tls;
        this.address = address;
        int colon = address.lastIndexOf(':');
        this.host = address.substring(0, colon);
        this.port = Integer.parseInt(address.substring(colon + 1));
        this.streams = streams;
        this.backoff = new Backoff(random);
    }

    void start() {
        dial();
    }

    boolean up() {
        return up;
    }

    void close() {
        closed = true;
        Channel ch = channel;
        if (ch != null) {
            ch.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
    }

    private void dial() {
        if (closed) {
            return;
        }
        var connect = new Bootstrap().group(group).channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast("tls", tls.newHandler(ch.alloc(), host, port));
                        ch.pipeline().addLast("idle", new IdleStateHandler(TunnelProtocol.DEAD_SECONDS, 0, 0,
                                TimeUnit.SECONDS));
                        ch.pipeline().addLast("link", new LinkHandler());
                    }
                }).connect(host, port);
        channel = connect.channel();
        connect.channel().closeFuture().addListener(f -> {
            up = false;
            retry();
        });
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                LOG.warn("gateway unreachable gateway={} error={}", address, String.valueOf(f.cause()));
            }
        });
    }

    private void retry() {
        if (closed) {
            return;
        }
        Duration delay = backoff.next();
        LOG.debug("tunnel redial scheduled gateway={} delay_ms={}", address, delay.toMillis());
        group.next().schedule(this::dial, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Logs the tunnel's life; closes it when the gateway falls silent. */
    private final class LinkHandler extends ChannelInboundHandlerAdapter {

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent done) {
                if (done.isSuccess()) {
                    up = true;
                    upSince = System.nanoTime();
                    // HTTP/2 starts once TLS is up: nothing of it may be queued ahead of the handshake.
                    // The peer is the authenticated gateway, whose streams end by the thousand:
                    // no reset-flood limit (the gateway keeps its own against connectors).
                    ctx.pipeline().addLast("h2", Http2FrameCodecBuilder.forServer()
                            .initialSettings(TunnelProtocol.settings())
                            .decoderEnforceMaxRstFramesPerWindow(0, 0).build());
                    ctx.pipeline().addLast("streams", new Http2MultiplexHandler(streams));
                    ctx.pipeline().addLast("frames", new ConnectionFrames());
                    ctx.channel().writeAndFlush(
                            new DefaultHttp2WindowUpdateFrame(TunnelProtocol.CONNECTION_WINDOW_INCREMENT));
                    LOG.info("tunnel up gateway={}", address);
                } else {
                    // A revoked or expired connector is refused here, by the gateway's TLS alert.
                    LOG.warn("tunnel refused gateway={} error={}", address, rootMessage(done.cause()));
                }
                ctx.fireUserEventTriggered(evt);
                return;
            }
            if (evt instanceof IdleStateEvent) {
                LOG.warn("tunnel silent, closing gateway={}", address);
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (up) {
                LOG.info("tunnel down gateway={}", address);
                // Only a tunnel that lasted resets the delays: a refused one (TLS 1.3 refuses a
                // client certificate after the handshake) must not be redialled at full speed.
                if (System.nanoTime() - upSince > TimeUnit.SECONDS.toNanos(10)) {
                    backoff.reset();
                }
            }
            up = false;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof javax.net.ssl.SSLException || cause.getCause() instanceof javax.net.ssl.SSLException) {
                LOG.warn("tunnel refused gateway={} error={}", address, rootMessage(cause));
            } else {
                LOG.debug("tunnel failed gateway={} error={}", address, cause.toString());
            }
            ctx.close();
        }
    }

    /** The end of the tunnel's pipeline: connection-level frames (settings, pings, GOAWAY). */
    private final class ConnectionFrames extends ChannelInboundHandlerAdapter {

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2GoAwayFrame g) {
                LOG.info("gateway going away gateway={} error_code={}", address, g.errorCode());
            }
            ReferenceCountUtil.release(msg);
        }
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return String.valueOf(c.getMessage() == null ? c : c.getMessage());
    }
}
