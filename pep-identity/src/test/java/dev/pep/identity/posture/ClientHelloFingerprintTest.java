package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ClientHelloFingerprintTest {

    static final int[] CHROME_CIPHERS = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
        0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    static final int[] CHROME_PLAIN_EXTENSIONS = {0x0005, 0x000a, 0x000b, 0x0012, 0x0015, 0x0017,
        0x001b, 0x0023, 0x002d, 0x0033, 0x4469, 0xff01};
    static final int[] CHROME_SIGNATURES = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806,
        0x0601};

    /** A real ClientHello, as the JDK's TLS client writes it. */
    static byte[] jdkHello(String[] protocols, String sni, String... alpn) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, null, null);
        SSLEngine engine = ctx.createSSLEngine(sni, 443);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(protocols);
        p.setApplicationProtocols(alpn);
        if (sni != null) {
            p.setServerNames(List.of(new SNIHostName(sni)));
        }
        engine.setSSLParameters(p);
        engine.beginHandshake();
        ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
        engine.wrap(ByteBuffer.allocate(0), out);
        out.flip();
        byte[] bytes = new byte[out.remaining()];
        out.get(bytes);
        return bytes;
    }

    static ClientHelloFingerprint.Complete complete(byte[] bytes) {
        return (ClientHelloFingerprint.Complete) ClientHelloFingerprint.read(bytes, bytes.length);
    }

    @Test
    void read_jdkTls13HelloWithSniAndAlpn_ja4Shape() throws Exception {
        byte[] hello = jdkHello(new String[] {"TLSv1.3", "TLSv1.2"}, "logistics.partners.example",
                "h2", "http/1.1");

        ClientHelloFingerprint.Complete c = complete(hello);

        assertThat(c.fingerprint()).matches("t13d[0-9]{4}h2_[0-9a-f]{12}_[0-9a-f]{12}");
        assertThat(c.version()).isEqualTo("1.3");
    }

    @Test
    void read_jdkTls12HelloWithoutAlpn_differentFingerprint() throws Exception {
        byte[] modern = jdkHello(new String[] {"TLSv1.3", "TLSv1.2"}, "a.example", "h2", "http/1.1");
        byte[] old = jdkHello(new String[] {"TLSv1.2"}, "a.example");

        ClientHelloFingerprint.Complete c = complete(old);

        assertThat(c.fingerprint()).startsWith("t12d").contains("00_");
        assertThat(c.version()).isEqualTo("1.2");
        assertThat(c.fingerprint()).isNotEqualTo(complete(modern).fingerprint());
    }

    @Test
    void read_chromeLikeHelloWithGreaseAndShuffledExtensions_knownAnswer() {
        // The cipher and extension sets of the example in the JA4 specification.
        byte[] hello = syntheticHello(true, false);
        byte[] shuffled = syntheticHello(true, true);

        assertThat(complete(hello).fingerprint())
                .isEqualTo("t13d1516h2_8daaf6152771_e5627efa2ab1")
                .isEqualTo(complete(shuffled).fingerprint());
    }

    @ParameterizedTest
    @ValueSource(strings = {"chromium-156-hello-1.bin", "chromium-156-hello-2.bin"})
    void read_capturedChromiumHello_knownFingerprintWhateverItsGrease(String fixture)
            throws Exception {
        // Real hellos of headless Chromium 156 (src/test/resources/posture/README.md): GREASE in
        // ciphers, extensions and signature algorithms, shuffled extensions, ML-KEM key share.
        byte[] hello;
        try (var in = ClientHelloFingerprintTest.class.getResourceAsStream("/posture/" + fixture)) {
            hello = in.readAllBytes();
        }

        ClientHelloFingerprint.Complete c = complete(hello);

        assertThat(c.fingerprint()).isEqualTo("t13d1517h2_8daaf6152771_cb7bf5808d99");
        assertThat(c.version()).isEqualTo("1.3");
    }

    @Test
    void read_helloArrivingByteByByte_needMoreUntilComplete() throws Exception {
        byte[] hello = jdkHello(new String[] {"TLSv1.3"}, "a.example", "http/1.1");

        for (int n = 0; n < hello.length; n++) {
            assertThat(ClientHelloFingerprint.read(hello, n))
                    .as("after %d bytes", n).isInstanceOf(ClientHelloFingerprint.NeedMore.class);
        }
        assertThat(ClientHelloFingerprint.read(hello, hello.length))
                .isInstanceOf(ClientHelloFingerprint.Complete.class);
    }

    @Test
    void read_helloSplitAcrossTwoRecords_sameFingerprint() throws Exception {
        byte[] hello = jdkHello(new String[] {"TLSv1.3"}, "a.example", "h2");
        byte[] body = Arrays.copyOfRange(hello, 5, hello.length);
        int half = body.length / 2;
        ByteArrayOutputStream two = new ByteArrayOutputStream();
        two.writeBytes(record(Arrays.copyOfRange(body, 0, half)));
        two.writeBytes(record(Arrays.copyOfRange(body, half, body.length)));

        assertThat(complete(two.toByteArray()).fingerprint()).isEqualTo(complete(hello).fingerprint());
    }

    @Test
    void read_plainHttpOrGarbage_notClientHello() {
        byte[] http = "GET / HTTP/1.1\r\nHost: a\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        byte[] serverHello = {22, 3, 3, 0, 4, 2, 0, 0, 0};
        byte[] truncatedBody = {22, 3, 3, 0, 6, 1, 0, 0, 2, 3, 3};

        assertThat(ClientHelloFingerprint.read(http, http.length))
                .isInstanceOf(ClientHelloFingerprint.NotClientHello.class);
        assertThat(ClientHelloFingerprint.read(serverHello, serverHello.length))
                .isInstanceOf(ClientHelloFingerprint.NotClientHello.class);
        assertThat(ClientHelloFingerprint.read(truncatedBody, truncatedBody.length))
                .isInstanceOf(ClientHelloFingerprint.NotClientHello.class);
    }

    @Test
    void grease_rfc8701Values_recognised() {
        assertThat(ClientHelloFingerprint.grease(0x0a0a)).isTrue();
        assertThat(ClientHelloFingerprint.grease(0xfafa)).isTrue();
        assertThat(ClientHelloFingerprint.grease(0x0a1a)).isFalse();
        assertThat(ClientHelloFingerprint.grease(0x1301)).isFalse();
    }

    static byte[] record(byte[] payload) {
        ByteArrayOutputStream r = new ByteArrayOutputStream();
        r.writeBytes(new byte[] {22, 3, 1, (byte) (payload.length >> 8), (byte) payload.length});
        r.writeBytes(payload);
        return r.toByteArray();
    }

    /** A ClientHello with Chrome's example lists, GREASE added, extensions optionally shuffled. */
    static byte[] syntheticHello(boolean grease, boolean shuffle) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        u16(body, 0x0303);
        body.writeBytes(new byte[32]);
        body.write(0);
        List<Integer> ciphers = new ArrayList<>();
        if (grease) {
            ciphers.add(0x3a3a);
        }
        for (int c : CHROME_CIPHERS) {
            ciphers.add(c);
        }
        u16(body, ciphers.size() * 2);
        ciphers.forEach(c -> u16(body, c));
        body.write(1);
        body.write(0);
        List<byte[]> extensions = new ArrayList<>();
        extensions.add(extension(0x0000, sni("example.com")));
        extensions.add(extension(0x0010, alpn("h2", "http/1.1")));
        extensions.add(extension(0x000d, list16(CHROME_SIGNATURES)));
        extensions.add(extension(0x002b, new byte[] {6, 0x2a, 0x2a, 3, 4, 3, 3}));
        for (int e : CHROME_PLAIN_EXTENSIONS) {
            extensions.add(extension(e, new byte[0]));
        }
        if (shuffle) {
            Collections.shuffle(extensions, new java.util.Random(7));
        }
        if (grease) {
            extensions.add(0, extension(0x1a1a, new byte[0]));
            extensions.add(extension(0xdada, new byte[] {0}));
        }
        ByteArrayOutputStream ext = new ByteArrayOutputStream();
        extensions.forEach(ext::writeBytes);
        u16(body, ext.size());
        body.writeBytes(ext.toByteArray());
        byte[] b = body.toByteArray();
        ByteArrayOutputStream handshake = new ByteArrayOutputStream();
        handshake.write(1);
        handshake.write(b.length >> 16);
        u16(handshake, b.length & 0xffff);
        handshake.writeBytes(b);
        return record(handshake.toByteArray());
    }

    static byte[] extension(int type, byte[] data) {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        u16(e, type);
        u16(e, data.length);
        e.writeBytes(data);
        return e.toByteArray();
    }

    static byte[] sni(String host) {
        byte[] name = host.getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream s = new ByteArrayOutputStream();
        u16(s, name.length + 3);
        s.write(0);
        u16(s, name.length);
        s.writeBytes(name);
        return s.toByteArray();
    }

    static byte[] alpn(String... protocols) {
        ByteArrayOutputStream list = new ByteArrayOutputStream();
        for (String p : protocols) {
            list.write(p.length());
            list.writeBytes(p.getBytes(StandardCharsets.US_ASCII));
        }
        ByteArrayOutputStream a = new ByteArrayOutputStream();
        u16(a, list.size());
        a.writeBytes(list.toByteArray());
        return a.toByteArray();
    }

    static byte[] list16(int[] values) {
        ByteArrayOutputStream l = new ByteArrayOutputStream();
        u16(l, values.length * 2);
        for (int v : values) {
            u16(l, v);
        }
        return l.toByteArray();
    }

    static void u16(ByteArrayOutputStream out, int v) {
        out.write(v >> 8 & 0xff);
        out.write(v & 0xff);
    }
}
