package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class UserAgentsTest {

    static final String WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
            + "(KHTML, like Gecko) ";

    static Stream<Arguments> agents() {
        return Stream.of(
                Arguments.of(WINDOWS + "Chrome/131.0.0.0 Safari/537.36", "chrome", 131, false),
                Arguments.of(WINDOWS + "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
                        "edge", 131, false),
                Arguments.of("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                        "firefox", 133, false),
                Arguments.of("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                        + "(KHTML, like Gecko) Version/18.2 Safari/605.1.15", "safari", 18, false),
                Arguments.of("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                        + "HeadlessChrome/120.0.6099.224 Safari/537.36", "chrome", 120, true),
                Arguments.of(WINDOWS + "Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0", "opera", 115,
                        false),
                Arguments.of("curl/7.88.1", "curl", 7, false),
                Arguments.of("Java-http-client/17.0.15", "java", 17, false));
    }

    @ParameterizedTest
    @MethodSource("agents")
    void parse_knownAgents_familyAndMajorVersion(String agent, String family, long version,
            boolean headless) {
        UserAgents.Browser b = UserAgents.parse(agent).orElseThrow();

        assertThat(b.family()).isEqualTo(family);
        assertThat(b.majorVersion()).isEqualTo(version);
        assertThat(b.headless()).isEqualTo(headless);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Mozilla/5.0", "python-requests/2.31", "Chrome/abc"})
    void parse_unknownAgents_empty(String agent) {
        assertThat(UserAgents.parse(agent)).isEmpty();
    }
}
