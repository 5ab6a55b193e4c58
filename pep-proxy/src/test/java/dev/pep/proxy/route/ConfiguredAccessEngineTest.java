package dev.pep.proxy.route;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.Decision;
import dev.pep.core.DevicePosture;
import dev.pep.core.PolicyVersion;
import dev.pep.core.RequestAttributes;
import dev.pep.core.Source;
import dev.pep.core.Subject;
import dev.pep.proxy.config.AppConfig.Access;
import java.net.InetAddress;
import java.net.URI;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfiguredAccessEngineTest {

    private static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

    private final ConfiguredAccessEngine engine = new ConfiguredAccessEngine(
            Map.of("open", Access.PUBLIC, "shut", Access.DENY), new PolicyVersion("v1"));

    @ParameterizedTest(name = "{0} expires={1} -> {2} {3}")
    @CsvSource({
            "open, , ALLOW, app_public",
            "shut, , DENY, app_denied",
            "unlisted, , DENY, app_denied",
            "open, 2026-06-01T11:59:59Z, DENY, app_expired",
            "open, 2026-06-01T12:00:01Z, ALLOW, app_public",
    })
    void decide_byAccessModeAndExpiry(String app, String expires, String effect, String reason) throws Exception {
        Decision d = engine.decide(request(app, expires == null ? Optional.empty() : Optional.of(Instant.parse(expires))));

        assertThat(d.effect().name()).isEqualTo(effect);
        assertThat(d.primaryReason().code()).isEqualTo(reason);
        assertThat(d.version().id()).isEqualTo("v1");
    }

    private static AccessRequest request(String app, Optional<Instant> expires) throws Exception {
        App a = new App(app, List.of(app + ".example"), AppProtocol.HTTP, URI.create("pep:echo"), Map.of(),
                expires.isPresent(), expires);
        return new AccessRequest(Subject.anonymous(), DevicePosture.unknown(), a,
                new RequestAttributes("GET", app + ".example", "/", "", Map.of(), "HTTP/1.1"),
                new Source(InetAddress.getLoopbackAddress(), 5000, Set.of()), NOW, "req-1");
    }
}
