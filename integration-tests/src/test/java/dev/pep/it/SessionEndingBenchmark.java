package dev.pep.it;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolHandler;
import io.netty.handler.codec.http.websocketx.WebSocketClientProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketVersion;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * How long the packaged gateway takes to end thousands of live sessions when the policy changes
 * or an operator revokes them, and whether the sessions it keeps notice. Not a test and not run
 * by {@code mvn verify}: {@code bench/sessions.sh} runs it.
 *
 * <p>Opens WebSockets, HTTP/1.1 streaming responses and HTTP/2 streams (100 per connection) to
 * apps "a" (to be denied) and "b" (kept), all through one gateway process on loopback. The apps'
 * upstream sends every stream one event each 500 ms. Then: (1) the policy file loses the rule of
 * the "a" apps: time from the file's rename to the last "a" session seen closed by its client,
 * and the "b" streams' event rate before and after; (2) one admin call ends every remaining
 * session of the subject: time to the last one closed.
 */
public final class SessionEndingBenchmark {

    private static final String TOKEN = "bench-sessions-token-0123456789abcdef";
    private static final int PER_APP = 800;

    private final Path dir;
    private final EventLoopGroup clients = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final EventLoopGroup upstreams = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final ChannelGroup streaming = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final Semaphore handshakes = new Semaphore(64);
    private final List<Session> sessions = new ArrayList<>();
    private GatewayProcess gateway;

    private SessionEndingBenchmark(Path dir) {
        this.dir = dir;
    }

    public static void main(String[] args) throws Exception {
        System.setProperty("pep.home", args.length > 0 ? args[0] : ".");
        int ws = args.length > 1 ? Integer.parseInt(args[1]) : 4000;
        int h1 = args.length > 2 ? Integer.parseInt(args[2]) : 2000;
        int h2 = args.length > 3 ? Integer.parseInt(args[3]) : 4000;
        Path dir = Files.createTempDirectory("pep-sessions-bench");
        SessionEndingBenchmark b = new SessionEndingBenchmark(dir);
        try {
            b.run(ws, h1, h2);
        } finally {
            b.close();
        }
    }

    private void run(int ws, int h1, int h2) throws Exception {
        WebSocketEchoServer echo = WebSocketEchoServer.start();
        int streamPort = startStreamServer();
        List<String> apps = new ArrayList<>();
        StringBuilder policy = new StringBuilder("apps:\n");
        plan(apps, policy, "ws", ws, echo.url());
        plan(apps, policy, "h1", h1, "http://127.0.0.1:" + streamPort);
        plan(apps, policy, "h2", h2, "http://127.0.0.1:" + streamPort);
        Files.createDirectories(dir.resolve("policies"));
        writePolicy(policy, apps, true);
        Files.writeString(dir.resolve("admin-tokens"), "bench " + TOKEN + "\n");
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("bench-sessions").replace("drain-timeout:",
                "  token-file: admin-tokens\ndrain-timeout:") + """
                limits:
                  idle-timeout: 10m
                  max-connections: 19000
                  max-connections-per-address: 19000
                policy:
                  directory: policies
                  reload-interval: 100ms
                sessions:
                  check-interval: 100ms
                audit:
                  directory: audit
                """);
        pin();
        SslContext h1Tls = tls(ApplicationProtocolNames.HTTP_1_1);
        SslContext h2Tls = tls(ApplicationProtocolNames.HTTP_2);
        long opening = System.nanoTime();
        for (String app : apps) {
            int n = count(app, ws, h1, h2);
            if (app.startsWith("ws")) {
                openWebSockets(h1Tls, app, n);
            } else if (app.startsWith("h1")) {
                openH1(h1Tls, app, n);
            } else {
                openH2(h2Tls, app, n);
            }
        }
        awaitAll(s -> s.open.isDone(), 180, "opened");
        System.out.printf("opened %d sessions in %d ms (ws=%d h1=%d h2=%d); registered at the gateway: %s%n",
                sessions.size(), ms(System.nanoTime() - opening), ws, h1, h2, registered());

        for (int round = 1; round <= 3; round++) {
            // New versions that end nothing: every session re-decided, as a running gateway does.
            policy.append("  spare").append(round).append(":\n    hosts: [spare").append(round)
                    .append(".pep.localhost]\n    upstream: http://127.0.0.1:1\n");
            writePolicy(policy, apps, true);
            String line = awaitLog("sessions re-decided trigger=policy", round);
            System.out.printf("no-op policy change %d: %s%n", round, line.substring(line.indexOf("checked=")));
        }
        double before = keptRate();
        long cpuBefore = gatewayCpuMillis();
        long changed = System.nanoTime();
        long changedWall = System.currentTimeMillis();
        writePolicy(policy, apps, false);
        long last = awaitAll(s -> s.app.contains("-b") || s.closed.isDone(), 60, "closed (policy)");
        long cpu = gatewayCpuMillis() - cpuBefore;
        long keptClosed = sessions.stream().filter(s -> s.app.contains("-b") && s.closed.isDone()).count();
        double after = keptRate();
        long denied = sessions.stream().filter(s -> !s.app.contains("-b")).count();
        System.out.printf("policy change: %d sessions denied, last closed %d ms after the file changed"
                + " (policy poll every 100 ms); median %d ms; %d kept sessions closed%n", denied,
                ms(last - changed), ms(median(changed, s -> !s.app.contains("-b")) - changed), keptClosed);
        String reloaded = awaitLog("policy reloaded", 4);
        String redecided = awaitLog("sessions re-decided trigger=policy", 4);
        System.out.printf("the gateway loaded the new version %d ms after the file changed; %s%n",
                java.time.Instant.parse(reloaded.substring(0, reloaded.indexOf(' '))).toEpochMilli() - changedWall,
                redecided.substring(redecided.indexOf("checked=")));
        System.out.printf("gateway CPU from the change to the last close: %d ms%n", cpu);
        System.out.printf("kept streams' events per second: before %.0f, after %.0f (%.1f%%)%n", before, after,
                100.0 * (after - before) / before);

        long revoked = System.nanoTime();
        String answer = admin("/api/v1/sessions/end?subject=anonymous");
        long lastRevoked = awaitAll(s -> s.closed.isDone(), 60, "closed (admin)");
        System.out.printf("admin end of the subject (%s): last of %d sessions closed %d ms after the call;"
                + " median %d ms%n", answer.trim(), sessions.size() - denied, ms(lastRevoked - revoked),
                ms(median(revoked, s -> s.app.contains("-b")) - revoked));
        echo.close();
    }

    /** Apps of one kind: PER_APP sessions each, the last one or two kept ("-b"). */
    private void plan(List<String> apps, StringBuilder policy, String kind, int total, String upstream) {
        // At least two apps of each kind, so some sessions of every kind are denied and some kept.
        int n = Math.max(2, (total + PER_APP - 1) / PER_APP);
        for (int i = 1; i <= n; i++) {
            String name = kind + (i <= Math.max(1, n * 3 / 5) ? "-a" : "-b") + i;
            apps.add(name);
            policy.append("  ").append(name).append(":\n    hosts: [").append(name)
                    .append(".pep.localhost]\n    upstream: ").append(upstream).append('\n');
        }
    }

    private static int count(String app, int ws, int h1, int h2) {
        int total = app.startsWith("ws") ? ws : app.startsWith("h1") ? h1 : h2;
        int n = Math.max(2, (total + PER_APP - 1) / PER_APP);
        return total / n;
    }

    private void writePolicy(StringBuilder apps, List<String> names, boolean withA) throws Exception {
        StringBuilder p = new StringBuilder(apps).append("rules:\n");
        List<String> keep = names.stream().filter(n -> withA || n.contains("-b")).toList();
        p.append("  - id: open\n    apps: ").append(keep).append("\n    effect: allow\n    when: \"true\"\n");
        Path tmp = dir.resolve("policies/.apps.yaml.tmp");
        Files.writeString(tmp, p.toString());
        Files.move(tmp, dir.resolve("policies/apps.yaml"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private void openWebSockets(SslContext tls, String app, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            Session s = add(app);
            handshakes.acquire();
            s.open.whenComplete((v, e) -> handshakes.release());
            URI uri = URI.create("wss://" + app + ".pep.localhost:" + gateway.port() + WebSocketEchoServer.PATH);
            connect(tls, app, ch -> ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(8192),
                    new WebSocketClientProtocolHandler(WebSocketClientProtocolConfig.newBuilder().webSocketUri(uri)
                            .version(WebSocketVersion.V13).handleCloseFrames(false).build()),
                    new WebSocketWatcher(s)), s);
        }
    }

    private void openH1(SslContext tls, String app, int n) throws Exception {
        for (int i = 0; i < n; i++) {
            Session s = add(app);
            handshakes.acquire();
            s.open.whenComplete((v, e) -> handshakes.release());
            connect(tls, app, ch -> ch.pipeline().addLast(new HttpClientCodec(), new H1Watcher(s, app)), s);
        }
    }

    private void openH2(SslContext tls, String app, int n) throws Exception {
        for (int c = 0; c < n; c += 100) {
            CompletableFuture<Channel> parent = new CompletableFuture<>();
            Session first = null;
            handshakes.acquire();
            connect(tls, app, ch -> ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                    new Http2MultiplexHandler(new ChannelInboundHandlerAdapter())), null)
                    .addListener(f -> parent.complete(((io.netty.channel.ChannelFuture) f).channel()));
            Channel connection = parent.get(60, TimeUnit.SECONDS);
            for (int k = 0; k < Math.min(100, n - c); k++) {
                Session s = add(app);
                first = first == null ? s : first;
                Http2StreamChannel stream = new Http2StreamChannelBootstrap(connection).handler(new H2Watcher(s))
                        .open().get(60, TimeUnit.SECONDS);
                stream.writeAndFlush(new DefaultHttp2HeadersFrame(new DefaultHttp2Headers().method("GET")
                        .scheme("https").authority(app + ".pep.localhost").path("/stream"), true));
            }
            first.open.whenComplete((v, e) -> handshakes.release());
        }
    }

    private io.netty.channel.ChannelFuture connect(SslContext tls, String app,
            java.util.function.Consumer<SocketChannel> rest, Session s) {
        return new Bootstrap().group(clients).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(ch.alloc(), app + ".pep.localhost", gateway.port()));
                        rest.accept(ch);
                        ch.pipeline().addLast(new Quiet());
                        if (s != null) {
                            ch.closeFuture().addListener(f -> s.closed(System.nanoTime()));
                        }
                    }
                }).connect(new InetSocketAddress("127.0.0.1", gateway.port()));
    }

    private Session add(String app) {
        Session s = new Session(app);
        sessions.add(s);
        return s;
    }

    /**
     * With two or more cores, the gateway gets core 0 and this JVM (clients and apps) the rest, so
     * the gateway's own work is not slowed by the load it is measured under.
     */
    private void pin() throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        if (cores < 2) {
            System.out.println("one core: gateway and load share it");
            return;
        }
        run("taskset", "-a", "-p", "-c", "0", Long.toString(gateway.pid()));
        run("taskset", "-a", "-p", "-c", "1-" + (cores - 1), Long.toString(ProcessHandle.current().pid()));
        System.out.printf("gateway pinned to core 0, clients and apps to cores 1-%d%n", cores - 1);
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("failed: " + String.join(" ", command));
        }
    }

    /** User plus system CPU time of the gateway process so far, from /proc. */
    private long gatewayCpuMillis() throws Exception {
        String stat = Files.readString(Path.of("/proc/" + gateway.pid() + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
        return ticks * 1000 / 100;
    }

    /** The {@code nth} gateway log line that contains {@code text}, waiting up to 30 s for it. */
    private String awaitLog(String text, int nth) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            List<String> lines = gateway.stderr().lines().filter(l -> l.contains(text)).toList();
            if (lines.size() >= nth) {
                return lines.get(nth - 1);
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("no line " + nth + " with '" + text + "' in the gateway log");
    }

    /** Events per second received by the kept streams over three seconds. */
    private double keptRate() throws InterruptedException {
        long from = sessions.stream().filter(s -> s.app.contains("-b")).mapToLong(s -> s.events.get()).sum();
        Thread.sleep(3000);
        long to = sessions.stream().filter(s -> s.app.contains("-b")).mapToLong(s -> s.events.get()).sum();
        return (to - from) / 3.0;
    }

    /** Waits until every session satisfies the condition; the latest close time seen then. */
    private long awaitAll(java.util.function.Predicate<Session> done, int seconds, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!sessions.stream().allMatch(done)) {
            if (System.nanoTime() > deadline) {
                java.util.Map<String, Long> missing = sessions.stream().filter(done.negate()).collect(
                        java.util.stream.Collectors.groupingBy(s -> s.app, java.util.stream.Collectors.counting()));
                throw new IllegalStateException("sessions not " + what + " in " + seconds + "s, by app: " + missing
                        + "; gateway log: " + gateway.stderr().lines().filter(l -> l.contains("WARN")
                                || l.contains("ERROR")).limit(10).toList());
            }
            Thread.sleep(5);
        }
        return sessions.stream().filter(s -> s.closed.isDone()).mapToLong(s -> s.closedAt).max().orElse(0);
    }

    private long median(long from, java.util.function.Predicate<Session> which) {
        long[] t = sessions.stream().filter(which).filter(s -> s.closed.isDone()).mapToLong(s -> s.closedAt)
                .sorted().toArray();
        return t.length == 0 ? from : t[t.length / 2];
    }

    private String registered() throws Exception {
        String metrics = HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + "/metrics")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        return Arrays.stream(metrics.split("\n")).filter(l -> l.startsWith("pep_sessions_registered"))
                .findFirst().orElse("?");
    }

    private String admin(String pathAndQuery) throws Exception {
        return HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + gateway.adminPort() + pathAndQuery))
                .POST(java.net.http.HttpRequest.BodyPublishers.noBody())
                .header("Authorization", "Bearer " + TOKEN).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    private SslContext tls(String protocol) throws Exception {
        return SslContextBuilder.forClient().trustManager(gateway.devCa().toFile())
                .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, protocol)).build();
    }

    /** An HTTP server that keeps every response open and sends it an event each 500 ms. */
    private int startStreamServer() throws InterruptedException {
        Channel server = new ServerBootstrap().group(upstreams).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new Streamer(streaming), new Quiet());
                    }
                }).bind("127.0.0.1", 0).sync().channel();
        upstreams.scheduleAtFixedRate(() -> streaming.writeAndFlush(new DefaultHttpContent(
                Unpooled.copiedBuffer("data: tick\n\n", StandardCharsets.US_ASCII))), 500, 500, TimeUnit.MILLISECONDS);
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    private void close() throws Exception {
        if (gateway != null) {
            gateway.close();
        }
        clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        upstreams.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    private static long ms(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    /** One session as its client sees it. */
    /** Answers each request with an event stream that stays open; the server's timer feeds it. */
    private static final class Streamer extends ChannelInboundHandlerAdapter {
        private final ChannelGroup streaming;

        Streamer(ChannelGroup streaming) {
            this.streaming = streaming;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest) {
                DefaultHttpResponse r = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
                r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream")
                        .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
                ctx.writeAndFlush(r);
                streaming.add(ctx.channel());
            }
            ReferenceCountUtil.release(msg);
        }
    }

    /** Resets from the gateway closing a connection are the expected end here, not errors. */
    private static final class Quiet extends ChannelInboundHandlerAdapter {
        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    private static final class Session {
        final String app;
        final CompletableFuture<Void> open = new CompletableFuture<>();
        final CompletableFuture<Void> closed = new CompletableFuture<>();
        final AtomicLong events = new AtomicLong();
        volatile long closedAt;

        Session(String app) {
            this.app = app;
        }

        void closed(long at) {
            if (!closed.isDone()) {
                closedAt = at;
                closed.complete(null);
                open.complete(null);
            }
        }
    }

    private static final class WebSocketWatcher extends ChannelInboundHandlerAdapter {
        private final Session s;

        WebSocketWatcher(Session s) {
            this.s = s;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt == WebSocketClientProtocolHandler.ClientHandshakeStateEvent.HANDSHAKE_COMPLETE) {
                s.open.complete(null);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof CloseWebSocketFrame) {
                s.closed(System.nanoTime());
                ctx.close();
            }
            ReferenceCountUtil.release(msg);
        }
    }

    private static final class H1Watcher extends ChannelInboundHandlerAdapter {
        private final Session s;
        private final String app;

        H1Watcher(Session s, String app) {
            this.s = s;
            this.app = app;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            DefaultFullHttpRequest get = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/stream");
            get.headers().set(HttpHeaderNames.HOST, app + ".pep.localhost");
            ctx.writeAndFlush(get);
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpContent) {
                s.events.incrementAndGet();
                s.open.complete(null);
            }
            ReferenceCountUtil.release(msg);
        }
    }

    private static final class H2Watcher extends ChannelInboundHandlerAdapter {
        private final Session s;

        H2Watcher(Session s) {
            this.s = s;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2DataFrame) {
                s.events.incrementAndGet();
                s.open.complete(null);
            } else if (msg instanceof Http2ResetFrame) {
                s.closed(System.nanoTime());
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            s.closed(System.nanoTime());
        }
    }
}
