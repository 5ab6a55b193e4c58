package dev.pep.proxy.upstream;

import dev.pep.proxy.route.Route;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;

/**
 * Opens one raw byte stream to an app for one session: the seam between the data plane and the
 * way bytes reach the app (a direct connection, or a stream of a connector's outbound tunnel).
 *
 * <p>The returned channel is connected (and past any TLS to the app) with auto-read off and no
 * handler of the caller's yet: the caller adds its handlers, then turns auto-read on. It carries
 * {@link io.netty.buffer.ByteBuf}s both ways; closing it ends the stream. It may live on another
 * event loop than {@code loop}, so its events must be handed to the caller's loop. The future
 * fails with {@link NoConnectorException} when no connector serves the app right now, and with
 * the connect error otherwise. Implementations are thread-safe.
 */
public interface AppDialer {

    /** Opens a stream to the route's app; {@code loop} is the caller's event loop. */
    Future<Channel> dial(EventLoop loop, Route route);
}
