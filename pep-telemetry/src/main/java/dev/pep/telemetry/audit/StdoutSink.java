package dev.pep.telemetry.audit;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Objects;

/**
 * Writes each event as one JSON line to a stream, standard output by default, for containers
 * whose platform collects output.
 *
 * <p>Not idempotent across restarts: after a crash the events delivered since the last committed
 * offset are printed again; collectors de-duplicate by {@code id}.
 */
public final class StdoutSink implements DeliverySink {

    private final String name;
    private final PrintStream out;

    /** A sink named {@code name} writing to {@code out}. */
    public StdoutSink(String name, PrintStream out) {
        this.name = Objects.requireNonNull(name, "name");
        this.out = Objects.requireNonNull(out, "out");
    }

    /** A sink named {@code stdout} writing to standard output. */
    public static StdoutSink standardOutput() {
        return new StdoutSink("stdout", System.out);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void deliver(List<SpooledEvent> batch) throws IOException {
        StringBuilder text = new StringBuilder();
        batch.forEach(e -> text.append(e.json()).append('\n'));
        out.print(text);
        out.flush();
        if (out.checkError()) {
            throw new IOException("output stream of sink " + name + " failed");
        }
    }
}
