package dev.pep.proxy.connector;

import dev.pep.proxy.config.ConnectorConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.util.Map;
import java.util.Set;
import javax.net.ssl.SSLParameters;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connector's end of one stream the gateway opened: answers hello with the apps this
 * connector serves, and for {@code CONNECT app} checks the app is one of its own and one it was
 * enrolled for, connects to it, answers 200 and relays. Everything else is refused with a
 * reason code. Runs on the stream's event loop; the app connection shares it.
 */
final class AppStreamHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(AppStreamHandler.class);

    private final Map<String, ConnectorConfig.AppAddress> apps;
    private final Set<String> enrolled;
    private final Class<? extends SocketChannel> channelClass;
    private final SslContext appTls;
    private boolean started;

    AppStreamHandler(Map<String, ConnectorConfig.AppAddress> apps, Set<String> enrolled,
            Class<? extends SocketChannel> channelClass, SslContext appTls) {
        this.apps = apps;
        this.enrolled = enrolled;
        this.channelClass = channelClass;
        this.appTls = appTls;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (started || !(msg instanceof Http2HeadersFrame frame)) {
            ctx.fireChannelRead(msg);
            return;
        }
        started = true;
        Http2Headers h = frame.headers();
        ReferenceCountUtil.release(msg);
        if ("GET".contentEquals(h.method()) && TunnelProtocol.HELLO_PATH.contentEquals(h.path())) {
            Http2Headers answer = new DefaultHttp2Headers().status("200")
                    .set(TunnelProtocol.APPS, String.join(",", apps.keySet()));
            ctx.writeAndFlush(new DefaultHttp2HeadersFrame(answer, true));
            return;
        }
        if (!"CONNECT".contentEquals(h.method()) || h.authority() == null) {
            refuse(ctx, "400", "bad_request");
            return;
        }
        String app = h.authority().toString();
        ConnectorConfig.AppAddress address = apps.get(app);
        if (address == null || !enrolled.contains(app)) {
            // The gateway routes only enrolled apps it was told of; asking for another is refused.
            String reason = address == null ? "app_not_served" : "app_not_enrolled";
            LOG.warn("stream refused app={} reason={} session={}", app, reason, h.get(TunnelProtocol.SESSION));
            refuse(ctx, "403", reason);
            return;
        }
        connect(ctx, app, address, halfClose(h, address));
    }

    /** Whether the session's stream carries half-close: the gateway asked, and the app allows it. */
    static boolean halfClose(Http2Headers h, ConnectorConfig.AppAddress address) {
        // LIMITATION(L-740): a TLS app's stream is not half-closed; END_STREAM ends it both ways.
        return "1".contentEquals(String.valueOf(h.get(TunnelProtocol.HALF_CLOSE))) && !address.tls();
    }

    private void connect(ChannelHandlerContext ctx, String app, ConnectorConfig.AppAddress address,
            boolean halfClose) {
        Channel stream = ctx.channel();
        int colon = address.address().lastIndexOf(':');
        String host = address.address().substring(0, colon);
        int port = Integer.parseInt(address.address().substring(colon + 1));
        ChannelFuture connect = new Bootstrap().group(stream.eventLoop()).channel(channelClass)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.TCP_NODELAY, true)
                // A half-closing session sees the app's FIN as its end of sending, not a close.
                .option(ChannelOption.ALLOW_HALF_CLOSURE, halfClose)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (address.tls()) {
                            SslHandler tls = appTls.newHandler(ch.alloc(), host, port);
                            SSLParameters p = tls.engine().getSSLParameters();
                            p.setEndpointIdentificationAlgorithm("HTTPS");
                            tls.engine().setSSLParameters(p);
                            ch.pipeline().addLast("tls", tls);
                        }
                    }
                }).connect(host, port);
        Channel appChannel = connect.channel();
        stream.closeFuture().addListener(f -> appChannel.close());
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                LOG.debug("app unreachable app={} address={} error={}", app, address.address(), f.cause().toString());
                refuse(ctx, "502", "app_unreachable");
                return;
            }
            SslHandler tls = appChannel.pipeline().get(SslHandler.class);
            if (tls == null) {
                accepted(ctx, appChannel, halfClose);
            } else {
                tls.handshakeFuture().addListener((Future<Channel> h) -> {
                    if (h.isSuccess()) {
                        accepted(ctx, appChannel, false);
                    } else {
                        LOG.warn("app tls failed app={} error={}", app, String.valueOf(h.cause()));
                        refuse(ctx, "502", "app_tls_failed");
                        appChannel.close();
                    }
                });
            }
        });
    }

    private void accepted(ChannelHandlerContext ctx, Channel appChannel, boolean halfClose) {
        Channel stream = ctx.channel();
        if (!stream.isActive()) {
            appChannel.close();
            return;
        }
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().status("200"), false));
        StreamBytes bytes = stream.pipeline().get(StreamBytes.class);
        if (halfClose) {
            bytes.halfClose();
        }
        bytes.arm();
        Relay.join(stream, appChannel, halfClose);
    }

    private static void refuse(ChannelHandlerContext ctx, String status, String reason) {
        Http2Headers answer = new DefaultHttp2Headers().status(status).set(TunnelProtocol.REASON, reason);
        ctx.writeAndFlush(new DefaultHttp2HeadersFrame(answer, true));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("stream failed error={}", cause.toString());
        ctx.close();
    }
}
