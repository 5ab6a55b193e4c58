package dev.pep.proxy.server;

import dev.pep.proxy.config.AuditSettings;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.telemetry.audit.AuditConfig;
import dev.pep.telemetry.audit.AuditMode;
import dev.pep.telemetry.audit.AuditPipeline;
import dev.pep.telemetry.audit.DeliverySink;
import dev.pep.telemetry.audit.FileSink;
import dev.pep.telemetry.audit.KafkaSink;
import dev.pep.telemetry.audit.OtlpLogSink;
import dev.pep.telemetry.audit.StdoutSink;
import dev.pep.telemetry.audit.SyslogSink;
import dev.pep.telemetry.audit.TlsFiles;
import dev.pep.telemetry.audit.WebhookSink;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;

/** Builds the audit pipeline that gateway.yaml describes: the spool, then every sink at once. */
final class Audit {

    private Audit() {
    }

    static AuditPipeline start(GatewayConfig config, MeterRegistry registry) throws IOException {
        AuditSettings a = config.audit();
        Path dir = config.resolve(a.directory());
        AuditConfig.Builder b = AuditConfig.builder(dir.resolve("spool"), config.instance())
                .mode(a.mode() == AuditSettings.Mode.STRICT ? AuditMode.STRICT : AuditMode.BEST_EFFORT)
                .fsyncInterval(a.fsyncInterval())
                .maxSpoolBytes(a.maxSpoolSize().bytes())
                .segmentBytes(segmentBytes(a.maxSpoolSize().bytes()))
                .batchSize(a.batchSize())
                .retryBackoff(a.retryBackoff(), a.retryMaxBackoff());
        for (AuditSettings.Sink s : a.sinks()) {
            b.sink(sink(config, dir, s));
        }
        AuditPipeline pipeline = new AuditPipeline(b.build(), registry);
        pipeline.start();
        return pipeline;
    }

    /** Segments of 16 MiB, smaller for a small spool so that it holds at least two (4 KiB at least). */
    static long segmentBytes(long maxSpoolBytes) {
        return Math.max(4096, Math.min(16L << 20, maxSpoolBytes / 4));
    }

    private static DeliverySink sink(GatewayConfig config, Path auditDir, AuditSettings.Sink s)
            throws IOException {
        return switch (s.type()) {
            case FILE -> new FileSink(s.name(),
                    s.directory() == null ? auditDir.resolve("events") : config.resolve(s.directory()),
                    s.rotateSize().bytes());
            case STDOUT -> new StdoutSink(s.name(), System.out);
            case WEBHOOK -> new WebhookSink(s.name(), s.url(), s.timeout(), s.headers());
            case SYSLOG -> new SyslogSink(s.name(), config.instance(), address(s.address()),
                    TlsFiles.clientContext(path(config, s.ca()), path(config, s.clientCertificate()),
                            path(config, s.clientKey())), s.timeout());
            case KAFKA -> new KafkaSink(s.name(), config.instance(), String.join(",", s.bootstrapServers()),
                    s.topic(), s.properties(), s.timeout());
            case OTLP -> new OtlpLogSink(s.name(), config.instance(), s.url(), s.timeout(), s.headers(),
                    Clock.systemUTC());
        };
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        String host = hostPort.substring(0, colon);
        // [::1]:6514: the brackets belong to the notation, not to the host.
        host = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        return InetSocketAddress.createUnresolved(host, Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static Path path(GatewayConfig config, String file) {
        return file == null ? null : config.resolve(file);
    }
}
