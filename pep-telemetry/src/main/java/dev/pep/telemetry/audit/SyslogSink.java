package dev.pep.telemetry.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Ships events as syslog messages (RFC 5424) over TLS (RFC 5425), octet-counting framing, one
 * message per event: facility 13 (log audit), severity informational or warning, HOSTNAME the
 * gateway instance, APP-NAME {@code pep}, MSGID the event type, {@code [meta sequenceId]} the
 * event's seq, and the MSG the canonical JSON line (UTF-8 with BOM), so receivers
 * de-duplicate by its {@code id}.
 *
 * <p>Syslog has no acknowledgement: a write the kernel accepted may still be lost when the
 * receiver fails. So the sink keeps the events written over the current connection (up to
 * {@link #REPLAY_BYTES}) and, when a write fails, reconnects and sends them again before the
 * retried batch: at least once, with duplicates that receivers drop by {@code id}. A write that
 * blocks longer than the timeout closes the connection and fails the batch.
 */
// LIMITATION(L-309): syslog has no acknowledgement; only the last 4 MiB written are sent again.
public final class SyslogSink implements DeliverySink {

    /** How many bytes of recently written messages are kept for a replay after a failure. */
    static final int REPLAY_BYTES = 4 << 20;
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final int FACILITY_LOG_AUDIT = 13;
    private static final int SEVERITY_WARNING = 4;
    private static final int SEVERITY_INFORMATIONAL = 6;
    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    private final String name;
    private final String hostname;
    private final InetSocketAddress address;
    private final SSLContext tls;
    private final Duration timeout;
    private final String procId = Long.toString(ProcessHandle.current().pid());
    private final ArrayDeque<byte[]> written = new ArrayDeque<>();
    private final ScheduledExecutorService watchdog;
    private long writtenBytes;
    private boolean replayPending;
    private volatile SSLSocket socket;
    private volatile OutputStream out;

    /**
     * A sink named {@code name} for the events of gateway {@code instance}, sent to
     * {@code address} over TLS with {@code tls} (its trust decides which receivers are
     * accepted; the receiver's certificate must also name the host).
     *
     * @param timeout the longest a connect or a batch's writes may take
     */
    public SyslogSink(String name, String instance, InetSocketAddress address, SSLContext tls,
            Duration timeout) {
        this.name = Objects.requireNonNull(name, "name");
        this.hostname = header(Objects.requireNonNull(instance, "instance"), 255);
        this.address = Objects.requireNonNull(address, "address");
        this.tls = Objects.requireNonNull(tls, "tls");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pep-audit-syslog-watchdog-" + name);
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void deliver(List<SpooledEvent> batch) throws IOException {
        List<byte[]> frames = new ArrayList<>(batch.size());
        for (SpooledEvent e : batch) {
            frames.add(frame(e));
        }
        try {
            OutputStream o = connectIfNeeded();
            ScheduledFuture<?> guard = watchdog.schedule(this::disconnect, timeout.toMillis(),
                    TimeUnit.MILLISECONDS);
            try {
                if (replayPending) {
                    // The last connection failed: what it may have lost goes again.
                    for (byte[] f : written) {
                        o.write(f);
                    }
                    replayPending = false;
                }
                for (byte[] f : frames) {
                    o.write(f);
                    remember(f);
                }
                o.flush();
            } finally {
                guard.cancel(false);
            }
        } catch (IOException | RuntimeException e) {
            disconnect();
            replayPending = true;
            throw new IOException("syslog receiver " + address.getHostString() + ":"
                    + address.getPort() + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        disconnect();
        watchdog.shutdownNow();
    }

    /** One octet-counted RFC 5424 message (RFC 5425 section 4.3). */
    byte[] frame(SpooledEvent e) throws IOException {
        JsonNode event = MAPPER.readTree(e.json());
        int severity = event.path("severity_id").asInt(1) >= 3 ? SEVERITY_WARNING
                : SEVERITY_INFORMATIONAL;
        String msgId = header(event.path("type").asText("-"), 32);
        // RFC 5424 7.3.1: sequenceId runs from 1 to 2147483647.
        String sd = e.seq() <= Integer.MAX_VALUE ? "[meta sequenceId=\"" + e.seq() + "\"]" : "-";
        String head = "<" + (FACILITY_LOG_AUDIT * 8 + severity) + ">1 "
                + Instant.ofEpochMilli(e.timeMillis()) + " " + hostname + " pep " + procId + " "
                + msgId + " " + sd + " ";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        byte[] msg = e.json().getBytes(StandardCharsets.UTF_8);
        int length = headBytes.length + BOM.length + msg.length;
        byte[] prefix = (length + " ").getBytes(StandardCharsets.US_ASCII);
        byte[] frame = new byte[prefix.length + length];
        System.arraycopy(prefix, 0, frame, 0, prefix.length);
        System.arraycopy(headBytes, 0, frame, prefix.length, headBytes.length);
        System.arraycopy(BOM, 0, frame, prefix.length + headBytes.length, BOM.length);
        System.arraycopy(msg, 0, frame, prefix.length + headBytes.length + BOM.length,
                msg.length);
        return frame;
    }

    private OutputStream connectIfNeeded() throws IOException {
        OutputStream current = out;
        if (socket != null && current != null) {
            return current;
        }
        SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket();
        try {
            SSLParameters params = tls.getDefaultSSLParameters();
            params.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
            // The receiver's certificate must name the host we dialled, as for HTTPS.
            params.setEndpointIdentificationAlgorithm("HTTPS");
            s.setSSLParameters(params);
            // Resolved at every connect, so a receiver that moves is found again.
            s.connect(new InetSocketAddress(address.getHostString(), address.getPort()),
                    (int) timeout.toMillis());
            s.setSoTimeout((int) timeout.toMillis());
            s.startHandshake();
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
        OutputStream o = new java.io.BufferedOutputStream(s.getOutputStream(), 64 * 1024);
        synchronized (this) {
            socket = s;
            out = o;
        }
        return o;
    }

    private synchronized void disconnect() {
        SSLSocket s = socket;
        socket = null;
        out = null;
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // Closing a failed connection: nothing more to learn from it.
            }
        }
    }

    private void remember(byte[] frame) {
        written.addLast(frame);
        writtenBytes += frame.length;
        while (writtenBytes > REPLAY_BYTES && written.size() > 1) {
            writtenBytes -= written.removeFirst().length;
        }
    }

    /** A header field: printable US-ASCII without spaces, at most {@code max} long, or "-". */
    private static String header(String value, int max) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < value.length() && b.length() < max; i++) {
            char c = value.charAt(i);
            b.append(c > 32 && c < 127 ? c : '_');
        }
        return b.length() == 0 ? "-" : b.toString();
    }
}
