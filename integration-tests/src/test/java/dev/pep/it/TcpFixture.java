package dev.pep.it;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;

/**
 * A TCP app on loopback for the gateway to splice to, plain or TLS, one thread per connection.
 * It counts connections and bytes received, so a test can show that nothing reached it, and keeps
 * the SHA-256 of what each connection sent it.
 */
final class TcpFixture implements AutoCloseable {

    /** What the app does with its bytes. */
    enum Mode {
        /** Echoes every byte; closes when its input ends (half-close aware). */
        ECHO,
        /** Echoes every byte; closes after echoing a line {@code quit}. */
        LINE_ECHO
    }

    private final ServerSocket server;
    private final Mode mode;
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicLong received = new AtomicLong();
    private final List<String> digests = new CopyOnWriteArrayList<>();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    private TcpFixture(ServerSocket server, Mode mode) {
        this.server = server;
        this.mode = mode;
        this.acceptor = new Thread(this::accept, "tcp-fixture-" + server.getLocalPort());
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** A plain TCP app. */
    static TcpFixture start(Mode mode) throws IOException {
        return new TcpFixture(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()), mode);
    }

    /** A TLS app presenting the certificate of {@code tls}. */
    static TcpFixture startTls(Mode mode, SSLContext tls) throws IOException {
        return new TcpFixture(tls.getServerSocketFactory().createServerSocket(0, 50,
                InetAddress.getLoopbackAddress()), mode);
    }

    /** A TLS app as above that requires a client certificate its {@code tls} trusts. */
    static TcpFixture startMutualTls(Mode mode, SSLContext tls) throws IOException {
        javax.net.ssl.SSLServerSocket server = (javax.net.ssl.SSLServerSocket) tls.getServerSocketFactory()
                .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
        server.setNeedClientAuth(true);
        return new TcpFixture(server, mode);
    }

    int port() {
        return server.getLocalPort();
    }

    /** Connections accepted (for TLS: handshakes started) so far. */
    int connections() {
        return connections.get();
    }

    /** Bytes received from all connections so far. */
    long received() {
        return received.get();
    }

    /** The SHA-256 (hex) of what each finished connection sent, in the order they finished. */
    List<String> digests() {
        return List.copyOf(digests);
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : open) {
            s.close();
        }
    }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket s = server.accept();
                connections.incrementAndGet();
                open.add(s);
                Thread t = new Thread(() -> serve(s), "tcp-fixture-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket s) {
        MessageDigest sha = sha256();
        byte[] buf = new byte[64 * 1024];
        StringBuilder line = new StringBuilder();
        try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                received.addAndGet(n);
                sha.update(buf, 0, n);
                out.write(buf, 0, n);
                out.flush();
                if (mode == Mode.LINE_ECHO && quit(line, buf, n)) {
                    break;
                }
            }
            digests.add(HexFormat.of().formatHex(sha.digest()));
        } catch (IOException e) {
            // The gateway closed the connection: the test looks at what was received.
        } finally {
            open.remove(s);
        }
    }

    private static boolean quit(StringBuilder line, byte[] buf, int n) {
        for (String part : new String(buf, 0, n, StandardCharsets.ISO_8859_1).split("(?<=\n)")) {
            line.append(part);
            if (line.toString().endsWith("\n")) {
                if (line.toString().strip().equals("quit")) {
                    return true;
                }
                line.setLength(0);
            }
        }
        return false;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
