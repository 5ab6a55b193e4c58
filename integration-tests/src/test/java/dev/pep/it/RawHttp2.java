package dev.pep.it;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.net.ssl.SSLSocket;

/**
 * A hand-written HTTP/2 client that speaks in frames (RFC 9113), for the tests a well-behaved
 * client cannot do: read the gateway's SETTINGS, reset streams in a burst, never end a header
 * block. Header blocks are HPACK literals without indexing or Huffman (RFC 7541 6.2.2), which any
 * decoder must accept. One thread writes; {@link #read()} may run on another.
 */
final class RawHttp2 implements AutoCloseable {

    static final int DATA = 0x0;
    static final int HEADERS = 0x1;
    static final int RST_STREAM = 0x3;
    static final int SETTINGS = 0x4;
    static final int PING = 0x6;
    static final int GOAWAY = 0x7;
    static final int WINDOW_UPDATE = 0x8;
    static final int CONTINUATION = 0x9;
    static final int END_STREAM = 0x1;
    static final int ACK = 0x1;
    static final int END_HEADERS = 0x4;

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final SSLSocket socket;
    private final DataInputStream in;
    private final OutputStream out;

    private RawHttp2(SSLSocket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    /** Connects with ALPN h2 only, then sends the preface and an empty SETTINGS frame. */
    static RawHttp2 connect(int port, String sni, Path caPem) throws IOException, GeneralSecurityException {
        return connect(Clients.trusting(caPem), port, sni);
    }

    /** As {@link #connect(int, String, Path)} with the client's own TLS context. */
    static RawHttp2 connect(javax.net.ssl.SSLContext context, int port, String sni) throws IOException {
        SSLSocket s = Clients.tls(context, port, sni, "h2");
        if (!"h2".equals(s.getApplicationProtocol())) {
            s.close();
            throw new IOException("ALPN chose '" + s.getApplicationProtocol() + "', not h2");
        }
        RawHttp2 h2 = new RawHttp2(s);
        h2.out.write(PREFACE);
        h2.write(SETTINGS, 0, 0, new byte[0]);
        return h2;
    }

    /** Writes one frame and flushes it. */
    synchronized void write(int type, int flags, int stream, byte[] payload) throws IOException {
        ByteBuffer head = ByteBuffer.allocate(9);
        head.put((byte) (payload.length >>> 16)).put((byte) (payload.length >>> 8)).put((byte) payload.length);
        head.put((byte) type).put((byte) flags).putInt(stream & 0x7fffffff);
        out.write(head.array());
        out.write(payload);
        out.flush();
    }

    /** The next frame, or null when the gateway closed the connection. */
    Frame read() throws IOException {
        int length;
        try {
            length = in.readUnsignedByte() << 16 | in.readUnsignedByte() << 8 | in.readUnsignedByte();
        } catch (EOFException e) {
            return null;
        }
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int stream = in.readInt() & 0x7fffffff;
        byte[] payload = new byte[length];
        in.readFully(payload);
        return new Frame(type, flags, stream, payload);
    }

    /** Reads frames until the connection ends (or the socket's read timeout passes); null for a timeout. */
    java.util.List<Frame> readToEnd() throws IOException {
        java.util.List<Frame> frames = new java.util.ArrayList<>();
        try {
            for (Frame f = read(); f != null; f = read()) {
                frames.add(f);
            }
            return frames;
        } catch (SocketTimeoutException e) {
            return null;
        } catch (IOException e) {
            // A reset after GOAWAY ends the connection as surely as a FIN does.
            return frames;
        }
    }

    /** Sets how long {@link #read()} waits. */
    void readTimeout(java.time.Duration d) throws IOException {
        socket.setSoTimeout((int) d.toMillis());
    }

    /** A GET request's header block for {@code authority} and {@code path}, plus extra fields. */
    static byte[] getHeaders(String authority, String path, String... extraNamesAndValues) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        literal(b, ":method", "GET");
        literal(b, ":scheme", "https");
        literal(b, ":authority", authority);
        literal(b, ":path", path);
        for (int i = 0; i < extraNamesAndValues.length; i += 2) {
            literal(b, extraNamesAndValues[i], extraNamesAndValues[i + 1]);
        }
        return b.toByteArray();
    }

    /** One header field as an HPACK literal without indexing, new name (RFC 7541 6.2.2). */
    static byte[] literal(String name, String value) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        literal(b, name, value);
        return b.toByteArray();
    }

    private static void literal(ByteArrayOutputStream b, String name, String value) {
        b.write(0x00);
        string(b, name.getBytes(StandardCharsets.US_ASCII));
        string(b, value.getBytes(StandardCharsets.US_ASCII));
    }

    /** An HPACK string without Huffman: a 7-bit-prefix length (RFC 7541 5.1), then the bytes. */
    private static void string(ByteArrayOutputStream b, byte[] s) {
        int n = s.length;
        if (n < 127) {
            b.write(n);
        } else {
            b.write(127);
            n -= 127;
            while (n >= 128) {
                b.write(n % 128 + 128);
                n /= 128;
            }
            b.write(n);
        }
        b.writeBytes(s);
    }

    static byte[] int32(int v) {
        return ByteBuffer.allocate(4).putInt(v).array();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** One frame as received. */
    record Frame(int type, int flags, int stream, byte[] payload) {

        /** The parameters of a SETTINGS frame by identifier (RFC 9113 6.5.2). */
        Map<Integer, Long> settings() {
            Map<Integer, Long> values = new LinkedHashMap<>();
            ByteBuffer p = ByteBuffer.wrap(payload);
            while (p.remaining() >= 6) {
                values.put(p.getShort() & 0xffff, p.getInt() & 0xffffffffL);
            }
            return values;
        }

        /** The increment of a WINDOW_UPDATE frame, or the error code of a GOAWAY frame. */
        long int32At(int offset) {
            return ByteBuffer.wrap(payload, offset, 4).getInt() & 0x7fffffffL;
        }

        boolean has(int flag) {
            return (flags & flag) != 0;
        }
    }
}
