package dev.pep.proxy.connector;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * Turns a tunnel stream into a byte pipe: DATA frames in become {@link ByteBuf}s, ByteBufs out
 * become DATA frames, and closing sends END_STREAM first. Bytes that arrive before the stream's
 * owner first asks to read are held, so an app that speaks first loses nothing while the owner
 * sets up its handlers. END_STREAM or RST_STREAM from the peer closes the channel after the bytes
 * before it are delivered. Bytes are held until {@link #arm} and then the first read, so reads
 * Netty starts on its own while the stream is being set up deliver nothing. Runs on the stream's
 * event loop.
 */
final class StreamBytes extends ChannelDuplexHandler {

    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private boolean armed;
    private boolean reading;
    private boolean ended;
    private boolean endSent;

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
                // LIMITATION(L-740): END_STREAM ends the whole stream; no half-closed TCP across the tunnel.
                ended = true;
                closeIfDone(ctx);
            }
        } else if (msg instanceof Http2ResetFrame) {
            ended = true;
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
        if (msg instanceof ByteBuf buf) {
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

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (!endSent && !ended && ctx.channel().isActive()) {
            endSent = true;
            ctx.writeAndFlush(new DefaultHttp2DataFrame(true));
        }
        ctx.close(promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        releaseHeld();
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
        if (ended && reading && held.isEmpty()) {
            ctx.fireChannelReadComplete();
            endSent = true;
            ctx.channel().close();
        }
    }

    private void releaseHeld() {
        ByteBuf b;
        while ((b = held.pollFirst()) != null) {
            b.release();
        }
    }
}
