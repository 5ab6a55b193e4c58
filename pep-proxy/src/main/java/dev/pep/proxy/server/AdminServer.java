package dev.pep.proxy.server;

import dev.pep.proxy.admin.AdminApi;
import dev.pep.proxy.admin.AdminResponse;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.timeout.ReadTimeoutHandler;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * The admin listener: {@code /healthz} (the process runs), {@code /readyz} (it accepts traffic,
 * with the policy version), {@code /metrics} (Prometheus), and the authenticated admin API under
 * {@code /api/} ({@link AdminApi}). Plain HTTP on loopback by default.
 */
final class AdminServer implements AutoCloseable {

    private final Channel channel;

    private AdminServer(Channel channel) {
        this.channel = channel;
    }

    static AdminServer start(EventLoopGroup group, Class<? extends ServerChannel> channelClass,
            String address, int port, PrometheusMeterRegistry registry, Supplier<Readiness> readiness,
            AdminApi api, Supplier<String> assertionKeys)
            throws InterruptedException {
        Channel ch = new ServerBootstrap().group(group).channel(channelClass)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(new ReadTimeoutHandler(30), new HttpServerCodec(8192, 16384, 8192),
                                new HttpObjectAggregator(64 * 1024),
                                new AdminHandler(registry, readiness, api, assertionKeys));
                    }
                })
                .bind(address, port).sync().channel();
        return new AdminServer(ch);
    }

    /** The bound port. */
    int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
    }

    /**
     * What {@code /readyz} reports.
     *
     * @param ready whether the gateway takes new traffic
     * @param policyVersion the policy version deciding now
     */
    record Readiness(boolean ready, String policyVersion) {
    }

    private static final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final PrometheusMeterRegistry registry;
        private final Supplier<Readiness> readiness;
        private final AdminApi api;
        private final Supplier<String> assertionKeys;

        AdminHandler(PrometheusMeterRegistry registry, Supplier<Readiness> readiness, AdminApi api,
                Supplier<String> assertionKeys) {
            this.registry = registry;
            this.readiness = readiness;
            this.api = api;
            this.assertionKeys = assertionKeys;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            QueryStringDecoder uri = new QueryStringDecoder(req.uri());
            String path = uri.path();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (path.startsWith(AdminApi.PREFIX)) {
                CompletionStage<AdminResponse> answer = api.handle(req.method().name(), path, uri.parameters(),
                        req.headers().get(HttpHeaderNames.AUTHORIZATION),
                        req.content().toString(StandardCharsets.UTF_8));
                answer.whenComplete((r, e) -> ctx.executor().execute(() -> send(ctx,
                        apiResponse(ctx, e == null ? r : AdminResponse.error(500, "admin_internal_error",
                                "The operation failed inside the gateway; see its log.")), keepAlive)));
                return;
            }
            FullHttpResponse res;
            if (!req.method().equals(HttpMethod.GET) && !req.method().equals(HttpMethod.HEAD)) {
                res = text(ctx, HttpResponseStatus.METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n");
            } else {
                res = switch (path) {
                    case "/healthz" -> text(ctx, HttpResponseStatus.OK, "application/json", "{\"status\":\"ok\"}\n");
                    case "/readyz" -> ready(ctx);
                    case "/metrics" -> text(ctx, HttpResponseStatus.OK,
                            "text/plain; version=0.0.4; charset=utf-8", registry.scrape());
                    case GatewayAssertions.ADMIN_JWKS_PATH -> text(ctx, HttpResponseStatus.OK,
                            "application/jwk-set+json", assertionKeys.get());
                    default -> text(ctx, HttpResponseStatus.NOT_FOUND, "text/plain", "not found\n");
                };
            }
            send(ctx, res, keepAlive);
        }

        private static void send(ChannelHandlerContext ctx, FullHttpResponse res, boolean keepAlive) {
            var f = ctx.writeAndFlush(res);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static FullHttpResponse apiResponse(ChannelHandlerContext ctx, AdminResponse r) {
            FullHttpResponse res = text(ctx, HttpResponseStatus.valueOf(r.status()), "application/json", r.json());
            if (r.status() == 401) {
                res.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"pep-admin\"");
            }
            return res;
        }

        private FullHttpResponse ready(ChannelHandlerContext ctx) {
            Readiness r = readiness.get();
            String body = "{\"status\":\"" + (r.ready() ? "ready" : "draining") + "\",\"policy_version\":\""
                    + ErrorPages.jsonEscape(r.policyVersion()) + "\"}\n";
            return text(ctx, r.ready() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                    "application/json", body);
        }

        private static FullHttpResponse text(ChannelHandlerContext ctx, HttpResponseStatus status, String type,
                String body) {
            ByteBuf buf = ctx.alloc().buffer();
            buf.writeCharSequence(body, StandardCharsets.UTF_8);
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, buf);
            for (Map.Entry<String, String> h : Map.of(HttpHeaderNames.CONTENT_TYPE.toString(), type,
                    HttpHeaderNames.CACHE_CONTROL.toString(), "no-store").entrySet()) {
                r.headers().set(h.getKey(), h.getValue());
            }
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, buf.readableBytes());
            return r;
        }
    }
}
