package dev.pep.proxy.http;

import static dev.pep.proxy.http.RequestCanonicalizerTest.headers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.HttpHeaders;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ForwardHeadersTest {

    @ParameterizedTest
    @ValueSource(strings = {"X-Forwarded-For", "x-forwarded-host", "X-FORWARDED-PROTO",
            "X.Forwarded.For", "x_forwarded_for", "X-Forwarded", "Forwarded", "X-Real-IP",
            "x.real.ip", "X-Client-IP", "X-Original-URL", "x-original-host", "X-Pep-User",
            "X.PEP.Groups", "x_pep_subject", "True-Client-IP", "X-Rewrite-URL"})
    void isIdentityHeader_anySpelling_true(String name) {
        assertThat(ForwardHeaders.isIdentityHeader(name)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"Accept", "X-Request-Id", "Authorization", "X-Pepper", "Host",
            "X-Originally"})
    void isIdentityHeader_otherFields_false(String name) {
        assertThat(ForwardHeaders.isIdentityHeader(name)).isFalse();
    }

    @Test
    void clean_dropsHopByHopAndIdentityKeepsOrderAndSpelling() {
        HttpHeaders sent = headers("Accept", "a", "Connection", "keep-alive", "Keep-Alive", "5",
                "TE", "trailers", "Trailer", "X-Sum", "Transfer-Encoding", "chunked",
                "Upgrade", "websocket", "Proxy-Authorization", "Basic x", "Proxy-Connection",
                "keep-alive", "Proxy-Authenticate", "Basic", "X-Forwarded-For", "6.6.6.6",
                "X.Pep.User", "root", "x-b", "b", "ACCEPT", "c");

        assertThat(names(ForwardHeaders.clean(sent))).containsExactly("Accept: a", "x-b: b",
                "ACCEPT: c");
    }

    @Test
    void clean_dropsFieldsNamedByConnection() {
        HttpHeaders sent = headers("Connection", "close, X-Internal", "connection", " x-other ,",
                "X-Internal", "1", "X-Other", "2", "Accept", "a");

        assertThat(names(ForwardHeaders.clean(sent))).containsExactly("Accept: a");
    }

    @Test
    void clean_connectionCannotRemoveHostOrContentLength() {
        HttpHeaders sent = headers("Connection", "Host, Content-Length, Authorization",
                "Host", "example.com", "Content-Length", "3", "Authorization", "Bearer t");

        assertThat(names(ForwardHeaders.clean(sent))).containsExactly("Host: example.com",
                "Content-Length: 3");
    }

    @Test
    void clean_connectionOptionNotAToken_rejected() {
        HttpHeaders sent = headers("Connection", "x-a y");

        assertThatThrownBy(() -> ForwardHeaders.clean(sent))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(
                        e.rejection().code()).isEqualTo("connection_header_invalid"));
    }

    @Test
    void applyForwarding_setsGatewayValuesReplacingLeftovers() {
        HttpHeaders forward = headers("X-Forwarded-For", "6.6.6.6", "forwarded", "for=x",
                "X-Pep-User", "set-by-gateway", "Accept", "a");

        ForwardHeaders.applyForwarding(forward, "192.0.2.7", "example.com:8443");

        assertThat(names(forward)).containsExactly("X-Pep-User: set-by-gateway", "Accept: a",
                "X-Forwarded-For: 192.0.2.7", "X-Forwarded-Proto: https",
                "X-Forwarded-Host: example.com:8443");
    }

    @Test
    void removeEverySpelling_dropsCaseAndSeparatorVariants_keepsOthers() {
        HttpHeaders forward = headers("X-User-Assertion", "a", "x_user_assertion", "b",
                "X.USER.ASSERTION", "c", "X-User-Assertions", "kept", "Accept", "a");

        ForwardHeaders.removeEverySpelling(forward, "X-User-Assertion");

        assertThat(names(forward)).containsExactly("X-User-Assertions: kept", "Accept: a");
    }

    @Test
    void isHopByHop_caseInsensitive() {
        assertThat(ForwardHeaders.isHopByHop("Transfer-ENCODING")).isTrue();
        assertThat(ForwardHeaders.isHopByHop("Content-Length")).isFalse();
    }

    private static List<String> names(HttpHeaders headers) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> field : headers) {
            out.add(field.getKey() + ": " + field.getValue());
        }
        return out;
    }
}
