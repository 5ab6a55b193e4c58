package dev.pep.proxy.server;

import dev.pep.core.App;
import dev.pep.core.AuditEvent;
import dev.pep.core.AuditSink;
import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.identity.ClaimMapping;
import dev.pep.identity.jwt.IssuerConfig;
import dev.pep.identity.jwt.JwksSource;
import dev.pep.identity.jwt.JwtAuthenticator;
import dev.pep.identity.jwt.VerificationBudget;
import dev.pep.identity.local.LocalUserDirectory;
import dev.pep.identity.local.LoginFormRenderer;
import dev.pep.identity.oidc.ReturnToValidator;
import dev.pep.identity.session.AeadSealer;
import dev.pep.identity.session.InMemorySessionStore;
import dev.pep.identity.session.Session;
import dev.pep.identity.session.SessionCookieAuthenticator;
import dev.pep.identity.session.SessionCookieCodec;
import dev.pep.identity.session.SessionKeyRing;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.config.IdentitySettings;
import dev.pep.telemetry.audit.AuditEvents;
import dev.pep.telemetry.trace.TraceContext;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who is asking, for the data plane: the gateway's session cookie first, then a bearer JWT; and
 * the gateway's own endpoints under {@code /.pep/} (login form, sign-in through the partners'
 * OpenID providers with {@link GatewayOidc}, logout). Password checks run on
 * a small pool of their own, never on an event loop (Argon2id costs tens of milliseconds by
 * design). Thread-safe.
 */
final class GatewayIdentity implements AutoCloseable {

    /** The path prefix the gateway keeps for itself on every app host; never forwarded. */
    static final String PREFIX = "/.pep/";
    static final String LOGIN_PATH = "/.pep/login";
    static final String LOGOUT_PATH = "/.pep/logout";
    private static final Logger LOG = LoggerFactory.getLogger(GatewayIdentity.class);
    private static final String CSRF_COOKIE = "__Host-pep_csrf";
    private static final int MAX_FORM_BYTES = 8 * 1024;

    private final IdentitySettings settings;
    private final SessionCookieCodec codec;
    private final InMemorySessionStore sessions;
    private final SessionCookieAuthenticator cookies;
    private final JwtAuthenticator bearer;
    private final List<JwksSource> keySources;
    private final LocalUserDirectory users;
    /** The partner CAs of client certificates, by host. */
    private final GatewayClientCertificates certificates;
    private GatewayOidc oidc;
    private final ExecutorService passwordChecks;
    private final ScheduledExecutorService keyFetches;
    private final AuditSink audit;
    private final AuditEvents events;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private volatile BiConsumer<String, String> revoked = (id, trigger) -> { };

    private GatewayIdentity(IdentitySettings settings, SessionCookieCodec codec, InMemorySessionStore sessions,
            LocalUserDirectory users, JwtAuthenticator bearer, List<JwksSource> keySources,
            ScheduledExecutorService keyFetches, GatewayClientCertificates certificates,
            AuditSink audit, AuditEvents events, Clock clock) {
        this.settings = settings;
        this.codec = codec;
        this.sessions = sessions;
        this.cookies = new SessionCookieAuthenticator(codec, sessions);
        this.bearer = bearer;
        this.keySources = keySources;
        this.users = users;
        this.certificates = certificates;
        this.keyFetches = keyFetches;
        this.passwordChecks = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "pep-password-check");
            t.setDaemon(true);
            return t;
        });
        this.audit = audit;
        this.events = events;
        this.clock = clock;
    }

    /** Builds what gateway.yaml's {@code identity} section asks for; null settings: nobody signs in. */
    static GatewayIdentity create(GatewayConfig config, AuditSink audit, AuditEvents events, Clock clock)
            throws IOException {
        return create(config, GatewayClientCertificates.load(config, clock), audit, events, clock);
    }

    /** As above, with the partner CAs of client certificates already loaded. */
    static GatewayIdentity create(GatewayConfig config, GatewayClientCertificates certificates, AuditSink audit,
            AuditEvents events, Clock clock) throws IOException {
        IdentitySettings s = config.identity() != null ? config.identity()
                : new IdentitySettings(null, null, null, null, null, null, null, null);
        SecureRandom random = new SecureRandom();
        SessionKeyRing keys = SessionKeyRing.loadOrCreate(config.resolve(s.sessionKeys()), clock, random);
        AeadSealer sealer = new AeadSealer(keys, random);
        SessionCookieCodec codec = new SessionCookieCodec(sealer);
        InMemorySessionStore sessions = new InMemorySessionStore(s.sessionMaxLength());
        LocalUserDirectory users = s.localUsers() == null ? null
                : LocalUserDirectory.load(config.resolve(s.localUsers()));
        ScheduledExecutorService fetches = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "pep-jwks");
            t.setDaemon(true);
            return t;
        });
        Map<IssuerConfig, JwksSource> issuers = new LinkedHashMap<>();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        for (IdentitySettings.BearerIssuer b : s.bearer()) {
            IssuerConfig ic = new IssuerConfig(b.issuer(), b.jwksUri(), new HashSet<>(b.audiences()),
                    new HashSet<>(b.algorithms()), new HashSet<>(b.types()), new HashSet<>(b.requiredClaims()),
                    b.clockSkew(), IssuerConfig.DEFAULT_MAX_TOKEN_BYTES,
                    claimMapping(b.claims(), b.fixedOrganisation()));
            JwksSource source = new JwksSource(b.issuer(), b.jwksUri(), http, fetches, clock,
                    JwksSource.Settings.defaults());
            source.start();
            issuers.put(ic, source);
        }
        JwtAuthenticator bearer = issuers.isEmpty() ? null : new JwtAuthenticator(issuers, clock, 10_000,
                VerificationBudget.perSecond(config.limits().maxTokenChecksPerSecond()));
        LOG.info("identity ready local_users={} bearer_issuers={} providers={} client_certificate_bundles={} "
                + "session_keys={}", users == null ? 0 : users.size(), issuers.size(), s.providers().size(),
                certificates.entries(), keys.size());
        GatewayIdentity identity = new GatewayIdentity(s, codec, sessions, users, bearer,
                List.copyOf(issuers.values()), fetches, certificates, audit, events, clock);
        if (!s.providers().isEmpty()) {
            identity.oidc = GatewayOidc.create(config, s, sealer, codec, sessions, fetches, audit, events, clock,
                    (id, trigger) -> identity.revoked.accept(id, trigger));
        }
        return identity;
    }

    /** How gateway.yaml's {@code claims} of a provider or bearer issuer become a {@link ClaimMapping}. */
    static ClaimMapping claimMapping(IdentitySettings.Claims c, String fixedOrganisation) {
        return new ClaimMapping(c.organisation(), Optional.ofNullable(fixedOrganisation), c.groups(), c.roles(),
                c.email(), new HashSet<>(c.extra()));
    }

    /**
     * Judges a request's credentials: the session cookie, then a bearer token. A rejected cookie
     * is reported as such, so a browser can be sent to sign in again.
     */
    AuthenticationResult authenticate(Credentials credentials) {
        AuthenticationResult fromCookie = cookies.authenticate(credentials);
        if (fromCookie instanceof AuthenticationResult.Authenticated) {
            return fromCookie;
        }
        if (bearer != null && !credentials.header("authorization").isEmpty()) {
            return bearer.authenticate(credentials);
        }
        if (fromCookie instanceof AuthenticationResult.NotPresented
                && !credentials.peerCertificates().isEmpty()) {
            return byCertificate(credentials);
        }
        return fromCookie;
    }

    /** The client certificate judged against the partner CAs of the request's host. */
    private AuthenticationResult byCertificate(Credentials credentials) {
        return certificates.authenticate(credentials);
    }

    /**
     * The live gateway session the request's cookie opens (sealed, for this host, not revoked),
     * if it opens one; the cookie is unsealed once per call, so callers keep the answer. Never
     * throws.
     */
    Optional<Session> cookieSession(Credentials credentials) {
        try {
            return SessionCookieCodec.cookieValue(credentials, SessionCookieCodec.COOKIE_NAME)
                    .map(value -> cookies.openSession(value, credentials))
                    .filter(SessionCookieCodec.Opened.Valid.class::isInstance)
                    .map(opened -> ((SessionCookieCodec.Opened.Valid) opened).session());
        } catch (RuntimeException e) {
            LOG.debug("session cookie not opened error={}", e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    /**
     * The session cookie re-sealed as used {@code now}, for the response to an allowed request
     * whose session was last seen more than a quarter of its idle timeout ago: use slides the
     * idle expiry, never past the absolute one. Empty otherwise; never throws.
     */
    Optional<String> renewedCookie(Session session, Instant now) {
        if (Duration.between(session.lastSeenAt(), now).compareTo(session.idleTimeout().dividedBy(4)) < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(codec.setCookie(session.touch(now), now));
        } catch (RuntimeException e) {
            LOG.debug("session cookie not renewed error={}", e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    /** {@link #renewedCookie(Session, Instant)} for the session the request's cookie opens. */
    Optional<String> renewedCookie(Credentials credentials) {
        return cookieSession(credentials).flatMap(s -> renewedCookie(s, credentials.time()));
    }

    /** The id of the live gateway session the request's cookie opens, if it opens one. */
    Optional<String> sessionId(Credentials credentials) {
        return cookieSession(credentials).map(Session::id);
    }

    /** Sessions renewed at their providers with a refresh token, since start. */
    long sessionRefreshes() {
        return oidc == null ? 0 : oidc.refresher().refreshedCount();
    }

    /** Refreshes a provider did not answer (down, hanging, server errors), since start. */
    long sessionRefreshFailures() {
        return oidc == null ? 0 : oidc.refresher().failureCount();
    }

    /** Never-seen bearer tokens refused because the verification budget was spent, since start. */
    long tokenChecksRefused() {
        return bearer == null ? 0 : bearer.budgetRefusals();
    }

    /** The bearer issuers' key sets and the OpenID providers, for provider health metrics. */
    List<ProviderHealth> providerHealth() {
        List<ProviderHealth> health = new java.util.ArrayList<>();
        keySources.forEach(k -> health.add(new ProviderHealth("jwks", k.issuer(), k::usable,
                k::failureCount)));
        if (oidc != null) {
            health.addAll(oidc.health());
        }
        return health;
    }

    /**
     * Told the id of every gateway session that ends by logout, back-channel logout or a refused
     * refresh, with what ended it ({@code logout}, {@code refresh}); set once at start.
     */
    void onRevoked(BiConsumer<String, String> listener) {
        revoked = listener;
    }

    /** Whether browsers without a session can sign in on {@code host}: a login form or a provider. */
    boolean loginAvailable(String host) {
        return users != null || oidc != null && oidc.serves(host);
    }

    /** Where a browser is sent to sign in before it may see {@code returnTo}. */
    static String loginRedirect(String returnTo) {
        return LOGIN_PATH + "?return_to=" + java.net.URLEncoder.encode(returnTo, StandardCharsets.UTF_8);
    }

    /** The most form bytes a gateway endpoint reads. */
    int maxFormBytes() {
        return MAX_FORM_BYTES;
    }

    /**
     * Answers a request for one of the gateway's own endpoints. Completes on a pool thread or at
     * once; never throws.
     */
    CompletableFuture<EndpointResponse> handle(EndpointRequest req) {
        try {
            return switch (req.method() + " " + req.path()) {
                case "GET " + LOGIN_PATH -> signIn(req);
                case "POST " + LOGIN_PATH -> login(req);
                case "GET " + LOGOUT_PATH -> CompletableFuture.completedFuture(logoutForm(req));
                case "POST " + LOGOUT_PATH -> CompletableFuture.completedFuture(logout(req));
                case "GET " + GatewayOidc.CALLBACK_PATH -> oidc == null ? notFound() : oidc.callback(req);
                case "GET " + GatewayOidc.SIGNED_OUT_PATH -> oidc == null ? notFound()
                        : CompletableFuture.completedFuture(oidc.signedOut(req));
                default -> oidc != null && req.method().equals("POST")
                        && req.path().startsWith(GatewayOidc.BACK_CHANNEL_PREFIX)
                        ? oidc.backChannelLogout(req) : notFound();
            };
        } catch (RuntimeException e) {
            LOG.warn("gateway endpoint failed path={} error={}", req.path(), e.toString());
            return CompletableFuture.completedFuture(EndpointResponse.error(500, "identity_error",
                    "The gateway could not complete this step."));
        }
    }

    private static CompletableFuture<EndpointResponse> notFound() {
        return CompletableFuture.completedFuture(EndpointResponse.error(404, "not_found", "No such gateway endpoint."));
    }

    /** The sign-in page: the partners' providers when any serves this host, else the local form. */
    private CompletableFuture<EndpointResponse> signIn(EndpointRequest req) {
        if (oidc != null && oidc.serves(req.host()) && !"local".equals(req.query("method"))) {
            return oidc.login(req, users != null);
        }
        return CompletableFuture.completedFuture(loginForm(req, Optional.empty(), 200));
    }

    private EndpointResponse loginForm(EndpointRequest req, Optional<String> error, int status) {
        if (users == null) {
            return EndpointResponse.error(404, "login_unavailable", "This gateway has no login form.");
        }
        String returnTo = ReturnToValidator.validateOrRoot(req.query("return_to"), req.app());
        String csrf = token();
        Map<String, String> hidden = new LinkedHashMap<>();
        hidden.put("csrf", csrf);
        hidden.put("return_to", returnTo);
        String html = LoginFormRenderer.render(LOGIN_PATH, req.app().name(), hidden, "", error);
        return EndpointResponse.html(status, html)
                .withCookie(SessionCookieCodec.setCookie(CSRF_COOKIE, csrf, Duration.ofMinutes(10))
                        .replace("SameSite=Lax", "SameSite=Strict"));
    }

    private CompletableFuture<EndpointResponse> login(EndpointRequest req) {
        if (users == null) {
            return CompletableFuture.completedFuture(
                    EndpointResponse.error(404, "login_unavailable", "This gateway has no login form."));
        }
        Map<String, String> form = req.form();
        Optional<String> cookie = SessionCookieCodec.cookieValue(req.credentials(), CSRF_COOKIE);
        if (cookie.isEmpty() || !same(cookie.get(), form.getOrDefault("csrf", ""))) {
            // Login CSRF: the form must come from a page this browser got from the gateway.
            return CompletableFuture.completedFuture(
                    EndpointResponse.error(403, "csrf_failed", "The sign-in form expired; open it again."));
        }
        String name = form.getOrDefault("username", "");
        char[] password = form.getOrDefault("password", "").toCharArray();
        String returnTo = ReturnToValidator.validateOrRoot(form.get("return_to"), req.app());
        return CompletableFuture.supplyAsync(() -> users.authenticate(name, password, clock.instant()),
                        passwordChecks)
                .thenApply(result -> afterPassword(req, result, returnTo))
                .exceptionally(e -> EndpointResponse.error(500, "identity_error",
                        "The gateway could not complete this step."));
    }

    private EndpointResponse afterPassword(EndpointRequest req, AuthenticationResult result, String returnTo) {
        Instant now = clock.instant();
        if (!(result instanceof AuthenticationResult.Authenticated ok)) {
            String code = result instanceof AuthenticationResult.Rejected r ? r.reason().code() : "credentials_invalid";
            audit.emit(req.traced(events.loginFailed(req.requestId(), LocalUserDirectory.ISSUER,
                    AuthenticationMethod.LOCAL, req.credentials().source(), code)));
            EndpointRequest retry = req.withQuery("return_to", returnTo);
            return loginForm(retry, Optional.of("The user name or password is not right."), 401);
        }
        // A fresh session id at every login: a planted cookie is never promoted (fixation).
        Session session = Session.start(ok.subject(), req.app().name(), req.host(), now,
                settings.sessionIdleTimeout(), settings.sessionMaxLength(), "", random);
        sessions.register(session);
        audit.emit(req.traced(events.loginSucceeded(session.id(), req.requestId(), ok.subject(),
                req.credentials().source())));
        return EndpointResponse.redirect(returnTo)
                .withCookie(codec.setCookie(session, now))
                .withCookie(SessionCookieCodec.clearCookie(CSRF_COOKIE));
    }

    private EndpointResponse logoutForm(EndpointRequest req) {
        String html = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign out</title></head>"
                + "<body><form method=\"post\" action=\"" + LOGOUT_PATH + "\"><p>Sign out of "
                + LoginFormRenderer.escape(req.app().name()) + "?</p><input type=\"submit\" value=\"Sign out\">"
                + "</form></body></html>\n";
        return EndpointResponse.html(200, html);
    }

    private EndpointResponse logout(EndpointRequest req) {
        if (!sameOrigin(req)) {
            // Logout CSRF: only a form served by this host may end the session.
            return EndpointResponse.error(403, "csrf_failed", "Sign out from the application's own page.");
        }
        Optional<String> value = SessionCookieCodec.cookieValue(req.credentials(), SessionCookieCodec.COOKIE_NAME);
        String next = LOGIN_PATH;
        if (value.isPresent()
                && cookies.openSession(value.get(), req.credentials()) instanceof SessionCookieCodec.Opened.Valid v) {
            sessions.revoke(v.session().id(), clock.instant());
            audit.emit(req.traced(events.logout(v.session().id(), v.session().subject())));
            revoked.accept(v.session().id(), "logout");
            if (oidc != null) {
                // RP-initiated logout: the provider ends its own session too, else the next
                // sign-in would pass through it silently.
                next = oidc.logoutRedirect(v.session().id(), req.authority()).orElse(LOGIN_PATH);
            }
        }
        return EndpointResponse.redirect(next)
                .withCookie(SessionCookieCodec.clearCookie(SessionCookieCodec.COOKIE_NAME));
    }

    private static boolean sameOrigin(EndpointRequest req) {
        List<String> origin = req.credentials().header("origin");
        if (origin.size() == 1) {
            String o = origin.get(0);
            return o.equals("https://" + req.authority());
        }
        List<String> site = req.credentials().header("sec-fetch-site");
        return site.size() == 1 && site.get(0).equals("same-origin");
    }

    private String token() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    private static boolean same(String a, String b) {
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        if (oidc != null) {
            oidc.close();
        }
        keySources.forEach(JwksSource::close);
        keyFetches.shutdownNow();
        passwordChecks.shutdownNow();
        try {
            passwordChecks.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A request for a gateway endpoint, with its small form body already read.
     *
     * @param method upper case
     * @param path the normalised path
     * @param rawQuery the query, undecoded
     * @param body the form body, at most {@link #MAX_FORM_BYTES}
     * @param app the app whose host it came to
     * @param host the normalised host
     * @param authority host and port as the client named them
     * @param credentials what the request presented
     * @param requestId the gateway's request id
     */
    record EndpointRequest(String method, String path, String rawQuery, String body, App app, String host,
            String authority, Credentials credentials, String requestId, TraceContext trace) {

        /** {@code event} tied to this request's W3C trace, as the decisions of app requests are. */
        AuditEvent traced(AuditEvent event) {
            return AuditEvents.traced(event, trace.traceId(), trace.spanId());
        }

        String query(String name) {
            List<String> v = new QueryStringDecoder("?" + rawQuery).parameters().get(name);
            return v == null || v.isEmpty() ? "" : v.get(0);
        }

        Map<String, String> form() {
            Map<String, String> out = new LinkedHashMap<>();
            new QueryStringDecoder("?" + body, StandardCharsets.UTF_8).parameters()
                    .forEach((k, v) -> out.put(k, v.isEmpty() ? "" : v.get(0)));
            return out;
        }

        EndpointRequest withQuery(String name, String value) {
            String q = name + "=" + java.net.URLEncoder.encode(value, StandardCharsets.UTF_8);
            return new EndpointRequest(method, path, q, body, app, host, authority, credentials, requestId,
                    trace);
        }
    }

    /**
     * What a gateway endpoint answers.
     *
     * @param status the HTTP status
     * @param contentType the body's type
     * @param body the body
     * @param location a redirect target, or null
     * @param cookies Set-Cookie values
     * @param errorCode for error answers, the reason code; else null
     */
    record EndpointResponse(int status, String contentType, String body, String location, List<String> cookies,
            String errorCode) {

        static EndpointResponse html(int status, String html) {
            return new EndpointResponse(status, "text/html; charset=utf-8", html, null, List.of(), null);
        }

        static EndpointResponse redirect(String location) {
            return redirect(303, location);
        }

        static EndpointResponse redirect(int status, String location) {
            return new EndpointResponse(status, "text/plain; charset=utf-8", "", location, List.of(), null);
        }

        static EndpointResponse error(int status, String code, String message) {
            return new EndpointResponse(status, null, message, null, List.of(), code);
        }

        EndpointResponse withCookie(String setCookie) {
            List<String> c = new java.util.ArrayList<>(cookies);
            c.add(setCookie);
            return new EndpointResponse(status, contentType, body, location, c, errorCode);
        }
    }
}
