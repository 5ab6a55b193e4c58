package dev.pep.telemetry.audit;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/** An in-memory sink that can be switched down (every delivery fails) and up again. */
final class RecordingSink implements DeliverySink {

    final List<SpooledEvent> received = new CopyOnWriteArrayList<>();
    final AtomicBoolean down = new AtomicBoolean();
    private final String name;

    RecordingSink(String name, boolean down) {
        this.name = name;
        this.down.set(down);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void deliver(List<SpooledEvent> batch) throws IOException {
        if (down.get()) {
            throw new IOException("sink " + name + " is down");
        }
        received.addAll(batch);
    }

    List<String> lines() {
        return received.stream().map(SpooledEvent::json).toList();
    }

    long count(String type) {
        return received.stream().filter(e -> e.json().contains("\"type\":\"" + type + "\""))
                .count();
    }
}
