package dev.pep.proxy.upstream;

import dev.pep.proxy.route.Route;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.util.HashMap;
import java.util.Map;

/**
 * How HTTP exchanges reach apps. Direct upstreams: a pool per app per event loop, so an exchange
 * always uses a connection on its own loop and no lock is taken on the data path. Apps behind a
 * connector ({@code connector:NAME}): one tunnel stream per exchange from the connector dialer,
 * with the HTTP codec on the stream and every callback handed to the exchange's loop.
 */
public final class Upstreams {

    private static final String CONNECTOR_SCHEME = "connector";

    private final Class<? extends SocketChannel> channelClass;
    private final AppDialer connectors;
    private final UpstreamTls clientTls;
    private final FastThreadLocal<Map<String, UpstreamPool>> pools = new FastThreadLocal<>() {
        @Override
        protected Map<String, UpstreamPool> initialValue() {
            return new HashMap<>();
        }
    };

    /** Upstreams reached with that channel class, verifying TLS apps against {@code clientTls}. */
    public Upstreams(Class<? extends SocketChannel> channelClass, SslContext clientTls) {
        this(channelClass, clientTls, null);
    }

    /**
     * Upstreams as above, and apps behind connectors through {@code connectors}; null when no
     * connector can dial in (such apps then fail with {@link NoConnectorException}).
     */
    public Upstreams(Class<? extends SocketChannel> channelClass, SslContext clientTls, AppDialer connectors) {
        this(channelClass, UpstreamTls.of(clientTls), connectors);
    }

    /**
     * Upstreams as above, speaking TLS to each app with the context {@code clientTls} has for it
     * (its client certificate, if it has one).
     */
    public Upstreams(Class<? extends SocketChannel> channelClass, UpstreamTls clientTls, AppDialer connectors) {
        this.channelClass = channelClass;
        this.clientTls = clientTls;
        this.connectors = connectors;
    }

    /** Whether the route's app is reached through a connector's tunnel. */
    public static boolean viaConnector(Route route) {
        return CONNECTOR_SCHEME.equals(route.target().getScheme());
    }

    /** A connection to the route's upstream; must be called on {@code loop}. */
    public Future<Channel> acquire(EventLoop loop, Route route, UpstreamListener listener) {
        if (viaConnector(route)) {
            return tunnelled(loop, route, listener);
        }
        return pool(loop, route).acquire(listener);
    }

    /** Gives back a connection after a complete exchange; must be called on {@code loop}. */
    public void release(EventLoop loop, Route route, Channel ch) {
        if (viaConnector(route)) {
            // A tunnel stream carries one exchange; a new one costs a HEADERS frame, no handshake.
            // LIMITATION(L-742): the connector opens a new connection to the app for every exchange.
            ch.eventLoop().execute(() -> {
                // Unbound first: whatever the stream still carries is not for the next exchange.
                UpstreamHandler h = ch.pipeline().get(UpstreamHandler.class);
                if (h != null) {
                    h.listener(null);
                }
                ch.close();
            });
            return;
        }
        pool(loop, route).release(ch);
    }

    private Future<Channel> tunnelled(EventLoop loop, Route route, UpstreamListener listener) {
        Promise<Channel> promise = loop.newPromise();
        if (connectors == null) {
            return promise.setFailure(new NoConnectorException(route.name()));
        }
        connectors.dial(loop, route).addListener(f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(f.cause());
                return;
            }
            Channel stream = (Channel) f.getNow();
            stream.eventLoop().execute(() -> {
                stream.pipeline().addLast("codec", new HttpClientCodec(8192, 32 * 1024, 64 * 1024));
                UpstreamHandler handler = new UpstreamHandler();
                handler.listener(new LoopHandoff(loop, listener, stream));
                stream.pipeline().addLast("upstream", handler);
                if (!promise.trySuccess(stream)) {
                    stream.close();
                }
            });
        });
        return promise;
    }

    private UpstreamPool pool(EventLoop loop, Route route) {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("upstream pools are used on their own event loop only");
        }
        // Keyed by the route object's app and target, so a reloaded app gets a fresh pool.
        return pools.get().computeIfAbsent(route.name() + "|" + route.target(),
                k -> new UpstreamPool(loop, channelClass, route, clientTls.forApp(route.name())));
    }
}
