package dev.pep.proxy.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.proxy.config.AppConfig;
import java.net.URI;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class RouterTest {

    private final Router router = new Router(List.of(
            route("portal", "portal.example.org"),
            route("tenants", "*.tenants.example.org"),
            route("special", "special.tenants.example.org")));

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "portal.example.org, portal",
            "a.tenants.example.org, tenants",
            "special.tenants.example.org, special",
            "tenants.example.org, -",
            "a.b.tenants.example.org, -",
            "example.org, -",
            "unknown.example, -",
            "portal.example.org.evil, -",
    })
    void route_byExactThenOneLabelWildcard_neverADefault(String host, String app) {
        Optional<Route> r = router.route(host);

        assertThat(r.map(Route::name).orElse("-")).isEqualTo(app);
    }

    @Test
    void construct_hostOfTwoApps_isRefused() {
        assertThatThrownBy(() -> new Router(List.of(route("a", "x.example"), route("b", "x.example"))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("x.example");
    }

    @Test
    void route_expiredApp_hasNoRouteFromTheInstantItExpires() {
        Instant expires = Instant.parse("2027-01-31T00:00:00Z");
        App app = new App("ex", List.of("ex.example"), AppProtocol.HTTP, URI.create("http://127.0.0.1:1"),
                Map.of(), true, Optional.of(expires));
        Route ex = new Route(app, route("ex", "ex.example").settings(), app.upstream());
        List<Route> routes = List.of(ex, route("portal", "portal.example.org"));

        Router before = new Router(routes, Clock.fixed(expires.minusMillis(1), ZoneOffset.UTC));
        Router at = new Router(routes, Clock.fixed(expires, ZoneOffset.UTC));

        assertThat(before.route("ex.example")).contains(ex);
        assertThat(at.route("ex.example")).isEmpty();
        assertThat(at.route("portal.example.org")).isPresent();
        assertThat(at.routes()).contains(ex);
    }

    static Route route(String name, String host) {
        AppConfig settings = new AppConfig(List.of(host), "http://127.0.0.1:1", AppConfig.Access.PUBLIC,
                null, null, null, null, null);
        App app = new App(name, List.of(host), AppProtocol.HTTP, URI.create("http://127.0.0.1:1"), Map.of(),
                false, Optional.empty());
        return new Route(app, settings, URI.create("http://127.0.0.1:1"));
    }
}
