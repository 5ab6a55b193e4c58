package dev.pep.proxy.connector;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;

/**
 * The first handler of a stream the gateway opens: waits for the connector's answer HEADERS and
 * completes the promise with them, or fails it with the connector's reason code; then gets out
 * of the way. Everything after the answer passes on untouched.
 */
final class StreamOpener extends ChannelInboundHandlerAdapter {

    private final Promise<Http2Headers> answer;

    StreamOpener(Promise<Http2Headers> answer) {
        this.answer = answer;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (answer.isDone()) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (msg instanceof Http2HeadersFrame h) {
            CharSequence status = h.headers().status();
            if (status != null && "200".contentEquals(status)) {
                ctx.pipeline().remove(this);
                answer.trySuccess(h.headers());
                return;
            }
            CharSequence reason = h.headers().get(TunnelProtocol.REASON);
            String code = reason == null ? "connector_refused" : reason.toString();
            answer.tryFailure(new StreamRefusedException(code, "connector answered " + status + " " + code));
            ctx.close();
        } else if (msg instanceof Http2ResetFrame) {
            answer.tryFailure(new StreamRefusedException("connector_reset", "connector reset the stream"));
            ctx.close();
        }
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        answer.tryFailure(new StreamRefusedException("connector_lost", "the tunnel closed before an answer"));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        answer.tryFailure(cause);
        ctx.close();
    }
}
