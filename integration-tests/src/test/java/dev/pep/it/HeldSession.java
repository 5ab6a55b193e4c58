package dev.pep.it;

import static org.awaitility.Awaitility.await;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import javax.net.ssl.SSLSocket;

/**
 * A long-lived session a real client holds through the gateway, of one kind: a WebSocket, a
 * server-sent-events stream over HTTP/1.1 or HTTP/2, an HTTP/1.1 keep-alive connection or an
 * HTTP/2 connection left idle after an exchange, a TCP session of {@code openssl s_client}. Each
 * knows when the gateway ended it (the {@link System#nanoTime()} it noticed) and can show that
 * data still flows through it.
 */
abstract class HeldSession implements AutoCloseable {

    private static final Duration FLOW = Duration.ofSeconds(10);

    final String kind;
    final String app;
    final long opened = System.nanoTime();
    /** Completes with the nanoTime at which the client saw the gateway end the session. */
    final CompletableFuture<Long> ended = new CompletableFuture<>();

    HeldSession(String kind, String app) {
        this.kind = kind;
        this.app = app;
    }

    /** Proves data still flows both ways (or from the app, for a stream); throws if not. */
    abstract void assertFlowing() throws Exception;

    @Override
    public abstract void close();

    @Override
    public String toString() {
        return kind + "@" + app;
    }

    /** Milliseconds from {@code since} (a nanoTime) to the end, once ended. */
    long msAfter(long since) {
        return TimeUnit.NANOSECONDS.toMillis(ended.join() - since);
    }

    void endedNow() {
        ended.complete(System.nanoTime());
    }

    /** Waits until {@code answers} moved past {@code before}; throws if it did not in time. */
    void awaitAnswer(AtomicInteger answers, int before) {
        await().atMost(FLOW).until(() -> answers.get() > before || ended.isDone());
        if (answers.get() == before) {
            throw new AssertionError(this + " was not answered");
        }
    }

    /** Runs {@code reader} on a daemon thread of its own. */
    void reading(Runnable reader) {
        Thread t = new Thread(reader, kind + "-" + app);
        t.setDaemon(true);
        t.start();
    }

    static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            // Closing anyway.
        }
    }

    /** The credential a session presents: a header, or none when {@code value} is null. */
    record Auth(String name, String value) {
        static final Auth NONE = new Auth("Cookie", null);

        static Auth cookie(String cookie) {
            return new Auth("Cookie", cookie);
        }

        static Auth bearer(String token) {
            return new Auth("Authorization", "Bearer " + token);
        }
    }

    static String url(String app, int port, String pathAndQuery) {
        return "https://" + app + ".pep.localhost:" + port + pathAndQuery;
    }

    /** A WebSocket to the echo server; how it closed in {@link #closedWith}. */
    static final class Socket extends HeldSession {
        private final EchoSocket socket;

        Socket(HttpClient client, int port, String app, Auth auth) throws Exception {
            super("websocket", app);
            socket = EchoSocket.open(client, port, app, auth.name(), auth.value());
            socket.closed.whenComplete((how, e) -> endedNow());
            assertFlowing();
        }

        /** The close frame's code and reason, once closed. */
        String closedWith() {
            return socket.closed.join();
        }

        @Override
        void assertFlowing() throws Exception {
            String text = "ping " + System.nanoTime();
            if (!text.equals(socket.echo(text))) {
                throw new AssertionError(this + " did not echo");
            }
        }

        @Override
        public void close() {
            socket.socket.abort();
        }
    }

    /** A server-sent-events stream from {@link RecordingUpstream}, one event every 100 ms. */
    static final class Events extends HeldSession {
        final AtomicInteger events = new AtomicInteger();
        private volatile Stream<String> lines;

        Events(HttpClient client, int port, String app, Auth auth) {
            super(client.version() == HttpClient.Version.HTTP_2 ? "sse-h2" : "sse-h1", app);
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url(app, port, "/stream?events=3000")))
                    .header("Accept", "text/event-stream");
            if (auth.value() != null) {
                b.header(auth.name(), auth.value());
            }
            client.sendAsync(b.build(), HttpResponse.BodyHandlers.ofLines()).whenComplete((response, error) -> {
                if (error != null || response.statusCode() != 200) {
                    endedNow();
                    return;
                }
                reading(() -> read(response.body()));
            });
            await().atMost(FLOW).until(() -> events.get() >= 1 || ended.isDone());
            if (events.get() == 0) {
                throw new AssertionError(this + " did not start");
            }
        }

        private void read(Stream<String> body) {
            lines = body;
            try {
                body.forEach(line -> {
                    if (line.startsWith("data: ")) {
                        events.incrementAndGet();
                    }
                });
            } catch (RuntimeException cut) {
                // The gateway reset the stream or closed the connection: the stream ended.
            }
            endedNow();
        }

        @Override
        void assertFlowing() {
            int before = events.get();
            await().atMost(FLOW).until(() -> events.get() >= before + 2 || ended.isDone());
            if (ended.isDone()) {
                throw new AssertionError(this + " ended");
            }
        }

        @Override
        public void close() {
            Stream<String> l = lines;
            if (l != null) {
                l.close();
            }
        }
    }

    /** An HTTP/1.1 keep-alive connection that carried one exchange and now waits for the next. */
    static final class IdleHttp1 extends HeldSession {
        private final SSLSocket socket;
        private final String host;
        private final Auth auth;
        private final AtomicInteger answers = new AtomicInteger();

        IdleHttp1(int port, Path ca, String app, Auth auth) throws Exception {
            this(Clients.trusting(ca), port, app, auth);
        }

        /** With the client's own TLS context (a device certificate, say). */
        IdleHttp1(javax.net.ssl.SSLContext tls, int port, String app, Auth auth) throws Exception {
            super("idle-h1", app);
            this.host = app + ".pep.localhost";
            this.auth = auth;
            socket = Clients.tls(tls, port, host, "http/1.1");
            socket.setSoTimeout(0);
            reading(this::read);
            assertFlowing();
        }

        private void read() {
            try {
                InputStream in = socket.getInputStream();
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                for (int b = in.read(); b >= 0; b = in.read()) {
                    line.write(b);
                    if (b == '\n') {
                        if (line.toString(StandardCharsets.US_ASCII).startsWith("HTTP/1.1 200")) {
                            answers.incrementAndGet();
                        }
                        line.reset();
                    }
                }
            } catch (IOException cut) {
                // A reset ends the connection as surely as a close_notify.
            }
            endedNow();
        }

        @Override
        void assertFlowing() throws IOException {
            int before = answers.get();
            OutputStream out = socket.getOutputStream();
            String credential = auth.value() == null ? "" : auth.name() + ": " + auth.value() + "\r\n";
            out.write(("GET /idle HTTP/1.1\r\nHost: " + host + "\r\n" + credential + "\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            awaitAnswer(answers, before);
        }

        @Override
        public void close() {
            closeQuietly(socket);
        }
    }

    /** An HTTP/2 connection that carried an exchange and has no stream open: ended by GOAWAY. */
    static final class IdleHttp2 extends HeldSession {
        private final RawHttp2 h2;
        private final String authority;
        private final Auth auth;
        private final AtomicInteger answers = new AtomicInteger();
        private int stream = 1;
        volatile boolean goaway;

        IdleHttp2(int port, Path ca, String app, Auth auth) throws Exception {
            this(Clients.trusting(ca), port, app, auth);
        }

        /** With the client's own TLS context (a device certificate, say). */
        IdleHttp2(javax.net.ssl.SSLContext tls, int port, String app, Auth auth) throws Exception {
            super("idle-h2", app);
            this.authority = app + ".pep.localhost:" + port;
            this.auth = auth;
            h2 = RawHttp2.connect(tls, port, app + ".pep.localhost");
            h2.readTimeout(Duration.ZERO);
            reading(this::read);
            assertFlowing();
        }

        private void read() {
            try {
                for (RawHttp2.Frame f = h2.read(); f != null; f = h2.read()) {
                    if (f.type() == RawHttp2.SETTINGS && !f.has(RawHttp2.ACK)) {
                        h2.write(RawHttp2.SETTINGS, RawHttp2.ACK, 0, new byte[0]);
                    } else if (f.type() == RawHttp2.HEADERS && f.stream() > 0) {
                        answers.incrementAndGet();
                    } else if (f.type() == RawHttp2.GOAWAY) {
                        goaway = true;
                        endedNow();
                    }
                }
            } catch (IOException cut) {
                // The connection ended.
            }
            endedNow();
        }

        @Override
        void assertFlowing() throws IOException {
            int before = answers.get();
            List<String> fields = new ArrayList<>();
            if (auth.value() != null) {
                fields.addAll(List.of(auth.name().toLowerCase(java.util.Locale.ROOT), auth.value()));
            }
            h2.write(RawHttp2.HEADERS, RawHttp2.END_HEADERS | RawHttp2.END_STREAM, stream,
                    RawHttp2.getHeaders(authority, "/idle", fields.toArray(String[]::new)));
            stream += 2;
            awaitAnswer(answers, before);
        }

        @Override
        public void close() {
            closeQuietly(h2);
        }
    }

    /** {@code openssl s_client} on a TCP app that echoes lines; ended when the process exits. */
    static final class OpensslTcp extends HeldSession {
        private final Process process;
        private final List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();

        OpensslTcp(int port, Path ca, String app, Path cert, Path key) throws Exception {
            super("tcp", app);
            ToolResult.assumeInstalled("openssl");
            process = new ProcessBuilder("openssl", "s_client", "-quiet", "-connect", "127.0.0.1:" + port,
                    "-servername", app + ".pep.localhost", "-CAfile", ca.toString(), "-verify_return_error",
                    "-cert", cert.toString(), "-key", key.toString()).redirectErrorStream(true).start();
            reading(this::read);
            process.onExit().whenComplete((p, e) -> endedNow());
            assertFlowing();
        }

        private void read() {
            try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // The process went away.
            }
        }

        @Override
        void assertFlowing() throws IOException {
            String text = "line " + System.nanoTime();
            OutputStream out = process.getOutputStream();
            out.write((text + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            await().atMost(FLOW).until(() -> lines.contains(text) || ended.isDone());
            if (!lines.contains(text)) {
                throw new AssertionError(this + " did not echo; output: " + lines);
            }
        }

        @Override
        public void close() {
            process.destroy();
        }
    }
}
