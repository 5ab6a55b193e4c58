package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TcpRelayTest {

    private final List<String> endings = new ArrayList<>();
    private final long[] bytes = new long[2];
    private EmbeddedChannel client;
    private EmbeddedChannel app;
    private TcpRelay relay;

    @BeforeEach
    void start() {
        client = new EmbeddedChannel();
        app = new EmbeddedChannel();
        client.config().setAutoRead(false);
        app.config().setAutoRead(false);
        relay = new TcpRelay(client, app, (reason, toApp, toClient) -> {
            endings.add(reason);
            bytes[0] = toApp;
            bytes[1] = toClient;
        });
        relay.start(Duration.ofSeconds(30), Duration.ofMinutes(10));
    }

    @AfterEach
    void close() {
        client.finishAndReleaseAll();
        app.finishAndReleaseAll();
    }

    @Test
    void start_turnsReadsOnBothWays() {
        assertThat(client.config().isAutoRead()).isTrue();
        assertThat(app.config().isAutoRead()).isTrue();
    }

    @Test
    void relay_bytesFlowBothWays_andAreCounted() {
        client.writeInbound(text("ping"));
        app.writeInbound(text("pong!"));

        assertThat(read(app)).isEqualTo("ping");
        assertThat(read(client)).isEqualTo("pong!");
        assertThat(relay.toApp()).isEqualTo(4);
        assertThat(relay.toClient()).isEqualTo(5);
        assertThat(endings).isEmpty();
    }

    @Test
    void slowApp_stopsClientReads_untilItDrains() {
        app.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));

        client.writeOneInbound(text("x".repeat(64)));

        assertThat(client.config().isAutoRead()).as("client reads while the app cannot take more").isFalse();
        client.flushInbound();
        assertThat(client.config().isAutoRead()).as("client reads once the app drained").isTrue();
        assertThat(read(app)).hasSize(64);
    }

    @Test
    void slowClient_stopsAppReads_untilItDrains() {
        client.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));

        app.writeOneInbound(text("y".repeat(64)));

        assertThat(app.config().isAutoRead()).as("app reads while the client cannot take more").isFalse();
        app.flushInbound();
        assertThat(app.config().isAutoRead()).as("app reads once the client drained").isTrue();
        assertThat(read(client)).hasSize(64);
    }

    @Test
    void halfClose_clientFinishesFirst_appStillAnswers_thenBothClose() {
        client.writeInbound(text("request"));
        client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        client.runPendingTasks();
        app.writeInbound(text("reply"));

        assertThat(read(app)).isEqualTo("request");
        assertThat(read(client)).isEqualTo("reply");
        assertThat(endings).isEmpty();
        assertThat(client.isOpen()).isTrue();

        app.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        client.runPendingTasks();

        assertThat(endings).containsExactly("closed");
        assertThat(client.isOpen()).isFalse();
        assertThat(app.isOpen()).isFalse();
    }

    @Test
    void clientBytesAfterItFinished_areDropped() {
        client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        client.runPendingTasks();
        ByteBuf late = text("late");

        client.writeInbound(late);

        assertThat(late.refCnt()).isZero();
        assertThat(read(app)).isEmpty();
    }

    @Test
    void appCloses_whatItSentReachesTheClient_thenTheClientIsClosed() {
        app.writeInbound(text("last words"));
        app.close();
        // The close is handled a task later, after anything its TLS reported on the way.
        client.runPendingTasks();

        assertThat(read(client)).isEqualTo("last words");
        assertThat(client.isOpen()).isFalse();
        assertThat(endings).containsExactly("app_closed");
    }

    @Test
    void clientCloses_appIsClosed() {
        client.close();

        assertThat(app.isOpen()).isFalse();
        assertThat(endings).containsExactly("client_closed");
    }

    @Test
    void end_closesBothOnce_withTheFirstReason() {
        relay.end("policy_denied");
        relay.end("again");

        assertThat(endings).containsExactly("policy_denied");
        assertThat(client.isOpen()).isFalse();
        assertThat(app.isOpen()).isFalse();
    }

    @Test
    void appFailure_endsBothWithAppError() {
        app.pipeline().fireExceptionCaught(new java.io.IOException("reset"));

        assertThat(endings).containsExactly("app_error");
        assertThat(client.isOpen()).isFalse();
    }

    @Test
    void nothingMoves_forTheIdleLimit_endsWithIdleTimeout() {
        client.writeInbound(text("a"));
        read(app);

        client.advanceTimeBy(31, TimeUnit.SECONDS);
        client.runPendingTasks();

        assertThat(endings).containsExactly("idle_timeout");
        assertThat(app.isOpen()).isFalse();
    }

    @Test
    void maximumDuration_endsEvenABusySession() {
        for (int i = 0; i < 35 && client.isOpen(); i++) {
            client.writeInbound(text("busy"));
            client.advanceTimeBy(20, TimeUnit.SECONDS);
            client.runPendingTasks();
        }

        assertThat(endings).containsExactly("max_duration");
        assertThat(bytes[0]).isEqualTo(4L * 30);
    }

    @Test
    void appFloodsFasterThanTheClientLoop_readsStopAtTheTransitBound() {
        // The client loop has not run the hand-over yet: bytes are in transit between loops.
        ByteBuf big = Unpooled.wrappedBuffer(new byte[(int) TcpRelay.MAX_IN_TRANSIT]);
        client.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1, 2));

        app.writeOneInbound(big);

        assertThat(app.config().isAutoRead()).isFalse();
        app.flushInbound();
        assertThat(app.config().isAutoRead()).isTrue();
    }

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    private static String read(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        return out.toString();
    }
}
