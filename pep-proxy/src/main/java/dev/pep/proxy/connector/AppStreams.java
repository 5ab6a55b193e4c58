package dev.pep.proxy.connector;

import dev.pep.proxy.config.ConnectorConfig;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.ssl.SslContext;
import java.util.Map;
import java.util.Set;

/** Sets up each stream a gateway opens on a connector's tunnel. Shareable. */
final class AppStreams extends ChannelInitializer<Http2StreamChannel> {

    private final Map<String, ConnectorConfig.AppAddress> apps;
    private final Set<String> enrolled;
    private final Class<? extends SocketChannel> channelClass;
    private final SslContext appTls;

    AppStreams(Map<String, ConnectorConfig.AppAddress> apps, Set<String> enrolled,
            Class<? extends SocketChannel> channelClass, SslContext appTls) {
        this.apps = apps;
        this.enrolled = enrolled;
        this.channelClass = channelClass;
        this.appTls = appTls;
    }

    @Override
    public boolean isSharable() {
        return true;
    }

    @Override
    protected void initChannel(Http2StreamChannel ch) {
        ch.pipeline().addLast("app", new AppStreamHandler(apps, enrolled, channelClass, appTls));
        ch.pipeline().addLast("bytes", new StreamBytes());
    }
}
