package dev.pep.proxy.server;

import dev.pep.proxy.admin.AdminApi;
import dev.pep.proxy.admin.AdminRequest;
import dev.pep.proxy.admin.AdminResponse;
import dev.pep.proxy.config.Units;
import dev.pep.proxy.session.LiveSession;
import dev.pep.proxy.session.SessionEnding;
import dev.pep.proxy.session.SessionRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * The live sessions on the admin API: {@code GET /api/v1/sessions} lists them, {@code POST
 * /api/v1/sessions/end} ends those a filter names, at once. Filters are query parameters:
 * {@code id}, {@code subject}, {@code app}, {@code device}, {@code kind}, {@code min-age}
 * ({@code 30s}, {@code 5m}). Ending needs at least one of id, subject, app or device, so no
 * call ends every session by accident.
 */
final class SessionAdmin {

    static final String PATH = "/api/v1/sessions";
    private static final int MAX_LISTED = 1000;

    private final SessionRegistry sessions;
    private final Clock clock;

    private SessionAdmin(SessionRegistry sessions, Clock clock) {
        this.sessions = sessions;
        this.clock = clock;
    }

    /** Registers the endpoints on {@code api}. */
    static void register(AdminApi api, SessionRegistry sessions, Clock clock) {
        SessionAdmin admin = new SessionAdmin(sessions, clock);
        api.register("GET", PATH, r -> CompletableFuture.completedFuture(admin.list(r)));
        api.register("POST", PATH + "/end", r -> CompletableFuture.completedFuture(admin.end(r)));
    }

    private AdminResponse list(AdminRequest r) {
        Instant now = clock.instant();
        Optional<Predicate<LiveSession>> filter = filter(r, now);
        if (filter.isEmpty()) {
            return badAge(r);
        }
        List<LiveSession> found = sessions.find(filter.get());
        List<Map<String, Object>> shown = found.stream()
                .sorted(Comparator.comparing(LiveSession::started))
                .limit(MAX_LISTED).map(s -> s.describe(now)).toList();
        return AdminResponse.ok(Map.of("count", found.size(), "sessions", shown,
                "truncated", found.size() > MAX_LISTED));
    }

    private AdminResponse end(AdminRequest r) {
        if (r.param("id").isEmpty() && r.param("subject").isEmpty() && r.param("app").isEmpty()
                && r.param("device").isEmpty()) {
            return AdminResponse.error(400, "filter_required",
                    "Name the sessions to end with id, subject, app or device.");
        }
        Optional<Predicate<LiveSession>> filter = filter(r, clock.instant());
        if (filter.isEmpty()) {
            return badAge(r);
        }
        int ended = sessions.end(filter.get(), SessionEnding.of("admin_ended", "admin:" + r.operator()));
        return AdminResponse.ok(Map.of("ended", ended));
    }

    /** The filter the parameters describe; empty when min-age is not a duration. */
    private static Optional<Predicate<LiveSession>> filter(AdminRequest r, Instant now) {
        Predicate<LiveSession> p = s -> true;
        p = p.and(equal(r, "id", LiveSession::id)).and(equal(r, "subject", LiveSession::subject))
                .and(equal(r, "app", LiveSession::app)).and(equal(r, "device", LiveSession::device))
                .and(equal(r, "kind", s -> s.kind().name().toLowerCase(Locale.ROOT)));
        Optional<String> age = r.param("min-age");
        if (age.isPresent()) {
            Duration min;
            try {
                min = Units.duration(age.get());
            } catch (IllegalArgumentException e) {
                return Optional.empty();
            }
            p = p.and(s -> Duration.between(s.started(), now).compareTo(min) >= 0);
        }
        return Optional.of(p);
    }

    private static Predicate<LiveSession> equal(AdminRequest r, String name,
            java.util.function.Function<LiveSession, String> value) {
        Optional<String> wanted = r.param(name);
        return wanted.isEmpty() ? s -> true : s -> wanted.get().equals(value.apply(s));
    }

    private static AdminResponse badAge(AdminRequest r) {
        return AdminResponse.error(400, "bad_filter", "min-age: expected a duration such as 30s or 5m, got '"
                + r.param("min-age").orElse("") + "'");
    }
}
