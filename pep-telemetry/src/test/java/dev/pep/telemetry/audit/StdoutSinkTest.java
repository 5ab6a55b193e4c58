package dev.pep.telemetry.audit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class StdoutSinkTest {

    private static List<SpooledEvent> batch(List<String> lines) {
        return List.of(new SpooledEvent(1, "evt-1", 0, lines.get(0)),
                new SpooledEvent(2, "evt-2", 0, lines.get(1)));
    }

    @Test
    void deliver_batch_writesOneLinePerEvent() throws IOException {
        List<String> lines = Fixtures.chainedLines(2);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        new StdoutSink("stdout", new PrintStream(bytes, true, StandardCharsets.UTF_8))
                .deliver(batch(lines));

        assertThat(bytes.toString(StandardCharsets.UTF_8)).isEqualTo(lines.get(0) + "\n"
                + lines.get(1) + "\n");
    }

    @Test
    void deliver_brokenStream_failsSoThePipelineRetries() {
        OutputStream broken = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("closed pipe");
            }
        };
        StdoutSink sink = new StdoutSink("stdout", new PrintStream(broken, true,
                StandardCharsets.UTF_8));

        assertThatThrownBy(() -> sink.deliver(batch(Fixtures.chainedLines(2))))
                .isInstanceOf(IOException.class);
    }
}
