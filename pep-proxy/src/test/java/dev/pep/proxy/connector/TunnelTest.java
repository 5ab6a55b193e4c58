package dev.pep.proxy.connector;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.AuditEvent;
import dev.pep.proxy.config.AppConfig;
import dev.pep.proxy.config.ConnectorConfig;
import dev.pep.proxy.route.Route;
import dev.pep.proxy.upstream.NoConnectorException;
import dev.pep.telemetry.audit.AuditEvents;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tunnel in one JVM, over real loopback sockets: the gateway's connector listener and
 * registry, a real {@link ConnectorAgent} that enrols with a token, and plain socket apps.
 */
class TunnelTest {

    private static final int FIREHOSE_BYTES = 8 << 20;

    @TempDir
    Path dir;

    private final List<AuditEvent> audit = new CopyOnWriteArrayList<>();
    private final AtomicInteger appConnections = new AtomicInteger();
    private EventLoopGroup group;
    private ConnectorListener listener;
    private ConnectorRegistry registry;
    private ConnectorAgent agent;
    private ServerSocket firehose;
    private ServerSocket echo;

    @BeforeEach
    void start() throws Exception {
        group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
        Path state = dir.resolve("gateway");
        GatewaySide gateway = GatewaySide.create(state, audit, new SimpleMeterRegistry());
        EnrolmentStore store = gateway.store();
        registry = gateway.registry();
        listener = ConnectorListener.start(group, group, NioServerSocketChannel.class, "127.0.0.1", 0, gateway.ca(),
                registry, gateway.clock());
        firehose = app(out -> out.write(new byte[FIREHOSE_BYTES]));
        echo = app(null);
        String token = store.createToken("depot-1", List.of("firehose", "echo"), Duration.ofMinutes(5), null,
                "test");
        Files.writeString(dir.resolve("token"), token);
        agent = ConnectorAgent.start(new ConnectorConfig("depot-1",
                List.of(new ConnectorConfig.GatewayAddress("127.0.0.1:" + listener.port())),
                state.resolve("ca.pem").toString(), "token", "connector",
                Map.of("firehose", new ConnectorConfig.AppAddress("127.0.0.1:" + firehose.getLocalPort(), false),
                        "echo", new ConnectorConfig.AppAddress("127.0.0.1:" + echo.getLocalPort(), false)),
                dir));
        await().atMost(Duration.ofSeconds(20)).until(() -> registry.health().stream()
                .anyMatch(h -> Boolean.TRUE.equals(h.get("connected"))));
    }

    @AfterEach
    void stop() throws Exception {
        agent.close();
        listener.close();
        registry.closeAll();
        firehose.close();
        echo.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    @Test
    void stalledStream_holdsBackOnlyItself() throws Exception {
        Channel stalled = dial("firehose");
        // Nobody reads the stalled stream: its window fills and the connector stops reading that app.
        AtomicLong stalledBytes = count(stalled);
        Thread.sleep(300);

        Channel flowing = dial("firehose");
        AtomicLong flowingBytes = count(flowing);
        flowing.config().setAutoRead(true);

        await().atMost(Duration.ofSeconds(30)).until(() -> flowingBytes.get() == FIREHOSE_BYTES);
        assertThat(stalledBytes.get()).isZero();
        stalled.config().setAutoRead(true);
        await().atMost(Duration.ofSeconds(30)).until(() -> stalledBytes.get() == FIREHOSE_BYTES);
    }

    @Test
    void stream_relaysBothWays_andEndsWhenTheAppCloses() throws Exception {
        Channel stream = dial("echo");
        AtomicLong received = count(stream);
        stream.config().setAutoRead(true);

        stream.writeAndFlush(Unpooled.wrappedBuffer(new byte[100_000])).sync();

        await().atMost(Duration.ofSeconds(10)).until(() -> received.get() == 100_000);
        stream.close().sync();
        assertThat(appConnections.get()).isEqualTo(1);
    }

    @Test
    void manySessionsEndingOneAfterAnother_endWithoutResets_andTheTunnelStaysUp() throws Exception {
        // Peers count RST_STREAM frames as a flood (Netty's default: 200 in 30 s); streams that end
        // normally must end with END_STREAM both ways, or the tunnel falls after a few hundred.
        for (int i = 0; i < 300; i++) {
            Channel stream = dial("echo");
            AtomicLong received = count(stream);
            stream.config().setAutoRead(true);
            stream.writeAndFlush(Unpooled.wrappedBuffer(new byte[10])).sync();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
                    .until(() -> received.get() == 10);
            stream.close().sync();
        }

        assertThat(audit).filteredOn(e -> e.type().equals(AuditEvents.CONNECTOR_CONNECTED)).hasSize(1);
        assertThat(audit).noneMatch(e -> e.type().equals(AuditEvents.CONNECTOR_DISCONNECTED));
        assertThat(dial("echo").isActive()).isTrue();
    }

    @Test
    void appEndsItsSide_streamClosesAfterItsLastBytes() throws Exception {
        // An HTTP exchange's stream: the app's close ends the whole stream, after its bytes arrive.
        Channel stream = dial("firehose");
        AtomicLong received = count(stream);
        stream.config().setAutoRead(true);

        await().atMost(Duration.ofSeconds(30)).until(() -> !stream.isActive());
        assertThat(received.get()).isEqualTo(FIREHOSE_BYTES);
    }

    @Test
    void tcpStream_endStreamFromTheGateway_endsTheStreamBothWays() throws Exception {
        // Pins L-740: the gateway asks for no half-close, so its END_STREAM (the partner's end of
        // sending) ends the whole stream; the app's end never arrives as a direction of its own.
        Future<Channel> f = registry.dial(group.next(), tcpRoute("echo")).await();
        assertThat(f.cause()).isNull();
        Channel stream = f.getNow();
        AtomicLong received = new AtomicLong();
        AtomicBoolean inputShutdown = new AtomicBoolean();
        stream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                received.addAndGet(((ByteBuf) msg).readableBytes());
                ((ByteBuf) msg).release();
            }

            @Override
            public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
                    inputShutdown.set(true);
                }
            }
        });
        stream.config().setAutoRead(true);
        stream.writeAndFlush(Unpooled.wrappedBuffer(new byte[64 * 1024]));
        await().atMost(Duration.ofSeconds(10)).until(() -> received.get() == 64 * 1024);

        assertThat(Tunnel.shutdownOutput(stream)).isTrue();

        await().atMost(Duration.ofSeconds(15)).until(() -> !stream.isActive());
        assertThat(inputShutdown).as("no one-way end: the stream ended both ways").isFalse();
    }

    @Test
    void appNotServed_refusedByTheConnector_noConnectorForUnknownName() throws Exception {
        Route other = route("stock", "connector:depot-1");
        Future<Channel> f = registry.dial(group.next(), other).await();
        assertThat(f.cause()).isInstanceOf(NoConnectorException.class);

        Route unknown = route("firehose", "connector:depot-9");
        assertThat(registry.dial(group.next(), unknown).await().cause()).isInstanceOf(NoConnectorException.class);
    }

    @Test
    void revoke_closesTheTunnelAtOnce_andRefusesTheCertificateFromThenOn() throws Exception {
        Channel stream = dial("echo");

        assertThat(registry.revoke("depot-1", "ops")).isEqualTo(1);

        await().atMost(Duration.ofSeconds(5)).until(() -> !stream.isActive());
        assertThat(registry.dial(group.next(), route("echo", "connector:depot-1")).await().cause())
                .isInstanceOf(NoConnectorException.class);
        assertThat(audit).anyMatch(e -> e.type().equals(AuditEvents.CONNECTOR_REVOKED));
        await().atMost(Duration.ofSeconds(5)).until(() -> audit.stream().anyMatch(e ->
                e.type().equals(AuditEvents.CONNECTOR_DISCONNECTED) && e.toString().contains("connector_revoked")));
        // The connector dials again and is refused in the handshake.
        await().atMost(Duration.ofSeconds(20)).until(() -> audit.stream().anyMatch(e ->
                e.type().equals(AuditEvents.CONNECTOR_REFUSED) && e.toString().contains("connector_revoked")));
        assertThat(registry.health().get(0).get("connected")).isEqualTo(false);
    }

    @Test
    void enrolmentExpiry_closesItsTunnel_audited() throws Exception {
        EnrolmentStore store = registry.store();
        String token = store.createToken("brief", List.of("echo"), Duration.ofMinutes(5),
                java.time.Instant.now().plusSeconds(4), "test");
        Files.writeString(dir.resolve("brief-token"), token);
        try (ConnectorAgent brief = ConnectorAgent.start(new ConnectorConfig("brief",
                List.of(new ConnectorConfig.GatewayAddress("127.0.0.1:" + listener.port())),
                dir.resolve("gateway/ca.pem").toString(), "brief-token", "brief-state",
                Map.of("echo", new ConnectorConfig.AppAddress("127.0.0.1:" + echo.getLocalPort(), false)), dir))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> registry.dial(group.next(),
                    route("echo", "connector:brief")).await().isSuccess());
            java.util.concurrent.ScheduledFuture<?> checks = group.next().scheduleWithFixedDelay(registry::check,
                    200, 200, TimeUnit.MILLISECONDS);
            try {
                await().atMost(Duration.ofSeconds(15)).until(() -> audit.stream().anyMatch(e ->
                        e.type().equals(AuditEvents.CONNECTOR_DISCONNECTED)
                                && e.toString().contains("enrolment_expired")));
            } finally {
                checks.cancel(false);
            }
            assertThat(registry.dial(group.next(), route("echo", "connector:brief")).await().cause())
                    .isInstanceOf(NoConnectorException.class);
        }
    }

    private Channel dial(String app) throws Exception {
        Future<Channel> f = registry.dial(group.next(), route(app, "connector:depot-1")).await();
        assertThat(f.cause()).isNull();
        return f.getNow();
    }

    private static AtomicLong count(Channel stream) {
        AtomicLong bytes = new AtomicLong();
        stream.pipeline().addLast(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                bytes.addAndGet(b.readableBytes());
                b.release();
            }
        });
        return bytes;
    }

    private static Route route(String app, String upstream) {
        return new Route(new App(app, List.of(app + ".example"), AppProtocol.HTTP, URI.create(upstream), Map.of(),
                false, Optional.empty()), AppConfig.defaults(List.of(app + ".example"), upstream),
                URI.create(upstream));
    }

    private static Route tcpRoute(String app) {
        String upstream = "connector:depot-1";
        return new Route(new App(app, List.of(app + ".example"), AppProtocol.TCP, URI.create(upstream), Map.of(),
                false, Optional.empty()), AppConfig.defaults(List.of(app + ".example"), upstream),
                URI.create(upstream));
    }

    /** A socket app: {@code speak} writes to each connection then closes; null echoes. */
    private ServerSocket app(Speaker speak) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    appConnections.incrementAndGet();
                    Thread c = new Thread(() -> serve(s, speak));
                    c.setDaemon(true);
                    c.start();
                } catch (IOException e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return server;
    }

    private static void serve(Socket s, Speaker speak) {
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            if (speak != null) {
                speak.speak(out);
                return;
            }
            byte[] buf = new byte[16384];
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // The stream ended first.
        }
    }

    private interface Speaker {
        void speak(OutputStream out) throws IOException;
    }
}
