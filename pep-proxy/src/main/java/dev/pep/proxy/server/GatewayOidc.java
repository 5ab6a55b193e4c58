package dev.pep.proxy.server;

import com.nimbusds.jwt.JWT;
import dev.pep.core.AuditSink;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Subject;
import dev.pep.identity.ClaimMapping;
import dev.pep.identity.jwt.JwksSource;
import dev.pep.identity.local.LoginFormRenderer;
import dev.pep.identity.oidc.BackChannelLogout;
import dev.pep.identity.oidc.LoginOutcome;
import dev.pep.identity.oidc.OidcProvider;
import dev.pep.identity.oidc.OidcProviderConfig;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.oidc.ProviderDiscovery;
import dev.pep.identity.oidc.ProviderGrant;
import dev.pep.identity.oidc.RelyingParty;
import dev.pep.identity.oidc.ReturnToValidator;
import dev.pep.identity.oidc.SessionRefresher;
import dev.pep.identity.session.AeadSealer;
import dev.pep.identity.session.Session;
import dev.pep.identity.session.SessionCookieCodec;
import dev.pep.identity.session.SessionStore;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.config.IdentitySettings;
import dev.pep.proxy.server.GatewayIdentity.EndpointRequest;
import dev.pep.proxy.server.GatewayIdentity.EndpointResponse;
import dev.pep.telemetry.audit.AuditEvents;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Browser sign-in through the partners' OpenID providers, on every app host: the chooser page,
 * the redirect to the provider, the callback, RP-initiated and back-channel logout. The protocol
 * is the {@link RelyingParty}'s; this class chooses the provider, discovers it (in the background,
 * again after a failure), keeps sessions renewed with the providers' refresh tokens
 * ({@link SessionRefresher}, on a thread of its own), and turns outcomes into answers and audit
 * events. Thread-safe; nothing here blocks an event loop.
 */
final class GatewayOidc implements AutoCloseable {

    static final String CALLBACK_PATH = "/.pep/callback";
    static final String SIGNED_OUT_PATH = "/.pep/signed-out";
    static final String BACK_CHANNEL_PREFIX = "/.pep/backchannel-logout/";
    private static final Logger LOG = LoggerFactory.getLogger(GatewayOidc.class);
    private static final Duration DISCOVERY_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration RETRY_AFTER = Duration.ofSeconds(5);
    /** Bounds the ID tokens kept as logout hints; past it, logout asks the provider to confirm. */
    private static final int MAX_HINTS = 100_000;

    private final List<OidcProviderConfig> configs;
    private final Map<String, IdentitySettings.Provider> settings;
    private final Map<String, Discovery> discoveries = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> discoveryFailures = new ConcurrentHashMap<>();
    private final Map<String, SignIn> signIns = new ConcurrentHashMap<>();
    private final RelyingParty relyingParty;
    private final HttpClient http;
    private final ScheduledExecutorService keyFetches;
    private final ExecutorService work;
    private final SessionStore store;
    private final AuditSink audit;
    private final AuditEvents events;
    private final Clock clock;
    private final BiConsumer<String, String> revoked;
    private final ScheduledExecutorService refreshes;
    private final SessionRefresher refresher;

    private GatewayOidc(List<OidcProviderConfig> configs, Map<String, IdentitySettings.Provider> settings,
            RelyingParty relyingParty, SessionStore store, HttpClient http, ScheduledExecutorService keyFetches,
            ExecutorService work, AuditSink audit, AuditEvents events, Clock clock,
            BiConsumer<String, String> revoked) {
        this.configs = configs;
        this.settings = settings;
        this.store = store;
        configs.forEach(c -> discoveryFailures.put(c.name(), new AtomicLong()));
        this.relyingParty = relyingParty;
        this.http = http;
        this.keyFetches = keyFetches;
        this.work = work;
        this.audit = audit;
        this.events = events;
        this.clock = clock;
        this.revoked = revoked;
        this.refreshes = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pep-oidc-refresh");
            t.setDaemon(true);
            return t;
        });
        this.refresher = new SessionRefresher(relyingParty, store, refreshes, clock,
                SessionRefresher.Settings.defaults(), this::refreshEnded);
    }

    /**
     * The providers of gateway.yaml, with their secrets read now; discovery starts in the
     * background, so a provider that is down delays only its own sign-ins.
     *
     * @param revoked told the id of every gateway session a back-channel logout or a refused
     *     refresh ends, and which of the two ({@code logout}, {@code refresh})
     */
    static GatewayOidc create(GatewayConfig config, IdentitySettings s, AeadSealer sealer, SessionCookieCodec codec,
            SessionStore store, ScheduledExecutorService keyFetches, AuditSink audit, AuditEvents events,
            Clock clock, BiConsumer<String, String> revoked) throws IOException {
        List<OidcProviderConfig> configs = new ArrayList<>();
        Map<String, IdentitySettings.Provider> byName = new LinkedHashMap<>();
        for (IdentitySettings.Provider p : s.providers()) {
            configs.add(providerConfig(config, p));
            byName.put(p.name(), p);
            if (p.insecureHttp() && "http".equals(p.issuer().getScheme())) {
                LOG.warn("provider over plain http, for development only provider={} issuer={}", p.name(),
                        p.issuer());
            }
        }
        ExecutorService work = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "pep-oidc");
            t.setDaemon(true);
            return t;
        });
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                .followRedirects(HttpClient.Redirect.NEVER).build();
        RelyingParty.Settings settings = new RelyingParty.Settings(CALLBACK_PATH, Duration.ofMinutes(10),
                s.sessionIdleTimeout(), s.sessionMaxLength(), s.providerTimeout());
        RelyingParty rp = new RelyingParty(List.of(), sealer, codec, store, http, work, clock, new SecureRandom(),
                settings);
        GatewayOidc oidc = new GatewayOidc(List.copyOf(configs), Map.copyOf(byName), rp, store, http, keyFetches,
                work, audit, events, clock, revoked);
        configs.forEach(c -> oidc.provider(c.name()));
        oidc.refresher.start();
        return oidc;
    }

    private static OidcProviderConfig providerConfig(GatewayConfig config, IdentitySettings.Provider p)
            throws IOException {
        String secret = p.clientSecretFile() != null
                ? Files.readString(config.resolve(p.clientSecretFile()), StandardCharsets.UTF_8).trim()
                : System.getenv(p.clientSecretEnv());
        if (secret == null || secret.isEmpty()) {
            throw new IOException("provider " + p.name() + ": the client secret is empty");
        }
        ClaimMapping mapping = GatewayIdentity.claimMapping(p.claims(), p.claims().fixedOrganisation());
        return new OidcProviderConfig(p.name(), p.issuer(), p.clientId(), secret, p.scopes(),
                new HashSet<>(p.algorithms()), p.clockSkew(), mapping, new HashSet<>(p.hosts()),
                new HashSet<>(p.emailDomains()));
    }

    /**
     * Each provider's readiness, for health metrics: up once discovered with its keys usable;
     * a failed discovery is tried again at the next sign-in that needs the provider.
     */
    List<ProviderHealth> health() {
        return configs.stream().map(c -> new ProviderHealth("oidc", c.name(), () -> ready(c.name()),
                discoveryFailures.get(c.name())::get)).toList();
    }

    /** The refresher keeping provider sign-ins renewed, for its counters. */
    SessionRefresher refresher() {
        return refresher;
    }

    /** Whether any provider serves sign-ins on {@code host}. */
    boolean serves(String host) {
        return !candidates(host).isEmpty();
    }

    /** The providers that serve {@code host}, in the order of gateway.yaml. */
    List<OidcProviderConfig> candidates(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        return configs.stream().filter(c -> c.hosts().isEmpty() || c.hosts().contains(h)).toList();
    }

    /**
     * Answers {@code GET /.pep/login} when providers serve the host: a named provider or the
     * provider of a typed e-mail domain starts at once, a lone provider too (unless a local form
     * is offered beside it); otherwise the chooser page.
     */
    CompletableFuture<EndpointResponse> login(EndpointRequest req, boolean localFormToo) {
        List<OidcProviderConfig> candidates = candidates(req.host());
        String returnTo = ReturnToValidator.validateOrRoot(req.query("return_to"), req.app());
        String named = req.query("provider");
        String email = req.query("email");
        if (!named.isEmpty()) {
            Optional<OidcProviderConfig> chosen = candidates.stream().filter(c -> c.name().equals(named))
                    .findFirst();
            return chosen.map(c -> start(c, req, returnTo)).orElseGet(() -> done(
                    EndpointResponse.error(404, "provider_unknown", "No such identity provider for this address.")));
        }
        if (!email.isEmpty()) {
            Optional<OidcProviderConfig> byDomain = byDomain(candidates, email);
            return byDomain.map(c -> start(c, req, returnTo)).orElseGet(() -> done(chooser(req, returnTo,
                    localFormToo, Optional.of("No organisation here signs in users of that address."), 404)));
        }
        if (candidates.size() == 1 && !localFormToo) {
            return start(candidates.get(0), req, returnTo);
        }
        return done(chooser(req, returnTo, localFormToo, Optional.empty(), 200));
    }

    /** Answers the provider's redirect back: the session cookie and the return address, or a refusal. */
    CompletableFuture<EndpointResponse> callback(EndpointRequest req) {
        Optional<String> cookie = SessionCookieCodec.cookieValue(req.credentials(), RelyingParty.LOGIN_COOKIE);
        return relyingParty.completeLogin(req.host(), req.authority(), req.rawQuery(), cookie)
                .thenApply(outcome -> afterCallback(req, outcome));
    }

    /** Ends the sessions a provider's logout token names; 200 when valid, 400 otherwise. */
    CompletableFuture<EndpointResponse> backChannelLogout(EndpointRequest req) {
        String name = req.path().substring(BACK_CHANNEL_PREFIX.length());
        String token = req.form().getOrDefault("logout_token", "");
        if (token.isEmpty() || configs.stream().noneMatch(c -> c.name().equals(name))) {
            return done(EndpointResponse.error(400, "logout_token_invalid", "No valid logout token."));
        }
        return provider(name).thenApplyAsync(p -> {
            BackChannelLogout result = relyingParty.backChannelLogout(p, token);
            if (result instanceof BackChannelLogout.Accepted accepted) {
                accepted.endedSessions().forEach(id -> ended(req, id));
                LOG.debug("back-channel logout provider={} sessions={}", name, accepted.endedSessions().size());
                return EndpointResponse.html(200, "");
            }
            String code = ((BackChannelLogout.Refused) result).reason().code();
            return EndpointResponse.error(400, code, "The logout token was refused.");
        }, work).exceptionally(e -> EndpointResponse.error(503, "provider_unavailable",
                "The identity provider cannot be reached."));
    }

    /**
     * Where a browser goes after its gateway session {@code sessionId} ended by logout: the
     * provider's end-session endpoint when the session came from a provider that has one.
     */
    Optional<String> logoutRedirect(String sessionId, String authority) {
        // LIMITATION(L-212): ID-token hints live in this process only; after a restart, no provider logout.
        SignIn signIn = signIns.remove(sessionId);
        refresher.forget(sessionId);
        if (signIn == null) {
            return Optional.empty();
        }
        Discovery d = discoveries.get(signIn.provider());
        OidcProvider provider = d == null ? null : d.future().getNow(null);
        if (provider == null) {
            return Optional.empty();
        }
        URI after = URI.create("https://" + authority + SIGNED_OUT_PATH);
        return relyingParty.logoutUri(provider, after, Optional.of(signIn.idToken())).map(URI::toString);
    }

    /** The plain page a provider sends the browser back to after RP-initiated logout. */
    EndpointResponse signedOut(EndpointRequest req) {
        String html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out</title>"
                + "</head><body><p>You are signed out of " + LoginFormRenderer.escape(req.app().name())
                + ".</p><p><a href=\"" + GatewayIdentity.LOGIN_PATH + "\">Sign in again</a></p></body></html>\n";
        return EndpointResponse.html(200, html);
    }

    private CompletableFuture<EndpointResponse> start(OidcProviderConfig config, EndpointRequest req,
            String returnTo) {
        return provider(config.name()).thenApply(p -> {
            // LIMITATION(L-211): the redirect URI carries the port the browser named; no public-URL setting.
            RelyingParty.LoginStart start = relyingParty.startLogin(p, returnTo, req.app(), req.host(),
                    req.authority());
            return EndpointResponse.redirect(302, start.authorizationUri().toString())
                    .withCookie(start.loginStateCookie());
        }).exceptionally(e -> {
            LOG.debug("sign-in refused, provider unavailable request={} provider={}", req.requestId(),
                    config.name());
            audit.emit(req.traced(events.loginFailed(req.requestId(), config.issuer().toString(),
                    AuthenticationMethod.OIDC, req.credentials().source(), "provider_unavailable")));
            return EndpointResponse.error(503, "provider_unavailable",
                    "The identity provider of your organisation cannot be reached; try again shortly.");
        });
    }

    private EndpointResponse afterCallback(EndpointRequest req, LoginOutcome outcome) {
        if (outcome instanceof LoginOutcome.Completed ok) {
            Session session = ok.session();
            if (!keepRenewed(session, ok.provider(), ok.grant())) {
                store.revoke(session.id(), clock.instant());
                audit.emit(req.traced(events.loginFailed(req.requestId(), session.subject().issuer(),
                        AuthenticationMethod.OIDC, req.credentials().source(), IdentityReasons.IDENTITY_ERROR)));
                return EndpointResponse.error(503, IdentityReasons.IDENTITY_ERROR,
                        "The gateway cannot take more sign-ins right now; try again shortly.");
            }
            ok.idToken().ifPresent(token -> remember(session, ok.provider(), token));
            audit.emit(req.traced(events.loginSucceeded(session.id(), req.requestId(), session.subject(),
                    req.credentials().source())));
            EndpointResponse res = EndpointResponse.redirect(ok.returnTo());
            for (String c : ok.setCookies()) {
                res = res.withCookie(c);
            }
            return res;
        }
        String code = ((LoginOutcome.Failed) outcome).reason().code();
        audit.emit(req.traced(events.loginFailed(req.requestId(), "oidc", AuthenticationMethod.OIDC,
                req.credentials().source(), code)));
        if (IdentityReasons.PROVIDER_UNAVAILABLE.equals(code)) {
            // The provider's fault, not the partner's: no answer in time, or none at all.
            return EndpointResponse.error(503, code,
                    "The identity provider of your organisation did not answer in time; try again shortly.");
        }
        return EndpointResponse.error(403, code, "The sign-in could not be completed; open the application again.");
    }

    /**
     * Hands the sign-in's refresh token to the refresher when the provider issued one and may use
     * it; false when the refresher cannot take it (the sign-in then fails: fail closed).
     */
    private boolean keepRenewed(Session session, String providerName, Optional<ProviderGrant> grant) {
        IdentitySettings.Provider p = settings.get(providerName);
        Discovery d = discoveries.get(providerName);
        OidcProvider provider = d == null ? null : d.future().getNow(null);
        if (grant.isEmpty() || p == null || !p.refreshTokens() || provider == null) {
            return true;
        }
        return refresher.track(session, provider, grant.get(), Optional.ofNullable(p.refreshInterval()));
    }

    /** A refresh the provider refused, or one that never came before the tokens ran out. */
    private void refreshEnded(String sessionId, Subject subject, String provider, String reason) {
        signIns.remove(sessionId);
        LOG.debug("session ended by refresh session={} provider={} reason={}", sessionId, provider, reason);
        audit.emit(events.revocation(sessionId, subject.id(), subject.issuer(), reason));
        revoked.accept(sessionId, "refresh");
    }

    private void remember(Session session, String provider, JWT idToken) {
        Instant now = clock.instant();
        if (signIns.size() >= MAX_HINTS) {
            signIns.values().removeIf(s -> !now.isBefore(s.until()));
        }
        if (signIns.size() < MAX_HINTS) {
            signIns.put(session.id(), new SignIn(provider, idToken, session.subject(), session.absoluteExpiresAt()));
        }
    }

    /** A session the provider ended; {@code req} is its back-channel request, whose trace it joins. */
    private void ended(EndpointRequest req, String sessionId) {
        SignIn signIn = signIns.remove(sessionId);
        refresher.forget(sessionId);
        LOG.debug("session ended by provider session={} provider={}", sessionId,
                signIn == null ? "-" : signIn.provider());
        if (signIn != null) {
            audit.emit(req.traced(events.logout(sessionId, signIn.subject())));
        }
        revoked.accept(sessionId, "logout");
    }

    /** The provider ready for use: discovered and its keys fetched; a failed attempt is retried later. */
    private CompletableFuture<OidcProvider> provider(String name) {
        Instant now = clock.instant();
        Discovery d = discoveries.compute(name, (k, current) -> current == null
                || current.future().isCompletedExceptionally() && !now.isBefore(current.startedAt().plus(RETRY_AFTER))
                ? new Discovery(discover(config(name)), now) : current);
        return d.future();
    }

    private CompletableFuture<OidcProvider> discover(OidcProviderConfig config) {
        return ProviderDiscovery.discover(config.issuer(), http, DISCOVERY_TIMEOUT).thenCompose(metadata -> {
            if (metadata.getJWKSetURI() == null || metadata.getAuthorizationEndpointURI() == null
                    || metadata.getTokenEndpointURI() == null) {
                throw new IllegalStateException("provider " + config.name() + " publishes no keys or endpoints");
            }
            JwksSource keys = new JwksSource(config.issuer().toString(), metadata.getJWKSetURI(), http, keyFetches,
                    clock, JwksSource.Settings.defaults());
            OidcProvider provider = new OidcProvider(config, metadata, keys);
            return keys.refresh().thenApply(v -> {
                if (!keys.usable()) {
                    throw new IllegalStateException("provider " + config.name() + " keys unavailable");
                }
                keys.start();
                relyingParty.register(provider);
                LOG.info("identity provider ready provider={} issuer={}", config.name(), config.issuer());
                return provider;
            });
        }).whenComplete((p, e) -> {
            if (e != null) {
                discoveryFailures.get(config.name()).incrementAndGet();
                LOG.warn("identity provider unavailable provider={} issuer={} error={}", config.name(),
                        config.issuer(), e.getCause() != null ? e.getCause().toString() : e.toString());
            }
        });
    }

    private boolean ready(String name) {
        Discovery d = discoveries.get(name);
        return d != null && d.future().isDone() && !d.future().isCompletedExceptionally()
                && d.future().join().keys().usable();
    }

    private OidcProviderConfig config(String name) {
        return configs.stream().filter(c -> c.name().equals(name)).findFirst().orElseThrow();
    }

    private static Optional<OidcProviderConfig> byDomain(List<OidcProviderConfig> candidates, String email) {
        int at = email.lastIndexOf('@');
        String domain = at < 0 ? email : email.substring(at + 1);
        String d = domain.trim().toLowerCase(Locale.ROOT);
        return candidates.stream().filter(c -> c.emailDomains().contains(d)).findFirst();
    }

    private EndpointResponse chooser(EndpointRequest req, String returnTo, boolean localFormToo,
            Optional<String> error, int status) {
        String back = URLEncoder.encode(returnTo, StandardCharsets.UTF_8);
        StringBuilder html = new StringBuilder("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                + "<title>Sign in</title></head><body><h1>Sign in to ")
                .append(LoginFormRenderer.escape(req.app().name())).append("</h1>");
        error.ifPresent(e -> html.append("<p role=\"alert\">").append(LoginFormRenderer.escape(e)).append("</p>"));
        html.append("<p>Choose your organisation:</p><ul>");
        List<OidcProviderConfig> candidates = candidates(req.host());
        for (OidcProviderConfig c : candidates) {
            html.append("<li><a href=\"").append(GatewayIdentity.LOGIN_PATH).append("?provider=")
                    .append(c.name()).append("&amp;return_to=").append(back).append("\">")
                    .append(LoginFormRenderer.escape(c.name())).append("</a></li>");
        }
        html.append("</ul>");
        if (candidates.stream().anyMatch(c -> !c.emailDomains().isEmpty())) {
            html.append("<form method=\"get\" action=\"").append(GatewayIdentity.LOGIN_PATH)
                    .append("\"><label>Or your e-mail address <input type=\"email\" name=\"email\"></label>")
                    .append("<input type=\"hidden\" name=\"return_to\" value=\"")
                    .append(LoginFormRenderer.escape(returnTo)).append("\"><input type=\"submit\" value=\"Continue\">")
                    .append("</form>");
        }
        if (localFormToo) {
            html.append("<p><a href=\"").append(GatewayIdentity.LOGIN_PATH).append("?method=local&amp;return_to=")
                    .append(back).append("\">Sign in with a local account</a></p>");
        }
        return EndpointResponse.html(status, html.append("</body></html>\n").toString());
    }

    private static CompletableFuture<EndpointResponse> done(EndpointResponse res) {
        return CompletableFuture.completedFuture(res);
    }

    @Override
    public void close() {
        refresher.close();
        refreshes.shutdownNow();
        discoveries.values().forEach(d -> d.future().thenAccept(p -> p.keys().close()));
        work.shutdownNow();
    }

    private record Discovery(CompletableFuture<OidcProvider> future, Instant startedAt) {
    }

    /** What a logout needs of a sign-in: its provider, the ID token to hint with, who it was. */
    private record SignIn(String provider, JWT idToken, Subject subject, Instant until) {
        @Override
        public String toString() {
            return "SignIn[provider=" + provider + "]";
        }
    }
}
