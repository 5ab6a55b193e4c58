package dev.pep.proxy.upstream;

import dev.pep.proxy.route.Route;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * Keep-alive connections to one app's upstream, owned by one event loop: every method runs on
 * that loop, so there is no locking. At most {@code maxConnections} are open, idle or in use.
 */
final class UpstreamPool {

    private static final long IDLE_SECONDS = 60;

    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final int maxConnections;
    private final ArrayDeque<Channel> idle = new ArrayDeque<>();
    private int open;

    UpstreamPool(EventLoop loop, Class<? extends SocketChannel> channelClass, Route route,
            SslContext clientTls) {
        this.loop = loop;
        this.maxConnections = route.settings().maxConnections();
        this.bootstrap = new Bootstrap().group(loop).channel(channelClass)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) route.settings().connectTimeout().toMillis())
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (route.tls()) {
                            ch.pipeline().addLast("tls", sslHandler(ch, clientTls, route));
                        }
                        ch.pipeline().addLast("codec", new HttpClientCodec(8192, 32 * 1024, 64 * 1024));
                        ch.pipeline().addLast("idle", new IdleStateHandler(0, 0, IDLE_SECONDS, TimeUnit.SECONDS));
                        ch.pipeline().addLast("upstream", new UpstreamHandler());
                    }
                })
                .remoteAddress(route.target().getHost(), route.port());
    }

    /** A connection bound to {@code listener}: an idle one if any is alive, else a new one. */
    Future<Channel> acquire(UpstreamListener listener) {
        Promise<Channel> promise = loop.newPromise();
        Channel ch;
        while ((ch = idle.pollFirst()) != null) {
            if (ch.isActive()) {
                bind(ch, listener);
                return promise.setSuccess(ch);
            }
        }
        if (open >= maxConnections) {
            return promise.setFailure(new UpstreamBusyException(maxConnections));
        }
        open++;
        ChannelFuture connect = bootstrap.connect();
        Channel fresh = connect.channel();
        fresh.closeFuture().addListener(f -> {
            open--;
            idle.remove(fresh);
        });
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            SslHandler tls = fresh.pipeline().get(SslHandler.class);
            if (tls == null) {
                bind(fresh, listener);
                promise.trySuccess(fresh);
                return;
            }
            tls.handshakeFuture().addListener(h -> {
                if (h.isSuccess()) {
                    bind(fresh, listener);
                    promise.trySuccess(fresh);
                } else {
                    promise.tryFailure(new UpstreamTlsException(h.cause()));
                    fresh.close();
                }
            });
        });
        return promise;
    }

    /** Returns a connection whose exchange ended cleanly; it is closed if it cannot be reused. */
    void release(Channel ch) {
        ch.pipeline().get(UpstreamHandler.class).listener(null);
        if (ch.isActive() && ch.eventLoop() == loop) {
            ch.config().setAutoRead(true);
            idle.addFirst(ch);
        } else {
            ch.close();
        }
    }

    private static void bind(Channel ch, UpstreamListener listener) {
        ch.pipeline().get(UpstreamHandler.class).listener(listener);
    }

    private static SslHandler sslHandler(SocketChannel ch, SslContext tls, Route route) {
        SslHandler h = tls.newHandler(ch.alloc(), route.target().getHost(), route.port());
        SSLEngine engine = h.engine();
        SSLParameters p = engine.getSSLParameters();
        // Verify that the certificate names the upstream host, not only that it chains to a CA.
        p.setEndpointIdentificationAlgorithm("HTTPS");
        engine.setSSLParameters(p);
        return h;
    }
}
