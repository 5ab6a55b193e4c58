package dev.pep.proxy.upstream;

import io.netty.channel.Channel;
import io.netty.channel.EventLoop;

/**
 * An {@link UpstreamListener} for an upstream channel on another event loop than its exchange:
 * each callback runs on the exchange's loop, in order. When the stream closes because its whole
 * tunnel went, the exchange is told so ({@link UpstreamLostException}), not just "closed".
 */
final class LoopHandoff implements UpstreamListener {

    private final EventLoop loop;
    private final UpstreamListener target;
    private final Channel stream;

    LoopHandoff(EventLoop loop, UpstreamListener target, Channel stream) {
        this.loop = loop;
        this.target = target;
        this.stream = stream;
    }

    @Override
    public void onResponse(Object msg) {
        loop.execute(() -> target.onResponse(msg));
    }

    @Override
    public void onUpstreamReadComplete() {
        loop.execute(target::onUpstreamReadComplete);
    }

    @Override
    public void onUpstreamClosed(Throwable cause) {
        Channel tunnel = stream.parent();
        Throwable why = cause == null && tunnel != null && !tunnel.isActive()
                ? new UpstreamLostException("the connector's tunnel closed") : cause;
        loop.execute(() -> target.onUpstreamClosed(why));
    }

    @Override
    public void onUpstreamWritability(boolean writable) {
        loop.execute(() -> target.onUpstreamWritability(writable));
    }
}
