package dev.pep.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Reads what a gateway's file sink wrote: every line of every {@code .jsonl} file under a directory. */
final class AuditFiles {

    private AuditFiles() {
    }

    /** The audit lines under that directory, file by file; none when it does not exist yet. */
    static Stream<String> lines(Path auditDir) {
        if (!Files.isDirectory(auditDir)) {
            return Stream.empty();
        }
        try (Stream<Path> files = Files.walk(auditDir)) {
            return files.filter(Files::isRegularFile).filter(f -> f.toString().endsWith(".jsonl")).sorted()
                    .flatMap(AuditFiles::read).toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Stream<String> read(Path file) {
        try {
            return Files.readAllLines(file).stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
