package dev.pep.telemetry.audit;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;

/**
 * A syslog receiver over TLS (RFC 5425) on loopback that parses every message strictly by the
 * RFC 5424 grammar and keeps them. It can be stopped (listener and connections closed, as a
 * crashed receiver) and started again on the same port.
 */
final class SyslogReceiver implements AutoCloseable {

    /** RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG]; SD limited to what pep sends. */
    private static final Pattern MESSAGE = Pattern.compile(
            "<(\\d{1,3})>1 (\\S+) ([!-~]{1,255}) ([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) "
            + "(-|(?:\\[[!-~&&[^ =\\]\"]]{1,32}(?: [!-~&&[^ =\\]\"]]{1,32}=\"[^\"\\\\\\]]*\")*\\])+)"
            + "(?: (.*))?", Pattern.DOTALL);
    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    /**
     * One parsed message.
     *
     * @param pri facility * 8 + severity
     * @param structuredData as sent
     * @param msg the message text, after its BOM
     */
    record Message(int pri, Instant timestamp, String hostname, String appName, String procId,
            String msgId, String structuredData, String msg) {
    }

    final List<Message> messages = new CopyOnWriteArrayList<>();
    final List<String> errors = new CopyOnWriteArrayList<>();
    private final SSLContext tls;
    private final List<Socket> connections = new CopyOnWriteArrayList<>();
    private volatile ServerSocket listener;
    private int port;

    SyslogReceiver(SSLContext tls) {
        this.tls = tls;
    }

    /** Listens (on the same port as before, after a stop). */
    synchronized SyslogReceiver start() throws IOException {
        SSLServerSocket s = (SSLServerSocket) tls.getServerSocketFactory().createServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        port = s.getLocalPort();
        listener = s;
        Thread t = new Thread(() -> accept(s), "syslog-receiver-accept");
        t.setDaemon(true);
        t.start();
        return this;
    }

    int port() {
        return port;
    }

    /** Closes the listener and every connection, losing whatever was in flight. */
    synchronized void stop() throws IOException {
        ServerSocket s = listener;
        listener = null;
        if (s != null) {
            s.close();
        }
        for (Socket c : connections) {
            c.close();
        }
        connections.clear();
    }

    @Override
    public void close() throws IOException {
        stop();
    }

    /** The JSON lines received, in arrival order, duplicates included. */
    List<String> jsonLines() {
        return messages.stream().map(Message::msg).toList();
    }

    private void accept(ServerSocket s) {
        while (!s.isClosed()) {
            try {
                Socket c = s.accept();
                connections.add(c);
                Thread t = new Thread(() -> read(c), "syslog-receiver-read");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void read(Socket c) {
        try (InputStream in = new BufferedInputStream(c.getInputStream())) {
            while (true) {
                int length = frameLength(in);
                if (length < 0) {
                    return;
                }
                byte[] frame = in.readNBytes(length);
                if (frame.length < length) {
                    return; // cut off by a stop: a crashed receiver loses it
                }
                parse(frame);
            }
        } catch (IOException e) {
            // The connection ended; the sender reconnects.
        }
    }

    /** RFC 5425 section 4.3: MSG-LEN SP; -1 at a clean end of stream. */
    private int frameLength(InputStream in) throws IOException {
        int length = 0;
        int digits = 0;
        int b;
        while ((b = in.read()) != ' ') {
            if (b < 0) {
                return -1;
            }
            if (b < '0' || b > '9' || digits == 0 && b == '0' || ++digits > 9) {
                throw new IOException("bad MSG-LEN byte " + b);
            }
            length = length * 10 + (b - '0');
        }
        return length;
    }

    private void parse(byte[] frame) {
        int msgStart = indexOf(frame, BOM);
        String head = new String(frame, 0, msgStart < 0 ? frame.length : msgStart,
                StandardCharsets.US_ASCII);
        String text = head + (msgStart < 0 ? "" : new String(frame, msgStart + BOM.length,
                frame.length - msgStart - BOM.length, StandardCharsets.UTF_8));
        Matcher m = MESSAGE.matcher(text);
        if (!m.matches() || msgStart < 0 || !head.endsWith(" ")) {
            errors.add("not RFC 5424 with a BOM-prefixed MSG: " + text);
            return;
        }
        try {
            messages.add(new Message(Integer.parseInt(m.group(1)), Instant.parse(m.group(2)),
                    m.group(3), m.group(4), m.group(5), m.group(6), m.group(7), m.group(8)));
        } catch (RuntimeException e) {
            errors.add("bad field in " + text + ": " + e);
        }
    }

    private static int indexOf(byte[] data, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= data.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (data[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static List<String> ids(List<String> jsonLines) {
        List<String> ids = new ArrayList<>();
        for (String line : jsonLines) {
            ids.add(String.valueOf(AuditJson.parse(line).get("id")));
        }
        return ids;
    }

    @Override
    public String toString() {
        return "SyslogReceiver" + Arrays.asList(port, messages.size(), errors.size());
    }
}
