package dev.pep.telemetry.audit;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;

/**
 * The default sink: JSON lines in {@code audit.jsonl}, rotated by size to
 * {@code audit-<first seq, 20 digits>.jsonl}, each batch fsynced before it counts as delivered.
 *
 * <p>Idempotent by seq: on open it truncates a torn last line and reads the seq of the last
 * whole line, and skips any event at or below it, so a replay after a crash writes nothing
 * twice. Rotated files are kept; removing old ones is the operator's retention policy.
 */
public final class FileSink implements DeliverySink {

    static final String CURRENT = "audit.jsonl";

    private final String name;
    private final Path directory;
    private final long rotateBytes;
    private FileChannel channel;
    private long size;
    private long lastSeq = -1;
    private long firstSeqOfFile;

    /**
     * A sink named {@code name} writing into {@code directory}.
     *
     * @param rotateBytes the size past which the current file is rotated, at least 1024
     */
    public FileSink(String name, Path directory, long rotateBytes) {
        this.name = Objects.requireNonNull(name, "name");
        this.directory = Objects.requireNonNull(directory, "directory");
        if (rotateBytes < 1024) {
            throw new IllegalArgumentException("rotateBytes below 1024: " + rotateBytes);
        }
        this.rotateBytes = rotateBytes;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void deliver(List<SpooledEvent> batch) throws IOException {
        if (channel == null) {
            open();
        }
        StringBuilder text = new StringBuilder();
        long newest = lastSeq;
        for (SpooledEvent e : batch) {
            if (e.seq() > newest) {
                if (size == 0 && text.length() == 0) {
                    firstSeqOfFile = e.seq();
                }
                text.append(e.json()).append('\n');
                newest = e.seq();
            }
        }
        if (text.length() == 0) {
            return;
        }
        ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
        long before = size;
        try {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.force(false);
        } catch (IOException e) {
            channel.truncate(before);
            channel.position(before);
            throw e;
        }
        size += bytes.limit();
        lastSeq = newest;
        if (size >= rotateBytes) {
            rotate();
        }
    }

    /** The seq of the last event written, or -1 before the first delivery. */
    long lastSeq() {
        return lastSeq;
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
            channel = null;
        }
    }

    private void open() throws IOException {
        Files.createDirectories(directory);
        Path current = directory.resolve(CURRENT);
        channel = FileChannel.open(current, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        size = cutTornLine(channel);
        channel.position(size);
        lastSeq = Math.max(0, lastSeqIn(channel, size));
        if (lastSeq == 0) {
            lastSeq = lastSeqOfNewestRotated();
        }
        firstSeqOfFile = size == 0 ? lastSeq + 1 : firstSeqIn(current);
    }

    // LIMITATION(L-305): rotated files are never deleted by pep; retention is left to the host.
    private void rotate() throws IOException {
        channel.close();
        channel = null;
        Path rotated = directory.resolve(String.format("audit-%020d.jsonl", firstSeqOfFile));
        Files.move(directory.resolve(CURRENT), rotated, StandardCopyOption.ATOMIC_MOVE);
        Spool.forceDirectory(directory);
        channel = FileChannel.open(directory.resolve(CURRENT), StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
        size = 0;
        firstSeqOfFile = lastSeq + 1;
    }

    /** Truncates a last line without its newline (a write cut short) and returns the size. */
    private static long cutTornLine(FileChannel ch) throws IOException {
        long end = ch.size();
        long pos = end;
        ByteBuffer one = ByteBuffer.allocate(1);
        while (pos > 0) {
            one.clear();
            ch.read(one, pos - 1);
            if (one.get(0) == '\n') {
                break;
            }
            pos--;
        }
        if (pos < end) {
            ch.truncate(pos);
            ch.force(true);
        }
        return pos;
    }

    private static long lastSeqIn(FileChannel ch, long size) throws IOException {
        if (size == 0) {
            return 0;
        }
        long start = Math.max(0, size - Spool.MAX_RECORD_BYTES);
        ByteBuffer tail = ByteBuffer.allocate((int) (size - start));
        while (tail.hasRemaining() && ch.read(tail, start + tail.position()) >= 0) {
            // reads the tail in as many calls as the channel needs
        }
        String text = new String(tail.array(), 0, tail.position(), StandardCharsets.UTF_8);
        String[] lines = text.split("\n");
        return seqOf(lines[lines.length - 1]);
    }

    private long lastSeqOfNewestRotated() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            Path newest = files.filter(p -> p.getFileName().toString().matches(
                    "audit-\\d{20}\\.jsonl")).sorted().reduce((a, b) -> b).orElse(null);
            if (newest == null) {
                return 0;
            }
            try (FileChannel ch = FileChannel.open(newest, StandardOpenOption.READ)) {
                return lastSeqIn(ch, ch.size());
            }
        }
    }

    private static long firstSeqIn(Path file) throws IOException {
        try (Stream<String> lines = Files.lines(file, StandardCharsets.UTF_8)) {
            return lines.findFirst().map(FileSink::seqOf).orElse(0L);
        }
    }

    private static long seqOf(String line) {
        Map<String, Object> tree = AuditJson.parse(line);
        return tree.get("seq") instanceof Number n ? n.longValue() : 0;
    }
}
