package dev.pep.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

class ClientHelloCaptureTest {

    /** A real ClientHello, as the JDK's TLS client writes it. */
    static byte[] hello() throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, null, null);
        SSLEngine engine = ctx.createSSLEngine("demo.pep.localhost", 443);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setApplicationProtocols(new String[] {"h2", "http/1.1"});
        p.setServerNames(List.of(new SNIHostName("demo.pep.localhost")));
        engine.setSSLParameters(p);
        engine.beginHandshake();
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        return bytes;
    }

    static byte[] drain(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        ByteBuf part;
        while ((part = ch.readInbound()) != null) {
            all.writeBytes(part);
            part.release();
        }
        byte[] out = new byte[all.readableBytes()];
        all.readBytes(out);
        all.release();
        return out;
    }

    @Test
    void channelRead_helloInThreePieces_fingerprintKeptBytesPassedAndHandlerGone() throws Exception {
        byte[] hello = hello();
        EmbeddedChannel ch = new EmbeddedChannel(new ClientHelloCapture());

        ch.writeInbound(Unpooled.wrappedBuffer(hello, 0, 3));
        assertThat(ch.pipeline().get(ClientHelloCapture.class)).isNotNull();
        ch.writeInbound(Unpooled.wrappedBuffer(hello, 3, 100));
        ch.writeInbound(Unpooled.wrappedBuffer(hello, 103, hello.length - 103));

        assertThat(ch.attr(ClientHelloCapture.FINGERPRINT).get()).matches("t13d[0-9]{4}h2_[0-9a-f]{12}_[0-9a-f]{12}");
        assertThat(ch.pipeline().get(ClientHelloCapture.class)).isNull();
        assertThat(drain(ch)).isEqualTo(hello);
    }

    @Test
    void channelRead_notTls_noFingerprintAndHandlerGone() {
        EmbeddedChannel ch = new EmbeddedChannel(new ClientHelloCapture());
        byte[] http = "GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

        ch.writeInbound(Unpooled.wrappedBuffer(http));

        assertThat(ch.attr(ClientHelloCapture.FINGERPRINT).get()).isNull();
        assertThat(ch.pipeline().get(ClientHelloCapture.class)).isNull();
        assertThat(drain(ch)).isEqualTo(http);
    }

    @Test
    void channelRead_endlessHandshakeRecord_givesUpAtTheLimit() {
        EmbeddedChannel ch = new EmbeddedChannel(new ClientHelloCapture());
        // A record header announcing a 16 KiB handshake message that never completes.
        byte[] start = {22, 3, 1, 0x40, 0x00, 1, 0x00, (byte) 0xff, (byte) 0xff};
        ch.writeInbound(Unpooled.wrappedBuffer(start));
        assertThat(ch.pipeline().get(ClientHelloCapture.class)).isNotNull();

        for (int i = 0; i < 3 && ch.pipeline().get(ClientHelloCapture.class) != null; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[ClientHelloCapture.LIMIT / 2]));
        }

        assertThat(ch.pipeline().get(ClientHelloCapture.class)).isNull();
        assertThat(ch.attr(ClientHelloCapture.FINGERPRINT).get()).isNull();
        ch.finishAndReleaseAll();
    }
}
