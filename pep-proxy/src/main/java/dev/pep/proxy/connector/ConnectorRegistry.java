package dev.pep.proxy.connector;

import dev.pep.core.AuditEvent;
import dev.pep.core.Source;
import dev.pep.proxy.route.Route;
import dev.pep.proxy.upstream.AppDialer;
import dev.pep.proxy.upstream.NoConnectorException;
import dev.pep.telemetry.audit.AuditEvents;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's live connector tunnels, and the {@link AppDialer} for {@code connector:NAME}
 * upstreams: a session goes to the connected instance of that name, enrolled for its app, that
 * carries the fewest sessions. Also enforces revocation and enrolment expiry on live tunnels.
 * Thread-safe.
 */
public final class ConnectorRegistry implements AppDialer {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectorRegistry.class);

    private final EnrolmentStore store;
    private final Clock clock;
    private final Consumer<AuditEvent> audit;
    private final AuditEvents events;
    private final MeterRegistry meters;
    private final List<Tunnel> tunnels = new CopyOnWriteArrayList<>();
    private final Set<String> revocationsSeen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile BiConsumer<Channel, String> endSessions = (tunnel, reason) -> { };

    /** A registry over that store, emitting audit events and metrics. */
    public ConnectorRegistry(EnrolmentStore store, Clock clock, Consumer<AuditEvent> audit, AuditEvents events,
            MeterRegistry meters) throws IOException {
        this.store = store;
        this.clock = clock;
        this.audit = audit;
        this.events = events;
        this.meters = meters;
        meters.gauge("pep.connectors.connected", tunnels, t -> t.stream().filter(Tunnel::active).count());
        meters.gauge("pep.connectors.sessions", tunnels, t -> t.stream().mapToInt(Tunnel::streams).sum());
        store.enrolments().stream().filter(e -> e.revokedAt() != null).forEach(e -> revocationsSeen.add(e.serial()));
    }

    /**
     * How a tunnel that is no longer allowed ends the sessions it carries, before it closes:
     * called with the tunnel's connection and the reason ({@code connector_revoked}, {@code
     * connector_expired}).
     */
    public void onEnding(BiConsumer<Channel, String> endSessions) {
        this.endSessions = endSessions;
    }

    /** The enrolment store. */
    public EnrolmentStore store() {
        return store;
    }

    @Override
    public Future<Channel> dial(EventLoop loop, Route route) {
        String connector = route.target().getSchemeSpecificPart();
        List<Tunnel> candidates = tunnels.stream()
                .filter(t -> t.active() && t.name().equals(connector) && t.apps().contains(route.name()))
                .sorted(Comparator.comparingInt(Tunnel::streams)).toList();
        Promise<Channel> promise = loop.newPromise();
        tryOpen(candidates, 0, route, promise);
        return promise;
    }

    private void tryOpen(List<Tunnel> candidates, int i, Route route, Promise<Channel> promise) {
        if (i >= candidates.size()) {
            promise.tryFailure(new NoConnectorException(route.name()));
            return;
        }
        Tunnel t = candidates.get(i);
        // LIMITATION(L-740): no half-close is asked for; the first END_STREAM ends the stream both ways.
        Http2Headers headers = Tunnel.connect(route.name(), null, false);
        t.open(headers, route.settings().connectTimeout()).addListener(f -> {
            if (f.isSuccess()) {
                if (!promise.trySuccess((Channel) f.getNow())) {
                    ((Channel) f.getNow()).close();
                }
            } else if (f.cause() instanceof ConnectorLostException && i + 1 < candidates.size()) {
                // The tunnel went between the choice and the open: the next instance takes it.
                tryOpen(candidates, i + 1, route, promise);
            } else {
                promise.tryFailure(f.cause());
            }
        });
    }

    /**
     * Checks a client certificate the listener's TLS accepted against the store: enrolled, not
     * revoked, not expired, and naming the enrolled name.
     */
    Enrolment verify(String name, String serial) throws EnrolmentRefusedException {
        Optional<Enrolment> e;
        try {
            e = store.enrolment(serial);
        } catch (IOException ex) {
            LOG.warn("connector store unreadable, tunnel refused connector={} error={}", name, ex.toString());
            throw new EnrolmentRefusedException("store_unavailable", "the gateway cannot check enrolments now");
        }
        if (e.isEmpty() || !e.get().name().equals(name)) {
            throw new EnrolmentRefusedException("connector_unknown", "no enrolment for this certificate");
        }
        Optional<String> unusable = e.get().unusable(clock.instant());
        if (unusable.isPresent()) {
            throw new EnrolmentRefusedException(unusable.get(), "this connector's enrolment is not usable: "
                    + unusable.get());
        }
        return e.get();
    }

    /** A tunnel is up and answered hello: routes its apps and audits. */
    void connected(Tunnel tunnel, List<String> announced) {
        Set<String> routed = new HashSet<>();
        for (String app : announced) {
            if (tunnel.enrolment().apps().contains(app)) {
                routed.add(app);
            } else {
                // Never routed: the connector serves apps its enrolment names, nothing else.
                LOG.warn("connector announced an app it is not enrolled for, refused connector={} serial={} app={}",
                        tunnel.name(), tunnel.enrolment().serial(), app);
                refused(tunnel.name(), app, tunnel.remote(), "app_not_enrolled");
            }
        }
        tunnel.apps(routed);
        tunnels.add(tunnel);
        tunnel.channel().closeFuture().addListener(f -> disconnected(tunnel));
        LOG.info("connector connected connector={} serial={} remote={} apps={}", tunnel.name(),
                tunnel.enrolment().serial(), tunnel.remote(), routed);
        audit.accept(events.connectorConnected(tunnel.name(), source(tunnel.remote())));
        if (!tunnel.active()) {
            tunnels.remove(tunnel);
        }
    }

    private void disconnected(Tunnel tunnel) {
        if (!tunnels.remove(tunnel)) {
            return;
        }
        String reason = tunnel.closeReason() == null ? "connection_lost" : tunnel.closeReason();
        LOG.info("connector disconnected connector={} serial={} reason={}", tunnel.name(),
                tunnel.enrolment().serial(), reason);
        audit.accept(events.connectorDisconnected(tunnel.name(), reason));
    }

    /** Audits and counts a refusal. */
    void refused(String name, String app, InetSocketAddress remote, String reason) {
        Counter.builder("pep.connectors.refused").tag("reason", reason).register(meters).increment();
        audit.accept(events.connectorRefused(name, app, source(remote), reason));
    }

    /** Counts an enrolment. */
    void enrolled(Enrolment e, InetSocketAddress remote) {
        Counter.builder("pep.connectors.enrolments").register(meters).increment();
        LOG.info("connector enrolled connector={} serial={} apps={} expires={} remote={}", e.name(), e.serial(),
                e.apps(), e.expires(), remote);
        audit.accept(events.connectorEnrolled(e.name(), e.enrolledBy()));
    }

    /**
     * Revokes every instance of a connector: its certificates are refused from now on, the
     * sessions its tunnels carry end and its tunnels close at once.
     *
     * @return how many enrolments were revoked
     */
    public int revoke(String name, String by) throws IOException {
        List<Enrolment> revoked = store.revoke(name, by);
        revoked.forEach(this::enforceRevocation);
        return revoked.size();
    }

    /**
     * Looks at the store again: revocations made by the command line and enrolments that have
     * expired end their tunnels' sessions and close the tunnels. Called every second or so.
     */
    public void check() {
        Instant now = clock.instant();
        for (Tunnel t : tunnels) {
            Optional<String> expiry = t.enrolment().unusable(now);
            if (expiry.isPresent()) {
                LOG.info("connector enrolment expired, tunnel closed connector={} serial={}", t.name(),
                        t.enrolment().serial());
                end(t, expiry.get());
            }
        }
        try {
            for (Enrolment e : store.enrolments()) {
                if (e.revokedAt() != null && !revocationsSeen.contains(e.serial())) {
                    enforceRevocation(e);
                }
            }
        } catch (IOException e) {
            LOG.warn("connector store unreadable, revocations not checked error={}", e.toString());
        }
    }

    private void enforceRevocation(Enrolment e) {
        if (!revocationsSeen.add(e.serial())) {
            return;
        }
        LOG.info("connector revoked connector={} serial={} by={}", e.name(), e.serial(), e.revokedBy());
        audit.accept(events.connectorRevoked(e.name(), e.revokedBy()));
        for (Tunnel t : tunnels) {
            if (t.enrolment().serial().equals(e.serial())) {
                end(t, "connector_revoked");
            }
        }
    }

    /**
     * Ends the tunnel's sessions through the session registry, each the way its protocol wants,
     * then closes it. The endings are handed to the sessions' event loops before the close is,
     * so each session ends with the reason rather than as a lost upstream.
     */
    private void end(Tunnel t, String reason) {
        try {
            endSessions.accept(t.channel(), reason);
        } finally {
            t.close(reason);
        }
    }

    /** Every enrolment with its health, for the admin API. */
    public List<Map<String, Object>> health() throws IOException {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Enrolment e : store.enrolments()) {
            List<Tunnel> live = tunnels.stream().filter(t -> t.enrolment().serial().equals(e.serial())).toList();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", e.name());
            m.put("serial", e.serial());
            m.put("apps", e.apps());
            m.put("expires", e.expires() == null ? null : e.expires().toString());
            m.put("enrolled_at", e.enrolledAt().toString());
            m.put("revoked_at", e.revokedAt() == null ? null : e.revokedAt().toString());
            m.put("status", e.unusable(clock.instant()).orElse(live.isEmpty() ? "disconnected" : "connected"));
            m.put("connected", !live.isEmpty());
            m.put("tunnels", live.size());
            m.put("sessions", live.stream().mapToInt(Tunnel::streams).sum());
            m.put("routed_apps", live.stream().flatMap(t -> t.apps().stream()).distinct().sorted().toList());
            m.put("last_seen", live.stream().map(Tunnel::lastSeen).max(Comparator.naturalOrder())
                    .map(Instant::toString).orElse(null));
            out.add(m);
        }
        return out;
    }

    /** Closes every tunnel, for a gateway that stops. */
    public void closeAll() {
        tunnels.forEach(t -> t.close("gateway_stopping"));
    }

    Duration helloTimeout() {
        return Duration.ofSeconds(10);
    }

    Instant now() {
        return clock.instant();
    }

    static Source source(InetSocketAddress remote) {
        if (remote == null) {
            return new Source(java.net.InetAddress.getLoopbackAddress(), 0, Set.of());
        }
        return new Source(remote.getAddress(), remote.getPort(), Set.of());
    }

    static List<String> split(CharSequence apps) {
        if (apps == null || apps.length() == 0) {
            return List.of();
        }
        return Arrays.stream(apps.toString().split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    }
}
