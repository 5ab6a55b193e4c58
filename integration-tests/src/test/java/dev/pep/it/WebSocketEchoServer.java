package dev.pep.it;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A WebSocket application behind the gateway on 127.0.0.1:0: upgrades on {@code /ws}, echoes every
 * text frame (each fragment of a fragmented one), and records the headers of each handshake request it completed. Thread-safe.
 */
final class WebSocketEchoServer implements AutoCloseable {

    static final String PATH = "/ws";

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final List<HttpHeaders> handshakes = new CopyOnWriteArrayList<>();
    private final Channel channel;

    private WebSocketEchoServer() throws InterruptedException {
        channel = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(64 * 1024),
                                new WebSocketServerProtocolHandler(PATH), new Echo());
                    }
                })
                .bind("127.0.0.1", 0).sync().channel();
    }

    static WebSocketEchoServer start() throws InterruptedException {
        return new WebSocketEchoServer();
    }

    /**
     * Runs one alone, for a network namespace: prints {@code listening PORT} once bound, serves
     * until its standard input ends (the test that started it went away or closed it).
     */
    public static void main(String[] args) throws Exception {
        try (WebSocketEchoServer server = start()) {
            System.out.println("listening " + ((InetSocketAddress) server.channel.localAddress()).getPort());
            System.out.flush();
            while (System.in.read() >= 0) {
                // Nothing to read; waiting for the end of input.
            }
        }
    }

    String url() {
        return "http://127.0.0.1:" + ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** The request headers of every completed handshake. */
    List<HttpHeaders> handshakes() {
        return List.copyOf(handshakes);
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Echo extends SimpleChannelInboundHandler<WebSocketFrame> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            // A long text arrives in fragments (the JDK client sends 16 KiB frames): echo each.
            if (frame instanceof TextWebSocketFrame || frame instanceof ContinuationWebSocketFrame) {
                ctx.writeAndFlush(frame.retainedDuplicate());
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof WebSocketServerProtocolHandler.HandshakeComplete done) {
                handshakes.add(done.requestHeaders());
            }
            ctx.fireUserEventTriggered(evt);
        }
    }
}
