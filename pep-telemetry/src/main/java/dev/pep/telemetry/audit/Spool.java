package dev.pep.telemetry.audit;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * The local append-only spool: segment files of length-prefixed, CRC32C-checked records.
 *
 * <p>A segment {@code NNNNNNNNNNNNNNNNNNNN.seg} (its first seq, 20 digits) starts with a header
 * (magic, version, first seq, the chain hash before it), created whole by an atomic rename.
 * A record is {@code [int length][int crc32c][long seq][long timeMillis][short idLength][id]
 * [json]}, the CRC covering everything after itself. On open the last segment is scanned and a
 * torn or corrupt tail is truncated: only records that a sync made durable are guaranteed.
 *
 * <p>Threading: {@link #append} and {@link #sync} belong to the one writer thread; readers on
 * other threads see records up to {@link #durableSeq()}; the segment list is guarded by this.
 */
final class Spool implements Closeable {

    static final int MAGIC = 0x50455053; // "PEPS"
    static final int VERSION = 1;
    static final int HEADER_BYTES = 4 + 4 + 8 + 64;
    static final int RECORD_HEADER_BYTES = 4 + 4 + 8 + 8;
    static final int MAX_RECORD_BYTES = 16 * 1024 * 1024;
    private static final String SUFFIX = ".seg";

    private final Path directory;
    private final long segmentBytes;
    private final List<Segment> segments = new ArrayList<>();
    private final AtomicLong totalBytes = new AtomicLong();
    private volatile long durableSeq;
    private FileChannel active;
    private long activeSize;
    private long nextSeq;
    private String headHash;

    private Spool(Path directory, long segmentBytes) {
        this.directory = directory;
        this.segmentBytes = segmentBytes;
    }

    /** Opens the spool in a directory, creating it, and recovers from a torn tail. */
    static Spool open(Path directory, long segmentBytes) throws IOException {
        Files.createDirectories(directory);
        Spool spool = new Spool(directory, segmentBytes);
        spool.recover();
        return spool;
    }

    private void recover() throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            for (Path p : files.sorted().toList()) {
                String name = p.getFileName().toString();
                if (name.endsWith(".tmp")) {
                    Files.delete(p); // a segment whose creation never finished
                } else if (name.endsWith(SUFFIX)) {
                    segments.add(new Segment(p, Long.parseLong(name.substring(0, 20))));
                }
            }
        }
        if (segments.isEmpty()) {
            nextSeq = 1;
            headHash = AuditJson.GENESIS_HASH;
            createSegment();
        } else {
            openLastSegment();
        }
        for (Segment s : segments) {
            totalBytes.addAndGet(Files.size(s.path()));
        }
        durableSeq = nextSeq - 1;
    }

    private void openLastSegment() throws IOException {
        Segment last = segments.get(segments.size() - 1);
        active = FileChannel.open(last.path(), StandardOpenOption.READ, StandardOpenOption.WRITE);
        ByteBuffer header = readFully(active, 0, HEADER_BYTES);
        if (header == null || header.getInt() != MAGIC || header.getInt() != VERSION) {
            throw new IOException("not a spool segment: " + last.path());
        }
        nextSeq = header.getLong();
        headHash = ascii(header, 64);
        long position = HEADER_BYTES;
        String lastJson = null;
        Record r;
        while ((r = readRecord(active, position, nextSeq)) != null) {
            position += r.size();
            nextSeq++;
            lastJson = r.event().json();
        }
        if (lastJson != null) {
            headHash = String.valueOf(AuditJson.parse(lastJson).get("hash"));
        }
        if (active.size() > position) {
            // Torn tail after a crash: everything past the last whole record goes.
            active.truncate(position);
            active.force(true);
        }
        activeSize = position;
        active.position(position);
    }

    /** The seq the next appended event gets. */
    long nextSeq() {
        return nextSeq;
    }

    /** The chain hash of the last appended event, or genesis. */
    String headHash() {
        return headHash;
    }

    /** The last seq made durable by {@link #sync}. */
    long durableSeq() {
        return durableSeq;
    }

    /** The bytes of all segments on disk. */
    long totalBytes() {
        return totalBytes.get();
    }

    /** The bytes a record of this event takes. */
    static int recordSize(String id, String json) {
        return RECORD_HEADER_BYTES + 2 + utf8Length(id) + utf8Length(json);
    }

    /**
     * Appends the next event of the chain; writer thread only. On failure the segment is cut
     * back to its last whole record.
     */
    void append(String id, long timeMillis, String json, String hash) throws IOException {
        byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
        byte[] jsonBytes = json.getBytes(StandardCharsets.UTF_8);
        int length = 8 + 8 + 2 + idBytes.length + jsonBytes.length;
        if (length > MAX_RECORD_BYTES || idBytes.length > Short.MAX_VALUE) {
            throw new IllegalArgumentException("audit event too large: " + length + " bytes");
        }
        if (activeSize + 8 + length > segmentBytes && activeSize > HEADER_BYTES) {
            rollSegment();
        }
        ByteBuffer body = ByteBuffer.allocate(length);
        body.putLong(nextSeq).putLong(timeMillis).putShort((short) idBytes.length)
                .put(idBytes).put(jsonBytes).flip();
        CRC32C crc = new CRC32C();
        crc.update(body.duplicate());
        ByteBuffer record = ByteBuffer.allocate(8 + length);
        record.putInt(length).putInt((int) crc.getValue()).put(body).flip();
        try {
            while (record.hasRemaining()) {
                active.write(record);
            }
        } catch (IOException e) {
            active.truncate(activeSize);
            active.position(activeSize);
            throw e;
        }
        activeSize += 8 + length;
        totalBytes.addAndGet(8 + length);
        nextSeq++;
        headHash = hash;
    }

    // LIMITATION(L-303): only process crashes are tested; power loss relies on force() alone.
    /** Forces appended records to disk and publishes them to readers; writer thread only. */
    void sync() throws IOException {
        if (durableSeq == nextSeq - 1) {
            return;
        }
        active.force(false);
        durableSeq = nextSeq - 1;
    }

    /** A reader starting at {@code fromSeq}, or at the oldest record still spooled. */
    SpoolReader reader(long fromSeq) {
        return new SpoolReader(this, fromSeq);
    }

    /** The segment holding {@code seq}, or the oldest one when it was deleted. */
    synchronized Segment segmentFor(long seq) {
        Segment found = segments.get(0);
        for (Segment s : segments) {
            if (s.baseSeq() <= seq) {
                found = s;
            }
        }
        return found;
    }

    /** Deletes segments whose every record has a seq below {@code seq}; never the active one. */
    synchronized int deleteBelow(long seq) throws IOException {
        int deleted = 0;
        while (segments.size() > 1 && segments.get(1).baseSeq() <= seq) {
            Segment s = segments.remove(0);
            long size = Files.size(s.path());
            Files.delete(s.path());
            totalBytes.addAndGet(-size);
            deleted++;
        }
        return deleted;
    }

    @Override
    public void close() throws IOException {
        if (active != null) {
            active.force(true);
            active.close();
        }
    }

    private void rollSegment() throws IOException {
        active.force(true);
        active.close();
        createSegment();
    }

    private void createSegment() throws IOException {
        Path path = directory.resolve(String.format("%020d", nextSeq) + SUFFIX);
        Path tmp = directory.resolve(path.getFileName() + ".tmp");
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        header.putInt(MAGIC).putInt(VERSION).putLong(nextSeq)
                .put(headHash.getBytes(StandardCharsets.US_ASCII)).flip();
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE)) {
            while (header.hasRemaining()) {
                ch.write(header);
            }
            ch.force(true);
        }
        Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE);
        forceDirectory(directory);
        synchronized (this) {
            segments.add(new Segment(path, nextSeq));
        }
        totalBytes.addAndGet(HEADER_BYTES);
        active = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        activeSize = HEADER_BYTES;
        active.position(activeSize);
    }

    /** Makes a rename durable: on Linux a directory can be opened and forced. */
    static void forceDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Some platforms cannot open a directory; the rename is then as durable as the OS
            // makes it, which is all that can be had there.
        }
    }

    /**
     * Reads the record at {@code position} if it is whole, its CRC matches and its seq is the
     * expected one; null otherwise (end of data, a torn or corrupt record).
     */
    static Record readRecord(FileChannel ch, long position, long expectedSeq) throws IOException {
        ByteBuffer head = readFully(ch, position, 8);
        if (head == null) {
            return null;
        }
        int length = head.getInt();
        int crcValue = head.getInt();
        if (length < 18 || length > MAX_RECORD_BYTES) {
            return null;
        }
        ByteBuffer body = readFully(ch, position + 8, length);
        if (body == null) {
            return null;
        }
        CRC32C crc = new CRC32C();
        crc.update(body.duplicate());
        if ((int) crc.getValue() != crcValue) {
            return null;
        }
        long seq = body.getLong();
        long time = body.getLong();
        int idLength = body.getShort();
        if (seq != expectedSeq || idLength < 0 || idLength > body.remaining()) {
            return null;
        }
        String id = utf8(body, idLength);
        String json = utf8(body, body.remaining());
        return new Record(new SpooledEvent(seq, id, time, json), 8 + length);
    }

    private static ByteBuffer readFully(FileChannel ch, long position, int length)
            throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (ch.read(buf, position + buf.position()) < 0) {
                return null;
            }
        }
        return buf.flip();
    }

    private static String utf8(ByteBuffer buf, int length) {
        String s = new String(buf.array(), buf.arrayOffset() + buf.position(), length,
                StandardCharsets.UTF_8);
        buf.position(buf.position() + length);
        return s;
    }

    private static String ascii(ByteBuffer buf, int length) {
        byte[] b = new byte[length];
        buf.get(b);
        return new String(b, StandardCharsets.US_ASCII);
    }

    private static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    /** The files of the spool, for tests and diagnostics. */
    synchronized Map<Long, Path> segmentFiles() {
        Map<Long, Path> m = new java.util.TreeMap<>();
        segments.forEach(s -> m.put(s.baseSeq(), s.path()));
        return m;
    }

    /** A segment file and the seq of its first record. */
    record Segment(Path path, long baseSeq) {
    }

    /** A record read back, with the bytes it takes in its segment. */
    record Record(SpooledEvent event, int size) {
    }
}
