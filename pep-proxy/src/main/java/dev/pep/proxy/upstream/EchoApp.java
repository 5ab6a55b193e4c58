package dev.pep.proxy.upstream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The built-in demo application ({@code upstream: pep:echo}): it answers every request with what
 * it received — method, path, headers — as HTML for browsers and JSON otherwise, so a newcomer
 * sees exactly what an application behind the gateway sees. It listens on a loopback port and is
 * reached through the same upstream path as any app.
 */
public final class EchoApp implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Channel server;

    private EchoApp(Channel server) {
        this.server = server;
    }

    /** Starts the echo app on 127.0.0.1 on a free port. */
    public static EchoApp start(EventLoopGroup group, Class<? extends ServerChannel> channelClass)
            throws InterruptedException {
        return start(group, channelClass, "127.0.0.1", 0);
    }

    /** Starts the echo app on {@code address:port} (0 picks a free port); see {@link EchoServer}. */
    public static EchoApp start(EventLoopGroup group, Class<? extends ServerChannel> channelClass,
            String address, int port) throws InterruptedException {
        Channel ch = new ServerBootstrap().group(group).channel(channelClass)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel c) {
                        c.pipeline().addLast(new HttpServerCodec(), new EchoHandler());
                    }
                })
                .bind(address, port).sync().channel();
        return new EchoApp(ch);
    }

    /** Where the gateway reaches it (on loopback). */
    public URI uri() {
        return URI.create("http://127.0.0.1:" + port());
    }

    /** The port it listens on. */
    public int port() {
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
    }

    /** Answers once the whole body has streamed past; the body is counted, never kept. */
    private static final class EchoHandler extends SimpleChannelInboundHandler<HttpObject> {
        private HttpRequest req;
        private long bodyBytes;

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) throws Exception {
            if (msg instanceof HttpRequest r) {
                req = r;
                bodyBytes = 0;
            }
            if (msg instanceof HttpContent c) {
                bodyBytes += c.content().readableBytes();
            }
            if (msg instanceof LastHttpContent && req != null) {
                respond(ctx, req, bodyBytes);
                req = null;
            }
        }

        private static void respond(ChannelHandlerContext ctx, HttpRequest req, long bodyBytes)
                throws Exception {
            ObjectNode echo = JSON.createObjectNode();
            echo.put("app", "pep echo");
            echo.put("method", req.method().name());
            echo.put("path", req.uri());
            ArrayNode headers = echo.putArray("headers");
            for (Map.Entry<String, String> h : req.headers()) {
                headers.addArray().add(h.getKey()).add(h.getValue());
            }
            echo.put("body_bytes", bodyBytes);
            boolean html = String.valueOf(req.headers().get(HttpHeaderNames.ACCEPT)).contains("text/html");
            String body = html ? html(req, echo)
                    : JSON.writerWithDefaultPrettyPrinter().writeValueAsString(echo) + "\n";
            ByteBuf buf = ctx.alloc().buffer();
            buf.writeCharSequence(body, StandardCharsets.UTF_8);
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, buf);
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, html ? "text/html; charset=utf-8" : "application/json")
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, buf.readableBytes())
                    .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            var f = ctx.writeAndFlush(res);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        private static String html(HttpRequest req, ObjectNode echo) {
            StringBuilder rows = new StringBuilder();
            for (Map.Entry<String, String> h : req.headers()) {
                rows.append("<tr><th>").append(escape(h.getKey())).append("</th><td>")
                        .append(escape(h.getValue())).append("</td></tr>");
            }
            return "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>pep echo</title>"
                    + "<style>body{font:15px system-ui,sans-serif;margin:2em}th{text-align:left;padding-right:1em}"
                    + "td,th{border-bottom:1px solid #ddd;vertical-align:top}</style></head><body>"
                    + "<h1>pep echo</h1><p>This is what the application behind the gateway received.</p>"
                    + "<p><b>" + escape(echo.get("method").asText()) + "</b> <code>"
                    + escape(echo.get("path").asText()) + "</code></p><table>" + rows
                    + "</table></body></html>\n";
        }

        private static String escape(String s) {
            return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
        }
    }
}
