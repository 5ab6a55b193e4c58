package dev.pep.proxy.upstream;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Holds what a dialed stream delivers before its caller is ready: the app's first bytes can
 * arrive with the last TLS handshake record, before the caller has added its handlers. The first
 * read the caller asks for (turning auto-read on) hands them on in order, then this handler
 * leaves the pipeline. Used on the stream's event loop only.
 */
final class HeldReads extends ChannelDuplexHandler {

    static final String NAME = "held-reads";

    private final ArrayDeque<Object> held = new ArrayDeque<>();
    private boolean inactive;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        held.add(msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        // Nothing to hand on yet.
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        held.add(new Event(evt));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // Before the caller takes over (a failed handshake fails the dial instead): held, not logged.
        held.add(new Failure(cause));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        inactive = true;
    }

    @Override
    public void read(ChannelHandlerContext ctx) {
        List<Object> out = new ArrayList<>(held);
        held.clear();
        boolean any = false;
        for (Object m : out) {
            if (m instanceof Event e) {
                ctx.fireUserEventTriggered(e.evt());
            } else if (m instanceof Failure f) {
                ctx.fireExceptionCaught(f.cause());
            } else {
                any = true;
                ctx.fireChannelRead(m);
            }
        }
        if (any) {
            ctx.fireChannelReadComplete();
        }
        if (inactive) {
            ctx.fireChannelInactive();
        }
        ctx.pipeline().remove(this);
        if (!inactive) {
            ctx.channel().read();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        Object m;
        while ((m = held.poll()) != null) {
            ReferenceCountUtil.release(m);
        }
    }

    /** A user event held in order with the bytes. */
    private record Event(Object evt) {
    }

    /** A failure held in order with the bytes. */
    private record Failure(Throwable cause) {
    }
}
