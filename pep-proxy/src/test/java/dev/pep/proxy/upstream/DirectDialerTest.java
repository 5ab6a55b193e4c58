package dev.pep.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.proxy.config.AppConfig;
import dev.pep.proxy.route.Route;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.netty.util.concurrent.Future;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The direct dialer against real loopback servers: plain, TLS that speaks first, bad names. */
class DirectDialerTest {

    private static final String BANNER = "220 app ready\r\n";

    static EventLoopGroup group;
    static SelfSignedCertificate localhost;
    static SelfSignedCertificate otherName;
    static Channel bannerServer;
    static AtomicBoolean bannerSent = new AtomicBoolean();

    @BeforeAll
    static void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        localhost = new SelfSignedCertificate("localhost");
        otherName = new SelfSignedCertificate("elsewhere.example");
        SslContext server = SslContextBuilder.forServer(localhost.certificate(), localhost.privateKey())
                .sslProvider(SslProvider.JDK).build();
        bannerServer = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        SslHandler tls = server.newHandler(ch.alloc());
                        ch.pipeline().addLast(tls, new ChannelInboundHandlerAdapter() {
                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                // The client refused the certificate: expected in two tests.
                                ctx.close();
                            }
                        });
                        // A server-first protocol: the banner goes out right after the handshake.
                        tls.handshakeFuture().addListener(f -> ch.writeAndFlush(Unpooled.copiedBuffer(BANNER,
                                StandardCharsets.US_ASCII)).addListener(w -> bannerSent.set(true)));
                    }
                }).bind("127.0.0.1", 0).sync().channel();
    }

    @AfterAll
    static void stop() {
        bannerServer.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void dial_connectorUpstream_failsWithNoConnector() {
        Future<Channel> f = dialer(localhost).dial(group.next(), route("connector:depot-1"));

        assertThat(f.awaitUninterruptibly(5, TimeUnit.SECONDS)).isTrue();
        assertThat(f.cause()).isInstanceOf(NoConnectorException.class).hasMessageContaining("app");
    }

    @Test
    void dial_httpUpstream_refused() {
        Future<Channel> f = dialer(localhost).dial(group.next(), route("https://localhost:443"));

        assertThat(f.awaitUninterruptibly(5, TimeUnit.SECONDS)).isTrue();
        assertThat(f.cause()).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void dial_nobodyListening_failsWithTheConnectError() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }

        Future<Channel> f = dialer(localhost).dial(group.next(), route("tcp://127.0.0.1:" + port));

        assertThat(f.awaitUninterruptibly(10, TimeUnit.SECONDS)).isTrue();
        assertThat(f.cause()).isInstanceOf(ConnectException.class);
    }

    @Test
    void dial_tlsApp_speaksFirst_itsBannerWaitsUntilTheCallerReads() throws Exception {
        Future<Channel> f = dialer(localhost).dial(group.next(), route("tls://localhost:" + port()));
        assertThat(f.awaitUninterruptibly(10, TimeUnit.SECONDS)).isTrue();
        assertThat(f.cause()).isNull();
        Channel app = f.getNow();
        assertThat(app.config().isAutoRead()).as("handed over with reads off").isFalse();
        // Sent while nobody on this side listens: it is held (or left in the socket), never lost.
        await().atMost(Duration.ofSeconds(5)).untilTrue(bannerSent);
        StringBuilder got = new StringBuilder();

        app.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                got.append(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
                ((ByteBuf) msg).release();
            }
        });
        app.config().setAutoRead(true);

        await().atMost(Duration.ofSeconds(5)).until(() -> got.toString().equals(BANNER));
        app.close().sync();
    }

    @Test
    void dial_tlsApp_untrustedCertificate_failsWithUpstreamTls() throws Exception {
        Future<Channel> f = dialer(otherName).dial(group.next(), route("tls://localhost:" + port()));

        assertThat(f.awaitUninterruptibly(10, TimeUnit.SECONDS)).isTrue();
        assertThat(f.cause()).isInstanceOf(UpstreamTlsException.class);
    }

    @Test
    void dial_tlsApp_trustedCertificateForAnotherName_failsWithUpstreamTls() throws Exception {
        // The certificate names localhost, not the address dialed: a trusted chain is not enough.
        Future<Channel> f = dialer(localhost).dial(group.next(), route("tls://127.0.0.1:" + port()));

        assertThat(f.awaitUninterruptibly(10, TimeUnit.SECONDS)).isTrue();
        assertThat(f.cause()).isInstanceOf(UpstreamTlsException.class);
    }

    /** A dialer trusting {@code trusted}'s certificate only. */
    private static DirectDialer dialer(SelfSignedCertificate trusted) {
        try {
            return new DirectDialer(NioSocketChannel.class, SslContextBuilder.forClient()
                    .sslProvider(SslProvider.JDK).trustManager(trusted.cert()).build());
        } catch (javax.net.ssl.SSLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int port() {
        return ((InetSocketAddress) bannerServer.localAddress()).getPort();
    }

    private static Route route(String upstream) {
        App app = new App("app", List.of("app.example"), AppProtocol.TCP, URI.create(upstream), Map.of(), false,
                Optional.empty());
        return new Route(app, AppConfig.defaults(app.hosts(), upstream), URI.create(upstream));
    }
}
