package dev.pep.proxy.server;

import dev.pep.proxy.connector.Tunnel;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays bytes both ways between a partner's decrypted TLS stream and an app's stream, once the
 * session was allowed. Backpressure both ways (a side that cannot keep up stops the other side's
 * reads), half-close both ways (a side that finished sending has the other side's output shut
 * down, so replies still flow), an idle limit, a maximum duration, and one ending path that
 * closes both sides and reports once why.
 *
 * <p>Threading: all state lives on the client channel's event loop. The app's stream may live on
 * another loop (a tunnel); its events are handed to the client's loop, and the bytes in transit
 * between the loops are bounded, so a fast app cannot fill the client loop's task queue.
 */
final class TcpRelay {

    /** The name of the relay's handler, on both channels. */
    static final String NAME = "tcp-relay";
    static final String IDLE = "tcp-idle";
    /** Bytes read from the app and not yet written to the client, above which app reads stop. */
    static final long MAX_IN_TRANSIT = 1024 * 1024;

    private static final Logger LOG = LoggerFactory.getLogger(TcpRelay.class);

    /** Told once, on the client's loop, that the relay ended and why. */
    interface Listener {
        /**
         * The relay ended: both sides are being closed.
         *
         * @param reason {@code closed} (both sides finished), {@code client_closed},
         *     {@code app_closed}, {@code idle_timeout}, {@code max_duration}, {@code client_error},
         *     {@code app_error}, {@code upstream_tls_failed} (the app's TLS refused the
         *     gateway), or the reason handed to {@link #end}
         * @param toApp bytes relayed from the client to the app
         * @param toClient bytes relayed from the app to the client
         */
        void ended(String reason, long toApp, long toClient);
    }

    private final Channel client;
    private final Channel app;
    private final EventLoop loop;
    private final Listener listener;
    private final AtomicLong inTransit = new AtomicLong();
    private ChannelHandlerContext clientCtx;
    private ScheduledFuture<?> maxTimer;
    private long toApp;
    private long toClient;
    private boolean clientDone;
    private boolean appDone;
    private boolean ended;

    TcpRelay(Channel client, Channel app, Listener listener) {
        this.client = client;
        this.app = app;
        this.loop = client.eventLoop();
        this.listener = listener;
    }

    /**
     * Puts the relay's handlers on both channels and starts reading both; on the client's loop.
     * The client's pipeline gets the idle limit and the relay at its end.
     */
    void start(Duration idleTimeout, Duration maxDuration) {
        client.pipeline().addLast(IDLE, new IdleStateHandler(0, 0, idleTimeout.toMillis(),
                TimeUnit.MILLISECONDS));
        client.pipeline().addLast(NAME, new ClientSide());
        app.pipeline().addLast(NAME, new AppSide());
        maxTimer = loop.schedule(() -> end("max_duration"), maxDuration.toMillis(),
                TimeUnit.MILLISECONDS);
        // Always a task later: a TLS failure reported as the app's stream closes is told first.
        app.closeFuture().addListener(f -> later(this::appClosed));
        app.config().setAutoRead(true);
        client.config().setAutoRead(app.isWritable());
    }

    /** Bytes relayed from the client to the app so far. */
    long toApp() {
        return toApp;
    }

    /** Bytes relayed from the app to the client so far. */
    long toClient() {
        return toClient;
    }

    /**
     * The one ending path: closes both sides (what was already relayed to the client is flushed
     * first) and tells the listener once. Any thread; a second call does nothing.
     */
    void end(String reason) {
        onLoop(() -> endNow(reason));
    }

    private void endNow(String reason) {
        if (ended) {
            return;
        }
        ended = true;
        if (maxTimer != null) {
            maxTimer.cancel(false);
        }
        // First: the client's close (which may complete at once) is recorded with this reason.
        listener.ended(reason, toApp, toClient);
        app.close();
        if (client.isActive()) {
            client.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    // ---- client to app -------------------------------------------------------------------

    private void fromClient(Object msg) {
        if (ended || clientDone || !(msg instanceof ByteBuf buf)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        toApp += buf.readableBytes();
        app.write(buf, app.voidPromise());
        if (!app.isWritable()) {
            // The app drains slowly: stop reading the client until it catches up.
            client.config().setAutoRead(false);
        }
    }

    /** The client finished sending (close_notify or FIN): the app's input ends too. */
    private void clientFinished() {
        if (ended || clientDone) {
            return;
        }
        clientDone = true;
        shutdownOutput(app);
        if (appDone) {
            endNow("closed");
        }
    }

    // ---- app to client -------------------------------------------------------------------

    private void fromApp(ByteBuf buf) {
        inTransit.addAndGet(-buf.readableBytes());
        if (ended || appDone) {
            buf.release();
            return;
        }
        toClient += buf.readableBytes();
        clientCtx.write(buf, clientCtx.voidPromise());
        if (!client.isWritable()) {
            app.config().setAutoRead(false);
        }
    }

    private void appReadComplete() {
        if (!ended) {
            clientCtx.flush();
            appReads();
        }
    }

    /** The app finished sending: the client's input ends too, with a close_notify. */
    private void appFinished() {
        if (ended || appDone) {
            return;
        }
        if (waitForTransit(this::appFinished)) {
            return;
        }
        appDone = true;
        shutdownOutput(client);
        if (clientDone) {
            endNow("closed");
        }
    }

    private void appClosed() {
        if (!ended && waitForTransit(this::appClosed)) {
            return;
        }
        endNow(clientDone && appDone ? "closed" : "app_closed");
    }

    /**
     * Whether bytes the app sent before its end are still on their way to this loop (an app on
     * another loop: a tunnel stream); then {@code then} runs again shortly, so the end never
     * overtakes them.
     */
    private boolean waitForTransit(Runnable then) {
        if (inTransit.get() <= 0) {
            return false;
        }
        loop.schedule(then, 1, TimeUnit.MILLISECONDS);
        return true;
    }

    /** App reads go on while the client can take more and little is in transit. */
    private void appReads() {
        if (!ended && !appDone) {
            app.config().setAutoRead(client.isWritable() && inTransit.get() < MAX_IN_TRANSIT);
        }
    }

    // ---- helpers -------------------------------------------------------------------------

    /**
     * Half-closes a side once everything relayed to it is written (shutting the output down
     * fails pending writes): its TLS (if any) sends close_notify, then its socket's output shuts.
     */
    private static void shutdownOutput(Channel ch) {
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> {
            SslHandler tls = ch.pipeline().get(SslHandler.class);
            if (!written.isSuccess()) {
                return;
            }
            if (tls != null) {
                tls.closeOutbound().addListener(f -> shutdownSocket(ch));
            } else {
                shutdownSocket(ch);
            }
        });
    }

    private static void shutdownSocket(Channel ch) {
        if (!ch.isActive()) {
            return;
        }
        if (ch instanceof DuplexChannel duplex) {
            duplex.shutdownOutput();
        } else {
            // A connector's tunnel stream: END_STREAM, which the connector turns into a FIN.
            Tunnel.shutdownOutput(ch);
        }
    }

    private void later(Runnable task) {
        try {
            loop.execute(task);
        } catch (RejectedExecutionException e) {
            // The client's loop is shutting down: the gateway is stopping.
        }
    }

    /** Whether a failure is the app's TLS refusing the gateway (in TLS 1.3, after the handshake). */
    private static boolean tlsFailure(Throwable cause) {
        return cause instanceof SSLException || cause != null && cause.getCause() instanceof SSLException;
    }

    private void onLoop(Runnable task) {
        if (loop.inEventLoop()) {
            task.run();
            return;
        }
        loop.execute(task);
    }

    private static boolean finished(Object evt) {
        return evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent;
    }

    /** On the client's pipeline, after the session handler: the client's side of the relay. */
    private final class ClientSide extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            clientCtx = ctx;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            fromClient(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (!ended) {
                app.flush();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            appReads();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent) {
                endNow("idle_timeout");
            } else if (finished(evt)) {
                // After the reads in progress: TLS may hand on the last bytes after the event.
                loop.execute(TcpRelay.this::clientFinished);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            endNow(clientDone && appDone ? "closed" : "client_closed");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("tcp client side failed channel={} error={}", client.id(), cause.toString());
            endNow("client_error");
        }
    }

    /** On the app's stream, on whatever loop it lives: hands everything to the client's loop. */
    private final class AppSide extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf buf)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (inTransit.addAndGet(buf.readableBytes()) >= MAX_IN_TRANSIT) {
                app.config().setAutoRead(false);
            }
            try {
                onLoop(() -> fromApp(buf));
            } catch (RejectedExecutionException e) {
                buf.release();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            handOver(TcpRelay.this::appReadComplete);
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            handOver(() -> {
                if (!ended && !clientDone) {
                    client.config().setAutoRead(app.isWritable());
                }
            });
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslCloseCompletionEvent close && !close.isSuccess()) {
                String reason = tlsFailure(close.cause()) ? "upstream_tls_failed" : "app_error";
                handOver(() -> endNow(reason));
            } else if (evt instanceof SslCloseCompletionEvent) {
                // After the reads in progress: TLS may hand on the last bytes after the event.
                handOver(() -> loop.execute(TcpRelay.this::appFinished));
            } else if (finished(evt)) {
                // A FIN, or a tunnel stream's END_STREAM: after every byte before it.
                handOver(TcpRelay.this::appFinished);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("tcp app side failed channel={} error={}", client.id(), cause.toString());
            // In TLS 1.3 an app refusing the gateway's client certificate does so after the
            // gateway's handshake is done: its alert is the first thing the relay reads.
            String reason = tlsFailure(cause) ? "upstream_tls_failed" : "app_error";
            handOver(() -> endNow(reason));
        }

        private void handOver(Runnable task) {
            try {
                onLoop(task);
            } catch (RejectedExecutionException e) {
                // The client's loop is shutting down: the gateway is stopping.
                app.close();
            }
        }
    }
}
