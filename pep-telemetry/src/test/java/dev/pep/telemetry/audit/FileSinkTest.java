package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSinkTest {

    @TempDir
    Path dir;

    private static List<SpooledEvent> spooled(List<String> lines, int from, int to) {
        List<SpooledEvent> batch = new ArrayList<>();
        for (int i = from; i < to; i++) {
            batch.add(new SpooledEvent(i + 1, "evt-" + (i + 1), 0, lines.get(i)));
        }
        return batch;
    }

    @Test
    void deliver_sameBatchAgainAfterRestart_writesEachEventOnce() throws IOException {
        List<String> lines = Fixtures.chainedLines(6);
        try (FileSink sink = new FileSink("file", dir, 1 << 20)) {
            sink.deliver(spooled(lines, 0, 4));
        }

        try (FileSink sink = new FileSink("file", dir, 1 << 20)) {
            sink.deliver(spooled(lines, 2, 6));
        }

        assertThat(Files.readAllLines(dir.resolve(FileSink.CURRENT))).isEqualTo(lines);
    }

    @Test
    void open_tornLastLine_isCutAndTheEventWrittenAgain() throws IOException {
        List<String> lines = Fixtures.chainedLines(3);
        try (FileSink sink = new FileSink("file", dir, 1 << 20)) {
            sink.deliver(spooled(lines, 0, 2));
        }
        Files.writeString(dir.resolve(FileSink.CURRENT), lines.get(2).substring(0, 40),
                StandardCharsets.UTF_8, StandardOpenOption.APPEND);

        try (FileSink sink = new FileSink("file", dir, 1 << 20)) {
            sink.deliver(spooled(lines, 2, 3));
        }

        assertThat(Files.readAllLines(dir.resolve(FileSink.CURRENT))).isEqualTo(lines);
        assertThat(AuditChainVerifier.verify(List.of(dir.resolve(FileSink.CURRENT))).intact())
                .isTrue();
    }

    @Test
    void deliver_pastRotateSize_rotatesToAFileNamedByItsFirstSeq() throws IOException {
        List<String> lines = Fixtures.chainedLines(12);
        try (FileSink sink = new FileSink("file", dir, 2048)) {
            for (int i = 0; i < 12; i++) {
                sink.deliver(spooled(lines, i, i + 1));
            }
        }

        Path first = dir.resolve("audit-00000000000000000001.jsonl");
        assertThat(first).exists();
        List<Path> files = AuditPipelineTest.files(dir);
        assertThat(files.get(files.size() - 1).getFileName().toString())
                .isEqualTo(FileSink.CURRENT);
        List<String> all = new ArrayList<>();
        for (Path f : files) {
            all.addAll(Files.readAllLines(f));
        }
        assertThat(all).isEqualTo(lines);
    }
}
