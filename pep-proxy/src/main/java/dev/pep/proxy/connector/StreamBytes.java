package dev.pep.proxy.connector;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * Turns a tunnel stream into a byte pipe: DATA frames in become {@link ByteBuf}s, ByteBufs out
 * become DATA frames, and closing sends END_STREAM first. Bytes that arrive before the stream's
 * owner first asks to read are held, so an app that speaks first loses nothing while the owner
 * sets up its handlers. END_STREAM or RST_STREAM from the peer closes the channel after the bytes
 * before it are delivered; on a stream that carries half-close ({@link #halfClose}, TCP sessions)
 * END_STREAM is instead the peer's end of sending, told as a {@link ChannelInputShutdownEvent}
 * like a socket's FIN, and {@link #SHUTDOWN_OUTPUT} written ends our sending the same way. Bytes
 * are held until {@link #arm} and then the first read, so reads Netty starts on its own while the
 * stream is being set up deliver nothing. Runs on the stream's event loop.
 */
final class StreamBytes extends ChannelDuplexHandler {

    /** How long a close waits for the peer's END_STREAM before it resets the stream. */
    static final int CLOSE_WAIT_SECONDS = 10;

    /** Written to a stream: END_STREAM after the bytes before it; later bytes are dropped. */
    static final Object SHUTDOWN_OUTPUT = new Object();

    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private boolean halfClose;
    private boolean inputShutdown;
    private boolean reset;
    private boolean armed;
    private boolean reading;
    private boolean ended;
    private boolean endSent;
    private ChannelPromise pendingClose;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2DataFrame data) {
            boolean end = data.isEndStream();
            ByteBuf content = data.content().retain();
            data.release();
            if (content.isReadable()) {
                deliver(ctx, content);
            } else {
                content.release();
            }
            if (end) {
                ended = true;
                if (pendingClose != null) {
                    // Our close was waiting for the peer's END_STREAM: both sides are done, no reset.
                    releaseHeld();
                    ctx.close(pendingClose);
                    return;
                }
                closeIfDone(ctx);
            }
        } else if (msg instanceof Http2ResetFrame) {
            ended = true;
            endSent = true;
            reset = true;
            ReferenceCountUtil.release(msg);
            closeIfDone(ctx);
        } else if (msg instanceof ByteBuf) {
            ctx.fireChannelRead(msg);
        } else {
            // Trailers or other frames carry nothing for a byte pipe.
            ReferenceCountUtil.release(msg);
        }
    }

    /** From the next read on, bytes go to the stream's owner. */
    void arm() {
        armed = true;
    }

    /** The peer's END_STREAM ends only its sending; before {@link #arm}. */
    void halfClose() {
        halfClose = true;
    }

    /**
     * Ends our sending on a tunnel stream: END_STREAM once the bytes written before it are out.
     *
     * @return false when {@code ch} is not a tunnel stream
     */
    static boolean shutdownOutput(Channel ch) {
        if (ch.pipeline().get(StreamBytes.class) == null) {
            return false;
        }
        ch.writeAndFlush(SHUTDOWN_OUTPUT);
        return true;
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        if (armed && !reading) {
            reading = true;
            ByteBuf b;
            boolean any = false;
            while ((b = held.pollFirst()) != null) {
                any = true;
                ctx.fireChannelRead(b);
            }
            if (any) {
                ctx.fireChannelReadComplete();
            }
            closeIfDone(ctx);
        }
        ctx.read();
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg == SHUTDOWN_OUTPUT) {
            if (endSent || !ctx.channel().isActive()) {
                promise.trySuccess();
                return;
            }
            endSent = true;
            ctx.write(new DefaultHttp2DataFrame(true), promise);
        } else if (msg instanceof ByteBuf buf) {
            if (endSent) {
                buf.release();
                promise.setSuccess();
                return;
            }
            ctx.write(new DefaultHttp2DataFrame(buf, false), promise);
        } else {
            ctx.write(msg, promise);
        }
    }

    /**
     * Ends the stream gracefully: END_STREAM, then the close once the peer's END_STREAM is in, so
     * neither side resets a stream that ended normally (a peer counts resets as a flood). A peer
     * that does not answer within {@link #CLOSE_WAIT_SECONDS} gets a reset.
     */
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        boolean active = ctx.channel().isActive();
        ChannelFuture endWritten = null;
        if (active && !endSent) {
            endSent = true;
            endWritten = ctx.writeAndFlush(new DefaultHttp2DataFrame(true));
        }
        if (!active || ended) {
            ctx.close(promise);
            return;
        }
        if (pendingClose != null) {
            pendingClose.addListener(f -> promise.trySuccess());
            return;
        }
        pendingClose = promise;
        if (endWritten == null) {
            waitForPeer(ctx);
        } else {
            // The wait starts once END_STREAM is out: until then the stream's flow-control window
            // may still hold bytes, and a reset would drop them.
            endWritten.addListener(f -> waitForPeer(ctx));
        }
    }

    private void waitForPeer(ChannelHandlerContext ctx) {
        ctx.executor().schedule(() -> {
            if (ctx.channel().isActive()) {
                ctx.close(pendingClose);
            }
        }, CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseHeld();
        if (pendingClose != null) {
            pendingClose.trySuccess();
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        releaseHeld();
    }

    private void deliver(ChannelHandlerContext ctx, ByteBuf content) {
        if (reading) {
            ctx.fireChannelRead(content);
        } else {
            held.addLast(content);
        }
    }

    private void closeIfDone(ChannelHandlerContext ctx) {
        if (!ended || !reading || !held.isEmpty()) {
            return;
        }
        ctx.fireChannelReadComplete();
        if (halfClose && !reset) {
            // The peer is done sending; we may still send. Both END_STREAMs close the stream.
            if (!inputShutdown) {
                inputShutdown = true;
                ctx.fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
            }
            return;
        }
        // Through close() above: our END_STREAM goes out first, then the stream closes.
        ctx.channel().close();
    }

    private void releaseHeld() {
        ByteBuf b;
        while ((b = held.pollFirst()) != null) {
            b.release();
        }
    }
}
