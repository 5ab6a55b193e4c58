package dev.pep.proxy.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pep.core.App;
import dev.pep.proxy.admin.AdminApi;
import dev.pep.proxy.admin.AdminRequest;
import dev.pep.proxy.admin.AdminResponse;
import dev.pep.proxy.config.ConnectorsConfig;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.connector.ConnectorCa;
import dev.pep.proxy.connector.ConnectorListener;
import dev.pep.proxy.connector.ConnectorRegistry;
import dev.pep.proxy.connector.EnrolmentStore;
import dev.pep.proxy.connector.ExpiryParser;
import dev.pep.telemetry.audit.AuditEvents;
import dev.pep.telemetry.audit.AuditPipeline;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's connector side: the internal CA, the enrolment store, the registry of live
 * tunnels, the connector listener, and the admin API under {@code /api/v1/connectors}.
 */
final class GatewayConnectors implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GatewayConnectors.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String PATH = "/api/v1/connectors";

    private final ConnectorsConfig config;
    private final ConnectorCa ca;
    private final ConnectorRegistry registry;
    private final Clock clock;
    private final MeterRegistry meters;
    private ConnectorListener listener;

    private GatewayConnectors(ConnectorsConfig config, ConnectorCa ca, ConnectorRegistry registry, Clock clock,
            MeterRegistry meters) {
        this.config = config;
        this.ca = ca;
        this.registry = registry;
        this.clock = clock;
        this.meters = meters;
    }

    /** The connector side for that configuration; null when gateway.yaml has no connectors. */
    static GatewayConnectors open(GatewayConfig gateway, AuditPipeline audit, AuditEvents events,
            MeterRegistry meters, List<App> apps) throws Exception {
        ConnectorsConfig config = gateway.connectors();
        List<String> tunnelled = apps.stream().filter(a -> "connector".equals(a.upstream().getScheme()))
                .map(App::name).toList();
        if (config == null) {
            if (!tunnelled.isEmpty()) {
                LOG.warn("apps reached through connectors but no connectors section, they answer 502 apps={}",
                        tunnelled);
            }
            return null;
        }
        Path dir = gateway.resolve(config.stateDirectory());
        Clock clock = Clock.systemUTC();
        SecureRandom random = new SecureRandom();
        ConnectorCa ca = ConnectorCa.open(dir, clock, random);
        ca.ensureListener(ConnectorListener.listenerNames(config.address()));
        var store = new EnrolmentStore(dir, clock, random);
        var registry = new ConnectorRegistry(store, clock, audit::emit, events, meters);
        return new GatewayConnectors(config, ca, registry, clock, meters);
    }

    ConnectorRegistry registry() {
        return registry;
    }

    int port() {
        return listener == null ? -1 : listener.port();
    }

    /** Binds the listener, starts the revocation and expiry checks, registers the admin API. */
    void start(EventLoopGroup boss, EventLoopGroup workers, Class<? extends ServerChannel> channelClass,
            AdminApi api) throws Exception {
        listener = ConnectorListener.start(boss, workers, channelClass, config.address(), config.port(), ca,
                registry, clock, config.handshakeTimeout(), config.maxUnauthenticatedConnections(),
                config.maxUnauthenticatedConnectionsPerAddress(), meters);
        boss.scheduleWithFixedDelay(registry::check, 1, 1, TimeUnit.SECONDS);
        api.register("POST", PATH + "/tokens", r -> CompletableFuture.supplyAsync(() -> createToken(r)));
        api.register("GET", PATH, r -> CompletableFuture.supplyAsync(this::list));
        api.register("DELETE", PATH + "/*", r -> CompletableFuture.supplyAsync(() -> revoke(r)));
        LOG.info("connector listener started address={}:{} gateway_ca={}", config.address(), listener.port(),
                ca.caFile().toAbsolutePath());
    }

    private AdminResponse createToken(AdminRequest r) {
        try {
            JsonNode body = JSON.readTree(r.body().isBlank() ? "{}" : r.body());
            String name = body.path("name").asText(null);
            List<String> apps = new ArrayList<>();
            body.path("apps").forEach(a -> apps.add(a.asText()));
            Duration ttl = body.hasNonNull("token_ttl") ? dev.pep.proxy.config.Units.duration(
                    body.path("token_ttl").asText()) : Duration.ofHours(1);
            Instant expires = body.hasNonNull("expires")
                    ? ExpiryParser.parse(body.path("expires").asText(), clock.instant()) : null;
            String token = registry.store().createToken(name, apps, ttl, expires, r.operator());
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("token", token);
            out.put("name", name);
            out.put("apps", apps);
            out.put("token_expires", clock.instant().plus(ttl).toString());
            out.put("enrolment_expires", expires == null ? null : expires.toString());
            return AdminResponse.of(201, out);
        } catch (IllegalArgumentException e) {
            return AdminResponse.error(400, "invalid_request", e.getMessage());
        } catch (IOException e) {
            LOG.warn("connector token not created error={}", e.toString());
            return AdminResponse.error(500, "store_unavailable", "The connectors state directory is not writable.");
        }
    }

    private AdminResponse list() {
        try {
            return AdminResponse.ok(Map.of("connectors", registry.health()));
        } catch (IOException e) {
            return AdminResponse.error(500, "store_unavailable", "The connectors state directory is not readable.");
        }
    }

    private AdminResponse revoke(AdminRequest r) {
        String name = r.rest();
        try {
            int n = registry.revoke(name, r.operator());
            if (n == 0) {
                return AdminResponse.error(404, "connector_unknown",
                        "No enrolled, unrevoked connector '" + name + "'.");
            }
            return AdminResponse.ok(Map.of("name", name, "revoked", n));
        } catch (IOException e) {
            return AdminResponse.error(500, "store_unavailable", "The connectors state directory is not writable.");
        }
    }

    @Override
    public void close() {
        if (listener != null) {
            listener.close();
        }
        registry.closeAll();
    }
}
