package dev.pep.proxy.connector;

import dev.pep.core.AuditEvent;
import dev.pep.telemetry.audit.AuditEvents;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;

/**
 * The gateway's end of the tunnel for tests, without its listener: the internal CA (with a
 * listener certificate for loopback), the enrolment store and the registry, in {@code state}.
 */
record GatewaySide(ConnectorCa ca, EnrolmentStore store, ConnectorRegistry registry, Clock clock) {

    static GatewaySide create(Path state, List<AuditEvent> audit, MeterRegistry meters) throws Exception {
        Clock clock = Clock.systemUTC();
        ConnectorCa ca = ConnectorCa.open(state, clock, new SecureRandom());
        ca.ensureListener(List.of("localhost", "127.0.0.1"));
        EnrolmentStore store = new EnrolmentStore(state, clock, new SecureRandom());
        ConnectorRegistry registry = new ConnectorRegistry(store, clock, audit::add, AuditEvents.create("test"),
                meters);
        return new GatewaySide(ca, store, registry, clock);
    }
}
