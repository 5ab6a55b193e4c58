package dev.pep.proxy.connector;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One connector instance's live tunnel, gateway side: the TLS connection it dialled, who it is,
 * which apps may be routed to it, and how many sessions it carries. Thread-safe.
 */
public final class Tunnel {

    /** The connector's answer HEADERS, on a stream {@link #open} completed. */
    static final AttributeKey<Http2Headers> ANSWER = AttributeKey.valueOf("pep.tunnel.answer");

    private final Channel channel;
    private final Enrolment enrolment;
    private final Instant connectedAt;
    private final AtomicInteger streams = new AtomicInteger();
    private volatile Set<String> apps = Set.of();
    private volatile Instant lastSeen;
    private volatile String closeReason;

    Tunnel(Channel channel, Enrolment enrolment, Instant connectedAt) {
        this.channel = channel;
        this.enrolment = enrolment;
        this.connectedAt = connectedAt;
        this.lastSeen = connectedAt;
    }

    /** The connector's name. */
    public String name() {
        return enrolment.name();
    }

    /** Its enrolment. */
    public Enrolment enrolment() {
        return enrolment;
    }

    /** The apps routed to it: those it announced and was enrolled for. */
    public Set<String> apps() {
        return apps;
    }

    /** Sessions it carries now. */
    public int streams() {
        return streams.get();
    }

    /** When it connected. */
    public Instant connectedAt() {
        return connectedAt;
    }

    /** When the gateway last heard from it. */
    public Instant lastSeen() {
        return lastSeen;
    }

    /** Whether its connection is up. */
    public boolean active() {
        return channel.isActive();
    }

    /** Where it dialled from. */
    public InetSocketAddress remote() {
        return (InetSocketAddress) channel.remoteAddress();
    }

    void apps(Set<String> routed) {
        this.apps = Set.copyOf(routed);
    }

    void seen(Instant at) {
        lastSeen = at;
    }

    Channel channel() {
        return channel;
    }

    /** Closes the tunnel at once; {@code reason} goes into the disconnected audit event. */
    void close(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
        channel.close();
    }

    String closeReason() {
        return closeReason;
    }

    /**
     * Opens a stream with {@code headers} and completes with it once the connector answers 200.
     * The stream's reading is off and its bytes held until its owner reads (see
     * {@link StreamBytes}). Fails with {@link StreamRefusedException} when the connector refuses
     * or the tunnel closes first, and with a {@link TimeoutException} after {@code timeout}.
     */
    Future<Channel> open(Http2Headers headers, Duration timeout) {
        Promise<Channel> opened = channel.eventLoop().newPromise();
        Promise<Http2Headers> answer = channel.eventLoop().newPromise();
        new Http2StreamChannelBootstrap(channel).handler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                ch.pipeline().addLast("opener", new StreamOpener(answer));
                ch.pipeline().addLast("bytes", new StreamBytes());
            }
        }).open().addListener(f -> {
            if (!f.isSuccess()) {
                opened.tryFailure(new ConnectorLostException(name()));
                return;
            }
            Http2StreamChannel stream = (Http2StreamChannel) f.getNow();
            streams.incrementAndGet();
            stream.closeFuture().addListener(c -> streams.decrementAndGet());
            ScheduledFuture<?> timer = stream.eventLoop().schedule(() -> {
                answer.tryFailure(new TimeoutException("connector " + name() + " did not answer in " + timeout));
            }, timeout.toMillis(), TimeUnit.MILLISECONDS);
            answer.addListener(a -> {
                timer.cancel(false);
                if (a.isSuccess()) {
                    stream.attr(ANSWER).set((Http2Headers) a.getNow());
                    StreamBytes bytes = stream.pipeline().get(StreamBytes.class);
                    if (headers.contains(TunnelProtocol.HALF_CLOSE)) {
                        bytes.halfClose();
                    }
                    bytes.arm();
                    stream.config().setAutoRead(false);
                    opened.trySuccess(stream);
                } else {
                    opened.tryFailure(a.cause());
                    stream.close();
                }
            });
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(headers, false)).addListener(w -> {
                if (!w.isSuccess()) {
                    answer.tryFailure(new ConnectorLostException(name()));
                }
            });
        });
        return opened;
    }

    /**
     * The headers of a session's stream to {@code app}; with {@code halfClose} (a TCP session)
     * each END_STREAM ends one direction only, as a FIN does.
     */
    static Http2Headers connect(String app, String session, boolean halfClose) {
        Http2Headers h = new DefaultHttp2Headers().method("CONNECT").authority(app);
        if (session != null) {
            h.set(TunnelProtocol.SESSION, session);
        }
        if (halfClose) {
            h.set(TunnelProtocol.HALF_CLOSE, "1");
        }
        return h;
    }

    /**
     * Ends our sending on a tunnel stream (END_STREAM after the bytes written before it), the
     * way {@link io.netty.channel.socket.DuplexChannel#shutdownOutput} ends a socket's.
     *
     * @return false when {@code ch} is not a tunnel stream
     */
    public static boolean shutdownOutput(Channel ch) {
        return StreamBytes.shutdownOutput(ch);
    }

    /** The headers of the hello stream. */
    static Http2Headers hello() {
        return new DefaultHttp2Headers().method("GET").scheme("https").authority("connector")
                .path(TunnelProtocol.HELLO_PATH);
    }
}
