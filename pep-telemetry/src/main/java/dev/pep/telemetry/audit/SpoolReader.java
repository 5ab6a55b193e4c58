package dev.pep.telemetry.audit;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the spool forward for one sink, never past what the writer made durable.
 *
 * <p>Confined to one thread. A record that fails its check below the durable seq means the
 * spool was damaged on disk: reading stops with an {@link IOException}.
 */
final class SpoolReader implements Closeable {

    private final Spool spool;
    private Spool.Segment segment;
    private FileChannel channel;
    private long position;
    private long nextSeq;

    SpoolReader(Spool spool, long fromSeq) {
        this.spool = spool;
        this.nextSeq = fromSeq;
    }

    /** The seq of the next event this reader returns. */
    long nextSeq() {
        return nextSeq;
    }

    /** Up to {@code max} durable events from the current position; empty when none yet. */
    List<SpooledEvent> read(int max) throws IOException {
        List<SpooledEvent> batch = new ArrayList<>();
        long durable = spool.durableSeq();
        while (batch.size() < max && nextSeq <= durable) {
            if (channel == null) {
                openAt(nextSeq);
            }
            Spool.Record r = Spool.readRecord(channel, position, nextSeq);
            // LIMITATION(L-302): a damaged durable record stops this sink until an operator acts.
            if (r == null) {
                if (!advanceSegment()) {
                    throw new IOException("spool record " + nextSeq + " unreadable in "
                            + segment.path());
                }
                continue;
            }
            position += r.size();
            nextSeq++;
            batch.add(r.event());
        }
        return batch;
    }

    private boolean advanceSegment() throws IOException {
        // By seq, not by list position: the current segment may have been deleted meanwhile,
        // once every sink had read past it.
        Spool.Segment following = spool.segmentFor(nextSeq);
        if (following.equals(segment) || following.baseSeq() != nextSeq) {
            return false;
        }
        channel.close();
        channel = null;
        openAt(nextSeq);
        return true;
    }

    private void openAt(long seq) throws IOException {
        segment = spool.segmentFor(seq);
        channel = FileChannel.open(segment.path(), StandardOpenOption.READ);
        position = Spool.HEADER_BYTES;
        long s = segment.baseSeq();
        if (seq < s) {
            nextSeq = s; // those events were delivered everywhere and deleted
        }
        while (s < nextSeq) {
            Spool.Record r = Spool.readRecord(channel, position, s);
            if (r == null) {
                throw new IOException("spool record " + s + " unreadable in " + segment.path());
            }
            position += r.size();
            s++;
        }
    }

    @Override
    public void close() throws IOException {
        if (channel != null) {
            channel.close();
        }
    }
}
