package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The syslog sink against a real TLS receiver that parses RFC 5424 strictly. */
class SyslogSinkTest {

    @TempDir
    static Path pkiDir;

    static TestPki pki;
    static TestPki stranger;

    private SyslogReceiver receiver;

    @BeforeAll
    static void makeCertificates() throws Exception {
        pki = TestPki.create(pkiDir, "receiver");
        stranger = TestPki.create(pkiDir, "stranger");
    }

    @BeforeEach
    void startReceiver() throws Exception {
        receiver = new SyslogReceiver(pki.serverContext()).start();
    }

    @AfterEach
    void stopReceiver() throws IOException {
        receiver.close();
    }

    private SyslogSink sink(TestPki trusted) throws IOException {
        return new SyslogSink("syslog", "gw-1",
                new InetSocketAddress("localhost", receiver.port()),
                TlsFiles.clientContext(trusted.certificatePem, null, null), Duration.ofSeconds(5));
    }

    private static List<SpooledEvent> spooled(List<String> lines, int from, int to) {
        List<SpooledEvent> batch = new ArrayList<>();
        for (int i = from; i < to; i++) {
            String id = String.valueOf(AuditJson.parse(lines.get(i)).get("id"));
            batch.add(new SpooledEvent(i + 1, id, Fixtures.NOW.toEpochMilli(), lines.get(i)));
        }
        return batch;
    }

    @Test
    void deliver_batch_receiverParsesOneRfc5424MessagePerEventWithTheJsonLine() throws Exception {
        List<String> lines = Fixtures.chainedLines(3);

        try (SyslogSink sink = sink(pki)) {
            sink.deliver(spooled(lines, 0, 3));
        }

        Awaitility.await().atMost(Duration.ofSeconds(5))
                .until(() -> receiver.messages.size() == 3);
        assertThat(receiver.errors).isEmpty();
        assertThat(receiver.jsonLines()).isEqualTo(lines);
        SyslogReceiver.Message first = receiver.messages.get(0);
        assertThat(first.pri()).isEqualTo(13 * 8 + 6); // log audit, informational
        assertThat(first.timestamp()).isEqualTo(Instant.parse("2026-12-03T20:00:00Z"));
        assertThat(first.hostname()).isEqualTo("gw-1");
        assertThat(first.appName()).isEqualTo("pep");
        assertThat(first.procId()).isEqualTo(Long.toString(ProcessHandle.current().pid()));
        assertThat(first.msgId()).isEqualTo(AuditJson.parse(lines.get(0)).get("type"));
        assertThat(first.structuredData()).isEqualTo("[meta sequenceId=\"1\"]");
    }

    @Test
    void deliver_receiverCertificateNotTrusted_failsAndSendsNothing() throws Exception {
        try (SyslogSink sink = sink(stranger)) {
            assertThatThrownBy(() -> sink.deliver(spooled(Fixtures.chainedLines(1), 0, 1)))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("syslog receiver localhost:" + receiver.port());
        }

        assertThat(receiver.messages).isEmpty();
    }

    @Test
    void deliver_receiverCrashedAndBack_sendsWhatTheDeadConnectionTookAgain() throws Exception {
        List<String> lines = Fixtures.chainedLines(30);
        List<String> acknowledged = new ArrayList<>();
        try (SyslogSink sink = sink(pki)) {
            sink.deliver(spooled(lines, 0, 10));
            Awaitility.await().atMost(Duration.ofSeconds(5))
                    .until(() -> receiver.messages.size() == 10);
            receiver.stop();
            // Writes into a connection whose peer is gone: the kernel takes some, nobody reads.
            int next = 10;
            while (next < 30 && deliverOne(sink, spooled(lines, next, next + 1))) {
                acknowledged.add(lines.get(next++));
            }
            assertThat(next).as("a write to the stopped receiver failed").isLessThan(30);
            receiver.start();

            sink.deliver(spooled(lines, next, 30)); // the pipeline retries from the failed batch
        }

        assertThat(acknowledged).as("writes the dead connection took").isNotEmpty();
        Awaitility.await().atMost(Duration.ofSeconds(5))
                .until(() -> new HashSet<>(receiver.jsonLines()).size() == 30);
        assertThat(receiver.errors).isEmpty();
        assertThat(new HashSet<>(receiver.jsonLines())).isEqualTo(new HashSet<>(lines));
    }

    private static boolean deliverOne(SyslogSink sink, List<SpooledEvent> batch) {
        try {
            sink.deliver(batch);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
