package dev.pep.proxy.upstream;

import dev.pep.proxy.route.Route;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import java.util.HashMap;
import java.util.Map;

/**
 * The connector for direct upstreams: a pool per app per event loop, so an exchange always uses
 * a connection on its own loop and no lock is taken on the data path.
 */
public final class Upstreams {

    private final Class<? extends SocketChannel> channelClass;
    private final SslContext clientTls;
    private final FastThreadLocal<Map<String, UpstreamPool>> pools = new FastThreadLocal<>() {
        @Override
        protected Map<String, UpstreamPool> initialValue() {
            return new HashMap<>();
        }
    };

    /** Upstreams reached with that channel class, verifying TLS apps against {@code clientTls}. */
    public Upstreams(Class<? extends SocketChannel> channelClass, SslContext clientTls) {
        this.channelClass = channelClass;
        this.clientTls = clientTls;
    }

    /** A connection to the route's upstream; must be called on {@code loop}. */
    public Future<Channel> acquire(EventLoop loop, Route route, UpstreamListener listener) {
        return pool(loop, route).acquire(listener);
    }

    /** Gives back a connection after a complete exchange; must be called on {@code loop}. */
    public void release(EventLoop loop, Route route, Channel ch) {
        pool(loop, route).release(ch);
    }

    private UpstreamPool pool(EventLoop loop, Route route) {
        if (!loop.inEventLoop()) {
            throw new IllegalStateException("upstream pools are used on their own event loop only");
        }
        // Keyed by the route object's app and target, so a reloaded app gets a fresh pool.
        return pools.get().computeIfAbsent(route.name() + "|" + route.target(),
                k -> new UpstreamPool(loop, channelClass, route, clientTls));
    }
}
