package dev.pep.proxy.connector;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.ReferenceCountUtil;

/**
 * Relays what one channel reads to another on the same event loop, reading no more while the
 * other cannot take writes (its socket buffer, or its stream's flow-control window, is full);
 * when either side ends, the other is flushed and closed. A half-closing relay (a TCP session)
 * carries one side's end of sending to the other instead (a FIN becomes END_STREAM and the other
 * way round), and the channels close once both directions have ended.
 */
final class Relay extends ChannelInboundHandlerAdapter {

    private final Channel peer;
    private final boolean halfClose;

    Relay(Channel peer, boolean halfClose) {
        this.peer = peer;
        this.halfClose = halfClose;
    }

    /** Joins two channels with a relay each way and starts reading both. */
    static void join(Channel a, Channel b, boolean halfClose) {
        a.pipeline().addLast("relay", new Relay(b, halfClose));
        b.pipeline().addLast("relay", new Relay(a, halfClose));
        a.config().setAutoRead(b.isWritable());
        b.config().setAutoRead(a.isWritable());
        a.read();
        b.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!peer.isActive()) {
            ReferenceCountUtil.release(msg);
            return;
        }
        peer.write(msg);
        if (!peer.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        peer.flush();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        peer.config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (halfClose && evt instanceof ChannelInputShutdownEvent) {
            // After the reads in progress: this side is done sending, so the other side's output
            // ends once what was relayed to it is written.
            ctx.executor().execute(() -> shutdownOutput(peer));
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (peer.isActive()) {
            peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
        peer.close();
    }

    /** Ends a channel's output after its pending writes: END_STREAM on a stream, FIN on a socket. */
    private static void shutdownOutput(Channel ch) {
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> {
            if (!written.isSuccess() || !ch.isActive() || StreamBytes.shutdownOutput(ch)) {
                return;
            }
            if (ch instanceof DuplexChannel duplex) {
                if (duplex.isInputShutdown()) {
                    // Both directions have ended: nothing more to relay.
                    ch.close();
                } else {
                    duplex.shutdownOutput();
                }
            }
        });
    }
}
