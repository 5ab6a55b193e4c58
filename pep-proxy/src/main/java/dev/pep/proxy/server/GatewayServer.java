package dev.pep.proxy.server;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.PolicyEngine;
import dev.pep.core.PolicyVersion;
import dev.pep.policy.DefaultPolicyEngine;
import dev.pep.policy.PolicyError;
import dev.pep.policy.PolicyListener;
import dev.pep.policy.PolicyLoadResult;
import dev.pep.policy.authzen.AuthZenEndpoint;
import dev.pep.policy.authzen.AuthZenPolicyEngine;
import dev.pep.proxy.admin.AdminApi;
import dev.pep.proxy.admin.AdminRequest;
import dev.pep.proxy.admin.AdminResponse;
import dev.pep.proxy.admin.AdminTokens;
import dev.pep.proxy.apps.AppStore;
import dev.pep.proxy.config.AppConfig;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.config.PolicyConfig;
import dev.pep.proxy.config.TlsConfig;
import dev.pep.proxy.route.ConfiguredAccessEngine;
import dev.pep.proxy.route.Route;
import dev.pep.proxy.route.Router;
import dev.pep.proxy.tls.CertificateStore;
import dev.pep.proxy.tls.DevelopmentCa;
import dev.pep.proxy.tls.TlsContexts;
import dev.pep.proxy.upstream.DirectDialer;
import dev.pep.proxy.upstream.EchoApp;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionRegistry;
import dev.pep.proxy.upstream.UpstreamTls;
import dev.pep.proxy.upstream.Upstreams;
import dev.pep.telemetry.audit.AuditEvents;
import dev.pep.telemetry.audit.AuditPipeline;
import dev.pep.telemetry.trace.OtlpSpanExporter;
import dev.pep.telemetry.trace.Tracing;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running gateway: the partner listener, the admin listener, the built-in demo app, and a
 * drain that lets in-flight requests finish. Start with {@link #start}; stop with {@link #drain}
 * then {@link #close}.
 */
public final class GatewayServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GatewayServer.class);
    private static final String ECHO = "pep:echo";

    private final GatewayContext gw;
    private final EventLoopGroup boss;
    private final EventLoopGroup workers;
    private final Channel listener;
    private final AdminServer admin;
    private final EchoApp echo;
    private final ChannelGroup connections;
    private final DefaultPolicyEngine policy;
    private final AuditPipeline audit;
    private final AdminApi api;
    private final EpisodicApps episodic;
    private final GatewayConnectors connectors;

    private GatewayServer(GatewayContext gw, EventLoopGroup boss, EventLoopGroup workers, Channel listener,
            AdminServer admin, EchoApp echo, ChannelGroup connections, DefaultPolicyEngine policy,
            AuditPipeline audit, AdminApi api, EpisodicApps episodic, GatewayConnectors connectors) {
        this.connectors = connectors;
        this.gw = gw;
        this.boss = boss;
        this.workers = workers;
        this.listener = listener;
        this.admin = admin;
        this.echo = echo;
        this.connections = connections;
        this.policy = policy;
        this.audit = audit;
        this.api = api;
        this.episodic = episodic;
    }

    /** Starts the gateway on that configuration; throws when a port or certificate fails. */
    public static GatewayServer start(GatewayConfig config) throws Exception {
        Transport transport = Transport.best();
        LOG.info("gateway starting instance={} {} {}", config.instance(), transport.describe(), TlsContexts.describe());
        // Device CAs and partner identity CAs, asked for together; both are re-read when their
        // files change, the partner CAs (with their CRLs) on the certificate reload timer.
        var deviceIssuers = GatewayPosture.clientIssuers(config);
        GatewayClientCertificates partners = GatewayClientCertificates.load(config, Clock.systemUTC());
        CertificateStore certificates = new CertificateStore(certificateEntries(config), config.tls().profile(),
                () -> {
                    partners.reloadIfChanged();
                    var issuers = new java.util.LinkedHashSet<>(deviceIssuers.get());
                    issuers.addAll(partners.issuers());
                    return List.copyOf(issuers);
                });
        EventLoopGroup boss = transport.group(1, "pep-accept");
        EventLoopGroup workers = transport.group(0, "pep-io");
        try {
            return start(config, transport, certificates, partners, boss, workers);
        } catch (Exception | Error e) {
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw e;
        }
    }

    private static GatewayServer start(GatewayConfig config, Transport transport, CertificateStore certificates,
            GatewayClientCertificates partners, EventLoopGroup boss, EventLoopGroup workers) throws Exception {
        DefaultPolicyEngine policy = config.policy() == null ? null : loadPolicy(config);
        List<App> apps = policy == null ? interimApps(config) : policy.apps();
        EchoApp echo = policy != null || apps.stream().anyMatch(a -> ECHO.equals(a.upstream().toString()))
                ? EchoApp.start(workers, transport.serverChannel()) : null;
        Router router = new Router(routes(config, apps, echo));
        PolicyEngine decisionPoint = decisionPoint(config);
        PolicyEngine engine = decisionPoint != null ? decisionPoint : policy != null ? policy
                : new ConfiguredAccessEngine(accessModes(config), configVersion(config));
        var registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        var metrics = new GatewayMetrics(registry);
        AuditPipeline audit = Audit.start(config, registry);
        AuditEvents events = AuditEvents.create(config.instance());
        GatewayConnectors connectors = GatewayConnectors.open(config, audit, events, registry, apps);
        var upstreams = new Upstreams(transport.socketChannel(), UpstreamTls.http(config),
                connectors == null ? null : connectors.registry());
        var gw = new GatewayContext(config, router, engine, upstreams, metrics, Clock.systemUTC(), audit, events,
                tracing(config, registry));
        gw.identity = GatewayIdentity.create(config, partners, audit, events, gw.clock);
        DirectDialer direct = new DirectDialer(transport.socketChannel(), UpstreamTls.stream(config));
        // TCP apps behind a connector ride its tunnel like HTTP ones; the rest are dialled directly.
        gw.dialer = connectors == null ? direct : (loop, route) -> Upstreams.viaConnector(route)
                ? connectors.registry().dial(loop, route) : direct.dial(loop, route);
        gw.assertions = GatewayAssertions.load(config, gw.clock);
        if (config.posture() != null) {
            gw.posture = GatewayPosture.create(config, gw.clock,
                    GatewayPosture.sessionKeys(credentials -> gw.identity.sessionId(credentials)));
        }
        gw.sessions = new SessionRegistry(new GatewayRedecider(gw), new SessionEvents(gw), gw.clock,
                config.sessions().redecideInterval());
        gw.sessions.start(config.sessions().checkInterval());
        if (connectors != null) {
            connectors.registry().onEnding((tunnel, reason) -> gw.sessions.end(s -> s.ridesOn(tunnel),
                    SessionEnding.of(reason, "connector")));
        }
        registry.gauge("pep.sessions.registered", gw.sessions, SessionRegistry::size);
        gw.identity.onRevoked((id, trigger) -> gw.sessions.redecide(
                s -> s.gatewaySessionId().filter(id::equals).isPresent(), trigger));
        if (gw.posture != null) {
            // A device's posture changed: decide that subject's sessions of that app again.
            gw.posture.assessor().addListener(change -> gw.sessions.redecide(s -> s.app().equals(change.app())
                    && s.subject().equals(change.subject().id()), "posture"));
        }
        registry.more().counter("pep.identity.token_checks_refused", java.util.List.of(), gw.identity,
                GatewayIdentity::tokenChecksRefused);
        registry.more().counter("pep.identity.session_refreshes", java.util.List.of(), gw.identity,
                GatewayIdentity::sessionRefreshes);
        registry.more().counter("pep.identity.session_refresh_failures", java.util.List.of(), gw.identity,
                GatewayIdentity::sessionRefreshFailures);
        gw.identity.providerHealth().forEach(metrics::provider);
        partners.health().forEach(metrics::provider);
        if (gw.posture != null) {
            gw.posture.health().forEach(metrics::provider);
        }
        metrics.policyVersion(engine.version().id());
        // Run-time apps are routed before the first partner connects.
        EpisodicApps episodic = policy == null ? null : new EpisodicApps(gw, policy,
                new AppStore(config.resolve(config.policy().runtimeAppsDirectory())),
                () -> new Router(routes(config, policy.apps(), echo), gw.clock), registry);
        if (episodic != null) {
            episodic.start();
        }
        ChannelGroup connections = new DefaultChannelGroup("partners", GlobalEventExecutor.INSTANCE);
        var limiter = new ConnectionLimiter(config.limits().maxConnections(),
                config.limits().maxConnectionsPerAddress(), registry);
        registry.gauge("pep.requests.in_flight", gw.inFlight);
        Channel listener = new ServerBootstrap().group(boss, workers).channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new PartnerChannelInitializer(gw, certificates, limiter, connections))
                .bind(config.listener().address(), config.listener().port()).sync().channel();
        long reloadMs = config.tls().reloadInterval().toMillis();
        boss.scheduleWithFixedDelay(certificates::reloadIfChanged, reloadMs, reloadMs, TimeUnit.MILLISECONDS);
        AdminApi api = adminApi(config, audit, events);
        api.register("GET", "/api/v1/policy", r -> CompletableFuture.completedFuture(policyView(gw)));
        SessionAdmin.register(api, gw.sessions, gw.clock);
        if (episodic != null) {
            AppAdmin.register(api, episodic);
        }
        if (connectors != null) {
            connectors.start(boss, workers, transport.serverChannel(), api);
        }
        if (policy != null) {
            // This gateway's built-in engine as another gateway's decision point (AuthZEN).
            AuthZenEndpoint authzen = AuthZenEndpoint.over(policy);
            api.register("POST", "/api" + AuthZenEndpoint.PATH,
                    r -> CompletableFuture.completedFuture(new AdminResponse(200, authzen.evaluate(r.body()))));
        }
        AdminServer admin = config.admin().enabled()
                ? AdminServer.start(boss, transport.serverChannel(), config.admin().address(), config.admin().port(),
                        registry, () -> new AdminServer.Readiness(!gw.draining.get(), gw.engine().version().id()),
                        api, gw.assertions::jwksJson)
                : null;
        if (policy != null) {
            // A new policy version can add, move or remove apps: route by the new set from now on.
            policy.addListener(new PolicyListener() {
                private Map<String, String> decidedBy = policy.appFingerprints();

                @Override
                public void versionChanged(PolicyVersion previous, PolicyVersion current) {
                    episodic.rebuildRoutes();
                    metrics.policyVersion(current.id());
                    metrics.policyReload("loaded");
                    // The live sessions of apps the new version decides otherwise answer to it;
                    // those it denies end now. An external decision point's rules are unseen here.
                    Map<String, String> now = policy.appFingerprints();
                    Map<String, String> before = decidedBy;
                    decidedBy = now;
                    gw.sessions.redecide(s -> decisionPoint != null
                            || !Objects.equals(before.get(s.app()), now.get(s.app())), "policy");
                    audit.emit(events.policyLoaded(current, -1, List.of(config.policy().directory())));
                }

                @Override
                public void reloadRefused(PolicyVersion running, List<PolicyError> errors) {
                    errors.forEach(e -> LOG.warn("policy error, running version kept version={} error={}", running, e));
                    metrics.policyReload("refused");
                    audit.emit(events.policyRefused(running, List.of(config.policy().directory()),
                            errors.get(0).toString()));
                }
            });
            policy.startWatching(config.policy().reloadInterval());
        }
        audit.emit(events.policyLoaded(engine.version(), -1,
                List.of(config.policy() == null ? "gateway.yaml" : config.policy().directory())));
        var server = new GatewayServer(gw, boss, workers, listener, admin, echo, connections, policy, audit,
                api, episodic, connectors);
        LOG.info("gateway started listener={}:{} admin={} apps={} policy_version={}", config.listener().address(),
                server.port(), admin == null ? "off" : config.admin().address() + ":" + admin.port(),
                gw.router().routes().size(), engine.version());
        return server;
    }

    /** The admin API, where the parts of the gateway register their operations. */
    public AdminApi adminApi() {
        return api;
    }

    /** The connector listener's port, or -1 when there is none. */
    public int connectorPort() {
        return connectors == null ? -1 : connectors.port();
    }

    /** The partner listener's port. */
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /** The admin listener's port, or -1 when it is off. */
    public int adminPort() {
        return admin == null ? -1 : admin.port();
    }

    /**
     * Stops accepting, lets in-flight requests finish for up to the drain timeout, tells clients
     * to go (Connection: close, GOAWAY), then closes what is left.
     */
    public void drain() throws InterruptedException {
        if (!gw.draining.compareAndSet(false, true)) {
            return;
        }
        LOG.info("gateway draining in_flight={} connections={}", gw.inFlight.get(), connections.size());
        listener.close().sync();
        for (Channel ch : connections) {
            if (ch.pipeline().get("h2") != null) {
                // The HTTP/2 handler answers close() with GOAWAY and waits for open streams.
                ch.close();
            } else {
                ch.pipeline().fireUserEventTriggered(DrainEvent.INSTANCE);
            }
        }
        long deadline = System.nanoTime() + gw.config.drainTimeout().toNanos();
        while ((gw.inFlight.get() > 0 || !connections.isEmpty()) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        LOG.info("gateway drained in_flight={} connections={}", gw.inFlight.get(), connections.size());
    }

    @Override
    public void close() {
        if (policy != null) {
            policy.close();
        }
        if (episodic != null) {
            episodic.close();
        }
        listener.close().syncUninterruptibly();
        connections.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
        if (connectors != null) {
            connectors.close();
        }
        if (admin != null) {
            admin.close();
        }
        if (echo != null) {
            echo.close();
        }
        gw.identity.close();
        if (gw.posture != null) {
            gw.posture.close();
        }
        gw.tracing.close();
        gw.sessions.close();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        // Last: the connections' session.ended events are in its queue by now.
        audit.close();
        LOG.info("gateway stopped");
    }

    /** W3C trace context always; span export only when an OTLP endpoint is configured. */
    private static Tracing tracing(GatewayConfig config, PrometheusMeterRegistry registry) {
        var t = config.tracing();
        OtlpSpanExporter exporter = t.otlpEndpoint() == null ? null
                : new OtlpSpanExporter(config.instance(), t.otlpEndpoint(), t.timeout(), t.headers(),
                        t.maxQueuedSpans(), java.time.Duration.ofSeconds(1), registry);
        return new Tracing(t.sampleRatio(), exporter,
                () -> java.util.concurrent.ThreadLocalRandom.current().nextLong(), registry);
    }

    private static List<CertificateStore.Entry> certificateEntries(GatewayConfig config) throws Exception {
        List<CertificateStore.Entry> entries = new ArrayList<>();
        for (TlsConfig.CertificateConfig c : config.tls().certificates()) {
            entries.add(new CertificateStore.Entry(c.hosts(), config.resolve(c.certificate()),
                    config.resolve(c.key())));
        }
        TlsConfig.DevelopmentCaConfig dev = config.tls().developmentCa();
        if (dev != null) {
            DevelopmentCa ca = new DevelopmentCa(config.resolve(dev.directory()), Clock.systemUTC(),
                    new SecureRandom());
            boolean created = ca.ensure(dev.hosts());
            LOG.info("development certificate {} hosts={} trust_ca={}", created ? "created" : "in use",
                    dev.hosts(), ca.caFile().toAbsolutePath());
            entries.add(new CertificateStore.Entry(dev.hosts(), ca.certFile(), ca.keyFile()));
        }
        return entries;
    }

    private static DefaultPolicyEngine loadPolicy(GatewayConfig config) throws PolicyLoadException {
        Path dir = config.resolve(config.policy().directory());
        PolicyLoadResult result = DefaultPolicyEngine.load(dir);
        if (result instanceof PolicyLoadResult.Failed failed) {
            throw new PolicyLoadException(failed.errors());
        }
        return ((PolicyLoadResult.Loaded) result).engine();
    }

    /** The external AuthZEN decision point the configuration names, or null. */
    private static PolicyEngine decisionPoint(GatewayConfig config) throws IOException {
        PolicyConfig.DecisionPoint dp = config.policy() == null ? null : config.policy().decisionPoint();
        if (dp == null) {
            return null;
        }
        String token = dp.tokenFile() == null ? null : Files.readString(config.resolve(dp.tokenFile())).strip();
        LOG.info("decisions asked of an external decision point url={} timeout={} cache_size={}", dp.url(),
                dp.timeout(), dp.cacheSize());
        return AuthZenPolicyEngine.create(dp.url(), dp.timeout(), dp.cacheSize(), token);
    }

    private static AdminApi adminApi(GatewayConfig config, AuditPipeline audit, AuditEvents events)
            throws IOException {
        String file = config.admin().tokenFile();
        AdminTokens tokens = file == null ? null : AdminTokens.read(config.resolve(file));
        return new AdminApi(tokens, (request, response) -> audit.emit(events.adminAction(request.operator(),
                operation(request), request.rest().isEmpty() ? request.path() : request.rest(),
                response.status() < 400)));
    }

    /** The audit operation of an admin call: its verb, then the path after the API version. */
    private static String operation(AdminRequest request) {
        String verb = switch (request.method()) {
            case "GET", "HEAD" -> "read";
            case "POST" -> "create";
            case "PUT", "PATCH" -> "update";
            case "DELETE" -> "delete";
            default -> request.method().toLowerCase(Locale.ROOT);
        };
        String what = request.path().substring(AdminApi.PREFIX.length()).replaceFirst("^v\\d+/", "");
        String resource = what.contains("/") ? what.substring(0, what.indexOf('/')) : what;
        return verb + "-" + resource;
    }

    private static AdminResponse policyView(GatewayContext gw) {
        List<Map<String, Object>> apps = new ArrayList<>();
        for (Route route : gw.router().routes()) {
            App app = route.app();
            Map<String, Object> a = new LinkedHashMap<>();
            a.put("name", app.name());
            a.put("hosts", app.hosts());
            a.put("protocol", app.protocol().name().toLowerCase(Locale.ROOT));
            a.put("lifecycle", app.episodic() ? "episodic" : "permanent");
            a.put("expires", app.expires().map(Instant::toString).orElse(null));
            apps.add(a);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("policy_version", gw.engine().version().id());
        body.put("apps", apps);
        return AdminResponse.ok(body);
    }

    private static List<App> interimApps(GatewayConfig config) {
        List<App> apps = new ArrayList<>();
        config.apps().forEach((name, a) -> apps.add(new App(name, lower(a.hosts()), AppProtocol.HTTP,
                URI.create(a.upstream()), a.labels(), false, Optional.empty())));
        return apps;
    }

    private static List<Route> routes(GatewayConfig config, List<App> apps, EchoApp echo) {
        List<Route> routes = new ArrayList<>();
        for (App app : apps) {
            String upstream = app.upstream().toString();
            AppConfig settings = config.apps().getOrDefault(app.name(), AppConfig.defaults(app.hosts(), upstream));
            URI target = ECHO.equals(upstream) ? echo.uri() : app.upstream();
            routes.add(new Route(app, settings, target));
        }
        return routes;
    }

    private static List<String> lower(List<String> hosts) {
        return hosts.stream().map(h -> h.toLowerCase(java.util.Locale.ROOT)).toList();
    }

    private static Map<String, AppConfig.Access> accessModes(GatewayConfig config) {
        Map<String, AppConfig.Access> modes = new LinkedHashMap<>();
        config.apps().forEach((name, a) -> modes.put(name, a.access()));
        return modes;
    }

    private static PolicyVersion configVersion(GatewayConfig config) throws NoSuchAlgorithmException {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        accessModes(config).forEach((name, mode) ->
                sha.update((name + "=" + mode + "\n").getBytes(StandardCharsets.UTF_8)));
        return new PolicyVersion("config-" + HexFormat.of().formatHex(sha.digest()).substring(0, 12));
    }
}
