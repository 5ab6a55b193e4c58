package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AuditEvent;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SpoolTest {

    private static final AuditEvents EVENTS = Fixtures.events();

    @TempDir
    Path dir;

    private static void append(Spool spool, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            AuditEvent e = EVENTS.sessionEnded("s", 1, 2, Duration.ofSeconds(1), "closed");
            AuditJson.Chained c = AuditJson.chain(e, spool.nextSeq(), spool.headHash());
            spool.append(e.id(), e.time().toEpochMilli(), c.json(), c.hash());
        }
        spool.sync();
    }

    private static List<SpooledEvent> readAll(Spool spool) throws IOException {
        List<SpooledEvent> all = new ArrayList<>();
        try (SpoolReader reader = spool.reader(1)) {
            List<SpooledEvent> batch;
            while (!(batch = reader.read(7)).isEmpty()) {
                all.addAll(batch);
            }
        }
        return all;
    }

    private static List<String> json(List<SpooledEvent> events) {
        return events.stream().map(SpooledEvent::json).toList();
    }

    @Test
    void reopen_afterCleanClose_continuesTheChainWhereItStopped() throws IOException {
        try (Spool spool = Spool.open(dir, 4096)) {
            append(spool, 5);
        }

        try (Spool spool = Spool.open(dir, 4096)) {
            assertThat(spool.nextSeq()).isEqualTo(6);
            append(spool, 3);
            List<SpooledEvent> all = readAll(spool);
            assertThat(all).extracting(SpooledEvent::seq).containsExactly(1L, 2L, 3L, 4L, 5L, 6L,
                    7L, 8L);
            assertThat(AuditChainVerifier.verifyLines(json(all)).intact()).isTrue();
        }
    }

    @Test
    void reader_neverReadsPastTheLastSync() throws IOException {
        try (Spool spool = Spool.open(dir, 4096)) {
            append(spool, 2);
            AuditEvent e = EVENTS.logout("s", Fixtures.subject());
            AuditJson.Chained c = AuditJson.chain(e, spool.nextSeq(), spool.headHash());
            spool.append(e.id(), 0, c.json(), c.hash());

            assertThat(readAll(spool)).hasSize(2);
            spool.sync();
            assertThat(readAll(spool)).hasSize(3);
        }
    }

    @Test
    void open_tornTailRecord_isTruncatedAndTheSpoolStaysUsable() throws IOException {
        Path segment;
        try (Spool spool = Spool.open(dir, 1 << 20)) {
            append(spool, 4);
            segment = spool.segmentFiles().values().iterator().next();
        }
        long whole = Files.size(segment);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            // A record header promising 500 bytes, then only a few: a write cut by a crash.
            ch.write(ByteBuffer.allocate(20).putInt(500).putInt(42).putLong(5).flip(), whole);
        }

        try (Spool spool = Spool.open(dir, 1 << 20)) {
            assertThat(Files.size(segment)).isEqualTo(whole);
            assertThat(spool.nextSeq()).isEqualTo(5);
            append(spool, 1);
            List<SpooledEvent> all = readAll(spool);
            assertThat(all).hasSize(5);
            assertThat(AuditChainVerifier.verifyLines(json(all)).intact()).isTrue();
        }
    }

    @Test
    void open_corruptLastRecord_isDroppedByItsChecksum() throws IOException {
        Path segment;
        try (Spool spool = Spool.open(dir, 1 << 20)) {
            append(spool, 3);
            segment = spool.segmentFiles().values().iterator().next();
        }
        long size = Files.size(segment);
        try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {'X'}), size - 3);
        }

        try (Spool spool = Spool.open(dir, 1 << 20)) {
            assertThat(spool.nextSeq()).isEqualTo(3);
            assertThat(readAll(spool)).hasSize(2);
        }
    }

    @Test
    void append_pastSegmentSize_rollsAndDeleteBelowRemovesOnlyFullyDeliveredSegments()
            throws IOException {
        try (Spool spool = Spool.open(dir, 4096)) {
            append(spool, 40);
            List<Long> bases = List.copyOf(spool.segmentFiles().keySet());
            assertThat(bases).hasSizeGreaterThan(2);
            long before = spool.totalBytes();

            spool.deleteBelow(bases.get(2));

            assertThat(spool.segmentFiles().keySet()).first().isEqualTo(bases.get(2));
            assertThat(spool.totalBytes()).isLessThan(before);
            assertThat(readAll(spool).get(0).seq()).isEqualTo(bases.get(2));
            spool.deleteBelow(Long.MAX_VALUE);
            assertThat(spool.segmentFiles()).hasSize(1);
        }
        try (Spool spool = Spool.open(dir, 4096)) {
            assertThat(spool.nextSeq()).isEqualTo(41);
        }
    }

    @Test
    void reader_whoseSegmentWasDeletedAfterItReadIt_movesOnToTheNextSegment() throws IOException {
        try (Spool spool = Spool.open(dir, 4096)) {
            append(spool, 20);
            long second = List.copyOf(spool.segmentFiles().keySet()).get(1);
            try (SpoolReader reader = spool.reader(1)) {
                assertThat(reader.read((int) second - 1)).hasSize((int) second - 1);

                spool.deleteBelow(second);

                assertThat(reader.read(1)).extracting(SpooledEvent::seq).containsExactly(second);
            }
        }
    }

    @Test
    void reader_damagedDurableRecordInAClosedSegment_failsWithIOException_L302()
            throws IOException {
        try (Spool spool = Spool.open(dir, 4096)) {
            append(spool, 20);
            Path first = spool.segmentFiles().values().iterator().next();
            try (FileChannel ch = FileChannel.open(first, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {'X'}), Spool.HEADER_BYTES + 40);
            }

            try (SpoolReader reader = spool.reader(1)) {
                org.assertj.core.api.Assertions.assertThatThrownBy(() -> reader.read(5))
                        .isInstanceOf(IOException.class).hasMessageContaining("unreadable");
            }
        }
    }
}
