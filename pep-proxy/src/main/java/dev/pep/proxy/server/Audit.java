package dev.pep.proxy.server;

import dev.pep.proxy.config.AuditSettings;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.telemetry.audit.AuditConfig;
import dev.pep.telemetry.audit.AuditMode;
import dev.pep.telemetry.audit.AuditPipeline;
import dev.pep.telemetry.audit.DeliverySink;
import dev.pep.telemetry.audit.FileSink;
import dev.pep.telemetry.audit.StdoutSink;
import dev.pep.telemetry.audit.WebhookSink;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

/** Builds the audit pipeline that gateway.yaml describes. */
final class Audit {

    private Audit() {
    }

    static AuditPipeline start(GatewayConfig config, MeterRegistry registry) throws IOException {
        AuditSettings a = config.audit();
        Path dir = config.resolve(a.directory());
        AuditConfig.Builder b = AuditConfig.builder(dir.resolve("spool"), config.instance())
                .mode(a.mode() == AuditSettings.Mode.STRICT ? AuditMode.STRICT : AuditMode.BEST_EFFORT)
                .fsyncInterval(a.fsyncInterval())
                .maxSpoolBytes(a.maxSpoolSize().bytes());
        for (AuditSettings.Sink s : a.sinks()) {
            b.sink(sink(config, dir, s));
        }
        AuditPipeline pipeline = new AuditPipeline(b.build(), registry);
        pipeline.start();
        return pipeline;
    }

    private static DeliverySink sink(GatewayConfig config, Path auditDir, AuditSettings.Sink s) {
        return switch (s.type()) {
            case FILE -> new FileSink(s.name(),
                    s.directory() == null ? auditDir.resolve("events") : config.resolve(s.directory()),
                    s.rotateSize().bytes());
            case STDOUT -> new StdoutSink(s.name(), System.out);
            case WEBHOOK -> new WebhookSink(s.name(), s.url(), Duration.ofSeconds(10), s.headers());
        };
    }
}
