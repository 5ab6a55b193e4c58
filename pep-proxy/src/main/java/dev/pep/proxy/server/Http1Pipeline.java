package dev.pep.proxy.server;

import dev.pep.proxy.http.StrictHttpRequestDecoder;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;

/** The handlers of an HTTP/1.1 partner connection, after TLS. */
final class Http1Pipeline {

    static final String DECODER = "http1-decoder";
    static final String ENCODER = "http1-encoder";

    private Http1Pipeline() {
    }

    static void install(ChannelPipeline p, GatewayContext gw) {
        p.addLast("idle", new IdleStateHandler(0, 0,
                gw.config.limits().idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
        p.addLast("idle-close", new IdleCloseHandler());
        p.addLast(IdleConnection.NAME, new IdleConnection(gw, false));
        p.addLast(DECODER, new StrictHttpRequestDecoder(gw.http1Limits));
        p.addLast(ENCODER, new HttpResponseEncoder());
        p.addLast("proxy", new ProxyHandler(gw, false));
    }
}
