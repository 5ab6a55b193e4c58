package dev.pep.telemetry.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The committed offset of each sink: the last seq it delivered, one small file per sink,
 * replaced atomically so a crash leaves the old value or the new one, never half of either.
 */
final class OffsetStore {

    private final Path directory;

    OffsetStore(Path directory) throws IOException {
        this.directory = Files.createDirectories(directory);
    }

    /** The last seq the sink delivered; 0 when it delivered nothing yet. */
    long load(String sink) throws IOException {
        Path file = directory.resolve(sink + ".offset");
        if (!Files.exists(file)) {
            return 0;
        }
        String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IOException("corrupt offset file " + file + ": " + text, e);
        }
    }

    /** Durably records that the sink delivered everything up to {@code seq}. */
    void store(String sink, long seq) throws IOException {
        Path file = directory.resolve(sink + ".offset");
        Path tmp = directory.resolve(sink + ".offset.tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap((seq + "\n").getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        Spool.forceDirectory(directory);
    }
}
