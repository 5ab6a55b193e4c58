package dev.pep.identity.oidc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ReturnToValidatorTest {

    static final App APP = new App("logistics", List.of("logistics.partners.example",
            "log.partners.example"), AppProtocol.HTTP, URI.create("https://10.1.2.3:8443"),
            Map.of(), false, Optional.empty());

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
        "/|/",
        "/orders|/orders",
        "/orders?id=7&x=%2F|/orders?id=7&x=%2F",
        "/a/b;c=d|/a/b;c=d",
        "https://logistics.partners.example/orders?id=7|/orders?id=7",
        "https://LOG.partners.example|/",
        "https://logistics.partners.example:443/x|/x",
    })
    void validate_sameOrigin_accepted(String input, String expected) {
        assertThat(ReturnToValidator.validate(input, APP)).contains(expected);
    }

    @ParameterizedTest(name = "refused: {0}")
    @ValueSource(strings = {
        "//evil.example",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "https:evil.example",
        "https:/evil.example",
        "http://logistics.partners.example/",
        "https://evil.example/",
        "https://logistics.partners.example.evil.example/",
        "https://logistics.partners.example@evil.example/",
        "https://evil.example@logistics.partners.example/",
        "https://user:pw@logistics.partners.example/",
        "https://logistics.partners.example:8443/",
        "javascript:alert(1)",
        "data:text/html,hi",
        "evil.example",
        "/%2F%2Fevil.example",
        "/%2fevil.example",
        "/%5Cevil.example",
        "/%252F%252Fevil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        "/ /evil.example",
        "/\r\nLocation: https://evil.example",
        "https://evil.example\\@logistics.partners.example/",
        "https://logistics.partners.example%2F@evil.example/",
        "",
    })
    void validate_openRedirectSpellings_refused(String input) {
        assertThat(ReturnToValidator.validate(input, APP)).isEmpty();
        assertThat(ReturnToValidator.validateOrRoot(input, APP)).isEqualTo("/");
    }
}
