package dev.pep.proxy.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.timeout.IdleStateEvent;
import java.util.function.BooleanSupplier;

/**
 * Closes a connection on which nothing moved for the idle timeout. On HTTP/2 a connection with
 * streams still open is left alone (each stream has its own timeouts); closing it sends GOAWAY.
 */
final class IdleCloseHandler extends ChannelInboundHandlerAdapter {

    private final BooleanSupplier streamsOpen;

    /** For HTTP/1.1: any idle period closes. */
    IdleCloseHandler() {
        this(() -> false);
    }

    /** For HTTP/2: an idle period closes only when {@code streamsOpen} says none is. */
    IdleCloseHandler(BooleanSupplier streamsOpen) {
        this.streamsOpen = streamsOpen;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent) {
            if (!streamsOpen.getAsBoolean()) {
                ctx.close();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }
}
