package dev.pep.proxy.upstream;

import dev.pep.proxy.route.Route;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.Locale;
import java.util.Objects;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * Dials an app's {@code tcp://host:port} or {@code tls://host:port} upstream directly, on the
 * caller's event loop. A {@code tls://} app's certificate must chain to a CA the client context
 * trusts and name the upstream host, as for {@code https://} upstreams. A {@code connector:}
 * upstream fails with {@link NoConnectorException}: this dialer has no tunnel. Thread-safe.
 */
public final class DirectDialer implements AppDialer {

    /** The handler name of the TLS handler on a {@code tls://} stream. */
    private static final String TLS = "app-tls";

    private final Class<? extends SocketChannel> channelClass;
    private final UpstreamTls clientTls;

    /** A dialer opening {@code channelClass} sockets, verifying TLS apps against {@code clientTls}. */
    public DirectDialer(Class<? extends SocketChannel> channelClass, SslContext clientTls) {
        this(channelClass, UpstreamTls.of(clientTls));
    }

    /**
     * A dialer opening {@code channelClass} sockets, speaking TLS to each app with the context
     * {@code clientTls} has for it (its client certificate, if it has one).
     */
    public DirectDialer(Class<? extends SocketChannel> channelClass, UpstreamTls clientTls) {
        this.channelClass = Objects.requireNonNull(channelClass, "channelClass");
        this.clientTls = Objects.requireNonNull(clientTls, "clientTls");
    }

    @Override
    public Future<Channel> dial(EventLoop loop, Route route) {
        Promise<Channel> promise = loop.newPromise();
        String scheme = String.valueOf(route.target().getScheme()).toLowerCase(Locale.ROOT);
        if ("connector".equals(scheme)) {
            return promise.setFailure(new NoConnectorException(route.name()));
        }
        if (!"tcp".equals(scheme) && !"tls".equals(scheme)) {
            return promise.setFailure(new IllegalArgumentException(
                    "app " + route.name() + " has no stream upstream: " + route.target()));
        }
        if (route.target().getHost() == null || route.target().getPort() <= 0) {
            return promise.setFailure(new IllegalArgumentException(
                    "app " + route.name() + " upstream needs a host and a port: " + route.target()));
        }
        boolean tls = "tls".equals(scheme);
        ChannelFuture connect = bootstrap(loop, route, tls).connect();
        Channel ch = connect.channel();
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
            } else if (!tls) {
                promise.trySuccess(ch);
            } else {
                ch.pipeline().get(SslHandler.class).handshakeFuture().addListener(h -> {
                    if (h.isSuccess()) {
                        promise.trySuccess(ch);
                    } else {
                        promise.tryFailure(new UpstreamTlsException(h.cause()));
                        ch.close();
                    }
                });
            }
        });
        return promise;
    }

    private Bootstrap bootstrap(EventLoop loop, Route route, boolean tls) {
        String host = route.target().getHost();
        int port = route.target().getPort();
        return new Bootstrap().group(loop).channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.AUTO_READ, false)
                // The stream is half-closed one way at a time; the splice decides when to close.
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) route.settings().connectTimeout().toMillis())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls) {
                            ch.pipeline().addLast(TLS, sslHandler(ch, route, host, port));
                        }
                        // What TLS decodes before the caller's handler is in place waits here.
                        ch.pipeline().addLast(HeldReads.NAME, new HeldReads());
                    }
                })
                .remoteAddress(host, port);
    }

    private SslHandler sslHandler(SocketChannel ch, Route route, String host, int port) {
        SslHandler h = clientTls.forApp(route.name()).newHandler(ch.alloc(), host, port);
        SSLEngine engine = h.engine();
        SSLParameters p = engine.getSSLParameters();
        // Verify that the certificate names the upstream host, not only that it chains to a CA.
        p.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(p);
        return h;
    }
}
