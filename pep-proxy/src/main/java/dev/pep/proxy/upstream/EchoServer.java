package dev.pep.proxy.upstream;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The echo app as a plain-HTTP server of its own, for demonstrations where an application sits
 * behind a connector on another host (docker/compose.yaml's demo-app):
 * {@code java -cp pep.jar dev.pep.proxy.upstream.EchoServer [ADDRESS [PORT]]}, by default
 * 0.0.0.0:8080. It has no access control at all: only ever reachable through the gateway.
 * Stops on SIGTERM.
 */
public final class EchoServer {

    private EchoServer() {
    }

    /** Starts serving and returns; the server runs until the JVM is asked to stop. */
    public static void main(String[] args) throws InterruptedException {
        String address = args.length > 0 ? args[0] : "0.0.0.0";
        int port = args.length > 1 ? Integer.parseInt(args[1]) : 8080;
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("pep-echo", false),
                NioIoHandler.newFactory());
        EchoApp app = EchoApp.start(group, NioServerSocketChannel.class, address, port);
        System.err.println("echo app listening address=" + address + " port=" + app.port());
        // The event loop's threads are not daemons: they keep the JVM up after main returns.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            app.close();
            group.shutdownGracefully().syncUninterruptibly();
        }, "pep-echo-stop"));
    }
}
