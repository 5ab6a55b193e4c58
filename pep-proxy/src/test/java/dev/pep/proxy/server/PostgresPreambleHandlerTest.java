package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.StreamPreamble;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PostgresPreambleHandlerTest {

    static final byte[] CLIENT_HELLO_START = {22, 3, 1, 0, 5, 1, 0, 0, 1, 0};

    static EmbeddedChannel channel(boolean enabled) {
        return new EmbeddedChannel(new PostgresPreambleHandler(() -> enabled));
    }

    static ByteBuf request(int code) {
        return Unpooled.buffer(8).writeInt(8).writeInt(code);
    }

    /** The bytes that went on past the handler, or an empty string when none did. */
    static String passedOn(EmbeddedChannel ch) {
        StringBuilder hex = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readInbound()) != null) {
            hex.append(ByteBufUtil.hexDump(b));
            b.release();
        }
        return hex.toString();
    }

    static String answered(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return out.toString();
    }

    @Test
    void tlsFirst_stepsAside_andTheBytesGoOnUntouched() {
        EmbeddedChannel ch = channel(true);

        ch.writeInbound(Unpooled.wrappedBuffer(CLIENT_HELLO_START));

        assertThat(passedOn(ch)).isEqualTo(ByteBufUtil.hexDump(CLIENT_HELLO_START));
        assertThat(answered(ch)).isEmpty();
        assertThat(ch.pipeline().get(PostgresPreambleHandler.class)).isNull();
        assertThat(ch.attr(PostgresPreambleHandler.USED).get()).isNull();
    }

    @Test
    void httpFirst_stepsAside() {
        EmbeddedChannel ch = channel(true);

        ch.writeInbound(Unpooled.copiedBuffer("GET / HTTP/1.1\r\n", StandardCharsets.US_ASCII));

        assertThat(passedOn(ch)).startsWith(ByteBufUtil.hexDump("GET ".getBytes(StandardCharsets.US_ASCII)));
        assertThat(answered(ch)).isEmpty();
        assertThat(ch.isOpen()).isTrue();
    }

    @Test
    void sslRequest_answeredS_marked_thenTheClientHelloGoesOn() {
        EmbeddedChannel ch = channel(true);

        ch.writeInbound(request(PostgresPreambleHandler.SSL_REQUEST));

        assertThat(answered(ch)).isEqualTo("S");
        assertThat(passedOn(ch)).as("the request is the gateway's, not TLS's").isEmpty();
        assertThat(ch.attr(PostgresPreambleHandler.USED).get()).isEqualTo(StreamPreamble.POSTGRES);

        ch.writeInbound(Unpooled.wrappedBuffer(CLIENT_HELLO_START));

        assertThat(passedOn(ch)).isEqualTo(ByteBufUtil.hexDump(CLIENT_HELLO_START));
        assertThat(ch.pipeline().get(PostgresPreambleHandler.class)).isNull();
    }

    @Test
    void sslRequest_inPieces_answeredOnceWhole() {
        EmbeddedChannel ch = channel(true);
        ByteBuf whole = request(PostgresPreambleHandler.SSL_REQUEST);

        ch.writeInbound(whole.readRetainedSlice(3));
        assertThat(answered(ch)).isEmpty();
        ch.writeInbound(whole);

        assertThat(answered(ch)).isEqualTo("S");
    }

    @Test
    void sslRequest_noAppDeclaresThePreamble_proceedsAsToday() {
        EmbeddedChannel ch = channel(false);

        ch.writeInbound(request(PostgresPreambleHandler.SSL_REQUEST));

        assertThat(answered(ch)).isEmpty();
        assertThat(passedOn(ch)).isEqualTo("0000000804d2162f");
        assertThat(ch.attr(PostgresPreambleHandler.USED).get()).isNull();
    }

    @Test
    void afterS_anythingButAClientHello_closed() {
        EmbeddedChannel ch = channel(true);
        ch.writeInbound(request(PostgresPreambleHandler.SSL_REQUEST));
        answered(ch);

        ch.writeInbound(Unpooled.buffer().writeInt(9).writeInt(196608).writeByte(0));

        assertThat(ch.isOpen()).isFalse();
        assertThat(passedOn(ch)).isEmpty();
    }

    @Test
    void gssencRequest_answeredN_thenAnSslRequestIsAnsweredS() {
        EmbeddedChannel ch = channel(true);

        ch.writeInbound(request(PostgresPreambleHandler.GSSENC_REQUEST));
        assertThat(answered(ch)).isEqualTo("N");
        ch.writeInbound(request(PostgresPreambleHandler.SSL_REQUEST));

        assertThat(answered(ch)).isEqualTo("S");
        assertThat(ch.attr(PostgresPreambleHandler.USED).get()).isEqualTo(StreamPreamble.POSTGRES);
    }

    @Test
    void gssencRequest_thenACleartextStartup_closed() {
        EmbeddedChannel ch = channel(true);
        ch.writeInbound(request(PostgresPreambleHandler.GSSENC_REQUEST));
        answered(ch);

        ch.writeInbound(Unpooled.buffer().writeInt(16).writeInt(196608).writeBytes(new byte[8]));

        assertThat(ch.isOpen()).isFalse();
        assertThat(passedOn(ch)).as("no cleartext PostgreSQL session").isEmpty();
    }

    @Test
    void cleartextStartupFirst_notARequest_proceedsAsToday() {
        EmbeddedChannel ch = channel(true);

        ch.writeInbound(Unpooled.buffer().writeInt(16).writeInt(196608).writeBytes(new byte[8]));

        assertThat(answered(ch)).isEmpty();
        assertThat(passedOn(ch)).startsWith("0000001000030000");
    }
}
