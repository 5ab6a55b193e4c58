package dev.pep.it;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

/**
 * An HTTP/1.1 application behind the gateway on 127.0.0.1:0: a raw-socket server with keep-alive
 * that records every request's head bytes exactly as received, and its body (chunked bodies
 * de-chunked). What it answers depends on its {@link Mode}. Thread-safe; one thread per connection.
 */
final class RecordingUpstream implements AutoCloseable {

    /** How the fixture answers a request it has read completely. */
    enum Mode {
        /**
         * 200 with a small text body {@code <method> <target> <bodyLength> <bodySha256>}; the query
         * parameter {@code size=N} asks for N bytes of {@link #pattern} instead, {@code chunked}
         * for a chunked response, {@code delay=MS} waits that long first, {@code events=N} streams N
     * server-sent events, one every 100 ms.
         */
        ANSWER,
        /** Reads the request and never answers (the connection stays open). */
        HANG,
        /** Reads the request and closes the connection without a byte of response. */
        CLOSE_IMMEDIATELY,
        /** Sends a head announcing 100000 bytes, then 1000 of them, then closes. */
        CLOSE_MID_RESPONSE
    }

    private static final int MAX_HEAD = 64 * 1024;

    private final ServerSocket server;
    private final Mode mode;
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final List<RecordedRequest> heads = new CopyOnWriteArrayList<>();
    private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connections = new AtomicInteger();

    private RecordingUpstream(Mode mode, ServerSocket server) {
        this.mode = mode;
        this.server = server;
        Thread t = new Thread(this::acceptLoop, "upstream-" + mode + "-" + server.getLocalPort());
        t.setDaemon(true);
        t.start();
    }

    /** Starts a fixture listening on 127.0.0.1 and a free port. */
    static RecordingUpstream start(Mode mode) throws IOException {
        return new RecordingUpstream(mode, new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    }

    /** Starts a fixture that speaks TLS with the key and certificate of {@code tls}. */
    static RecordingUpstream startTls(Mode mode, SSLContext tls) throws IOException {
        return new RecordingUpstream(mode, tls.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    }

    /**
     * Starts a TLS fixture as above that requires a client certificate: {@code tls} decides which
     * it trusts; a client without one (or with another) fails the handshake and sends nothing.
     */
    static RecordingUpstream startMutualTls(Mode mode, SSLContext tls) throws IOException {
        SSLServerSocket server = (SSLServerSocket) tls.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        server.setNeedClientAuth(true);
        return new RecordingUpstream(mode, server);
    }

    /** A port nothing listens on: bound once to get a free number, then released. */
    static int unboundPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** {@code n} bytes of a fixed pattern, the body the fixture sends for {@code size=n}. */
    static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) ('a' + i % 26);
        }
        return b;
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    int port() {
        return server.getLocalPort();
    }

    /** {@code http://127.0.0.1:port} ({@code https} for a TLS fixture), for the gateway's app config. */
    String url() {
        return (server instanceof SSLServerSocket ? "https" : "http") + "://127.0.0.1:" + port();
    }

    /** Every complete request received so far, in order. */
    List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    /** Every request head received so far, body complete or not, in order. */
    List<RecordedRequest> heads() {
        return List.copyOf(heads);
    }

    /** Connections accepted since the last {@link #clear()}. */
    int connections() {
        return connections.get();
    }

    /** Forgets what was recorded (connections stay open). */
    void clear() {
        requests.clear();
        heads.clear();
        connections.set(0);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                connections.incrementAndGet();
                sockets.add(s);
                Thread t = new Thread(() -> serve(s), "upstream-conn-" + s.getPort());
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            while (true) {
                byte[] head = readHead(in);
                if (head == null) {
                    return;
                }
                RecordedRequest r = RecordedRequest.parse(head);
                heads.add(r);
                if (mode == Mode.ANSWER && r.queryParam("sink").isPresent()) {
                    sink(r, in, out);
                    requests.add(r);
                    continue;
                }
                if (r.header("expect").filter(v -> v.equalsIgnoreCase("100-continue")).isPresent()) {
                    // RFC 9110 10.1.1: the client waits for this before it sends the body.
                    out.write("HTTP/1.1 100 Continue\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
                RecordedRequest full = r.withBody(readBody(in, r));
                requests.add(full);
                if (!answer(full, in, out)) {
                    return;
                }
            }
        } catch (IOException e) {
            // The gateway closed the connection; nothing to record.
        } finally {
            sockets.remove(s);
        }
    }

    /** Answers according to the mode; false when the connection must end. */
    private boolean answer(RecordedRequest r, InputStream in, OutputStream out) throws IOException {
        switch (mode) {
            case HANG -> {
                // Holds the connection, answering nothing, until the gateway gives up on it.
                while (in.read() >= 0) {
                    // Discards anything more the gateway sends.
                }
                return false;
            }
            case CLOSE_IMMEDIATELY -> {
                return false;
            }
            case CLOSE_MID_RESPONSE -> {
                out.write("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(pattern(1000));
                out.flush();
                return false;
            }
            default -> {
                return answerNormally(r, out);
            }
        }
    }

    private static boolean answerNormally(RecordedRequest r, OutputStream out) throws IOException {
        Optional<String> delay = r.queryParam("delay");
        if (delay.isPresent()) {
            try {
                Thread.sleep(Long.parseLong(delay.get()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        Optional<String> events = r.queryParam("events");
        if (events.isPresent()) {
            return answerEvents(Integer.parseInt(events.get()), out);
        }
        Optional<String> stream = r.queryParam("stream");
        if (stream.isPresent()) {
            return answerStream(Long.parseLong(stream.get()), out);
        }
        byte[] body = r.queryParam("size").map(n -> pattern(Integer.parseInt(n)))
                .orElseGet(() -> (r.method() + " " + r.target() + " " + r.body().length + " "
                        + sha256(r.body()) + "\n").getBytes(StandardCharsets.UTF_8));
        if (r.queryParam("chunked").isPresent()) {
            return answerChunked(body, out);
        }
        boolean close = r.header("connection").map(v -> v.toLowerCase(Locale.ROOT).contains("close"))
                .orElse(false);
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
                + "\r\nX-Upstream: recording\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        if (!r.method().equals("HEAD")) {
            // RFC 9110 9.3.2: a HEAD response announces the length but carries no body.
            out.write(body);
        }
        out.flush();
        return !close;
    }

    /** {@code n} bytes of the pattern with a Content-Length, generated piece by piece. */
    private static boolean answerStream(long n, OutputStream out) throws IOException {
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " + n
                + "\r\nX-Upstream: recording\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        byte[] piece = new byte[64 * 1024];
        for (long off = 0; off < n; off += piece.length) {
            int len = (int) Math.min(piece.length, n - off);
            patternAt(off, piece, len);
            out.write(piece, 0, len);
        }
        out.flush();
        return true;
    }

    /** Reads a body slowly, answering {@code <method> <target> <length> <sha256>} as for a small one. */
    private static void sink(RecordedRequest r, InputStream in, OutputStream out) throws IOException {
        long remaining = r.header("content-length").map(Long::parseLong).orElse(0L);
        long pause = r.queryParam("pause").map(Long::parseLong).orElse(0L);
        MessageDigest sha = sha256();
        byte[] piece = new byte[64 * 1024];
        long length = 0;
        while (remaining > 0) {
            int n = in.read(piece, 0, (int) Math.min(piece.length, remaining));
            if (n < 0) {
                throw new EOFException("connection closed with " + remaining + " body bytes to come");
            }
            sha.update(piece, 0, n);
            length += n;
            remaining -= n;
            sleep(pause);
        }
        byte[] body = (r.method() + " " + r.target() + " " + length + " "
                + HexFormat.of().formatHex(sha.digest()) + "\n").getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + body.length
                + "\r\nX-Upstream: recording\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.write(body);
        out.flush();
    }

    /** Fills {@code piece[0..len)} with the pattern as it runs from byte {@code offset} on. */
    static void patternAt(long offset, byte[] piece, int len) {
        for (int i = 0; i < len; i++) {
            piece[i] = (byte) ('a' + (offset + i) % 26);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long ms) throws IOException {
        if (ms <= 0) {
            return;
        }
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }

    /**
     * A server-sent-events stream of {@code n} events, one every 100 ms ({@code data: tick I}),
     * chunked; a long-lived response whose end the tests can tell from its being cut.
     */
    private static boolean answerEvents(int n, OutputStream out) throws IOException {
        out.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        for (int i = 1; i <= n; i++) {
            byte[] event = ("data: tick " + i + "\n\n").getBytes(StandardCharsets.UTF_8);
            out.write((Integer.toHexString(event.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(event);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return true;
    }

    /** The same body in chunks of at most 8000 bytes, with a trailer-less last chunk. */
    private static boolean answerChunked(byte[] body, OutputStream out) throws IOException {
        out.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nX-Upstream: recording\r\n\r\n"
                .getBytes(StandardCharsets.US_ASCII));
        for (int off = 0; off < body.length; off += 8000) {
            int n = Math.min(8000, body.length - off);
            out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body, off, n);
            out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        }
        out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        return true;
    }

    /** The head up to and including the empty line, or null at a clean end of stream. */
    private static byte[] readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int c = in.read();
            if (c < 0) {
                if (b.size() == 0) {
                    return null;
                }
                throw new EOFException("end of stream inside a request head");
            }
            b.write(c);
            matched = c == (matched % 2 == 0 ? '\r' : '\n') ? matched + 1 : c == '\r' ? 1 : 0;
            if (b.size() > MAX_HEAD) {
                throw new IOException("request head too large");
            }
        }
        return b.toByteArray();
    }

    private static byte[] readBody(InputStream in, RecordedRequest r) throws IOException {
        Optional<String> te = r.header("transfer-encoding");
        if (te.isPresent() && te.get().toLowerCase(Locale.ROOT).contains("chunked")) {
            return readChunked(in);
        }
        long length = r.header("content-length").map(Long::parseLong).orElse(0L);
        return readExactly(in, Math.toIntExact(length));
    }

    private static byte[] readChunked(InputStream in) throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        while (true) {
            String line = readLine(in);
            int semi = line.indexOf(';');
            int size = Integer.parseInt((semi < 0 ? line : line.substring(0, semi)).trim(), 16);
            if (size == 0) {
                while (!readLine(in).isEmpty()) {
                    // Trailer fields: ignored.
                }
                return body.toByteArray();
            }
            body.write(readExactly(in, size));
            readLine(in);
        }
    }

    /** Exactly {@code n} bytes: a body cut short by a closed connection is no request. */
    private static byte[] readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
            throw new EOFException("connection closed after " + b.length + " of " + n + " body bytes");
        }
        return b;
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new EOFException("end of stream inside a chunked body");
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    /**
     * One request as the application saw it.
     *
     * @param head the request line and header section, byte for byte, ending in CRLF CRLF
     * @param body the body (de-chunked)
     */
    record RecordedRequest(byte[] head, byte[] body) {

        static RecordedRequest parse(byte[] head) {
            return new RecordedRequest(head, new byte[0]);
        }

        RecordedRequest withBody(byte[] b) {
            return new RecordedRequest(head, b);
        }

        String headText() {
            return new String(head, StandardCharsets.ISO_8859_1);
        }

        String requestLine() {
            return headText().substring(0, headText().indexOf("\r\n"));
        }

        String method() {
            return requestLine().split(" ")[0];
        }

        String target() {
            return requestLine().split(" ")[1];
        }

        /** Header fields in order as {@code [name, value]}, names as sent. */
        List<String[]> headers() {
            List<String[]> fields = new ArrayList<>();
            String[] lines = headText().split("\r\n");
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                if (colon > 0) {
                    fields.add(new String[] {lines[i].substring(0, colon), lines[i].substring(colon + 1).trim()});
                }
            }
            return fields;
        }

        /** Every value of a field, name compared case-insensitively. */
        List<String> headerValues(String name) {
            return headers().stream().filter(f -> f[0].equalsIgnoreCase(name)).map(f -> f[1]).toList();
        }

        Optional<String> header(String name) {
            return headerValues(name).stream().findFirst();
        }

        Optional<String> queryParam(String name) {
            String t = target();
            int q = t.indexOf('?');
            if (q < 0) {
                return Optional.empty();
            }
            for (String pair : t.substring(q + 1).split("&")) {
                if (pair.startsWith(name + "=")) {
                    return Optional.of(pair.substring(name.length() + 1));
                }
            }
            return Optional.empty();
        }

        @Override
        public String toString() {
            return headText() + "[" + body.length + " body bytes]";
        }
    }
}
