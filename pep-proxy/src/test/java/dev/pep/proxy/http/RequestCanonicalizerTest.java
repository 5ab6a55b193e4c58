package dev.pep.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.pep.core.RequestAttributes;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RequestCanonicalizerTest {

    /**
     * Each row: a request and what the canonical view must be. {@code ok host[:port] pathAndQuery}
     * for accepted requests, {@code reject status code} for rejected ones.
     */
    static Stream<Arguments> table() {
        return Stream.of(
                // Plain requests and path normalisation.
                row("root", get("/"), "ok example.com /"),
                row("query kept raw", get("/a?b=c&d=%2f"), "ok example.com /a?b=c&d=%2f"),
                row("empty query dropped", get("/a?"), "ok example.com /a"),
                row("repeated slashes collapse", get("//a///b"), "ok example.com /a/b"),
                row("dot segment removed", get("/a/./b"), "ok example.com /a/b"),
                row("dot-dot removed", get("/a/b/../c"), "ok example.com /a/c"),
                row("trailing dot-dot keeps slash", get("/a/b/.."), "ok example.com /a/"),
                row("trailing dot keeps slash", get("/a/."), "ok example.com /a/"),
                row("trailing slash kept", get("/a/b/"), "ok example.com /a/b/"),
                row("encoded dots are dot segments", get("/a/%2e%2E/b"), "ok example.com /b"),
                row("mixed encoded dot segment", get("/a/.%2e/b"), "ok example.com /b"),
                row("three dots is a name", get("/a/.../b"), "ok example.com /a/.../b"),
                row("unreserved escapes decoded", get("/%41%7e%2D%5f"), "ok example.com /A~-_"),
                row("reserved escapes upper-cased", get("/a%3fb%3a"), "ok example.com /a%3Fb%3A"),
                row("utf-8 escapes kept", get("/caf%c3%a9"), "ok example.com /caf%C3%A9"),
                row("lone encoded percent kept", get("/100%25"), "ok example.com /100%25"),
                row("unsafe raw chars encoded", get("/a|b{c}"), "ok example.com /a%7Cb%7Bc%7D"),
                row("sub-delims kept raw", get("/a!$&'()*+,=:@"), "ok example.com /a!$&'()*+,=:@"),
                // Path ambiguity.
                row("climb above root", get("/../x"), "reject 400 path_above_root"),
                row("climb above root later", get("/a/../../x"), "reject 400 path_above_root"),
                row("encoded climb", get("/%2e%2e/x"), "reject 400 path_above_root"),
                row("encoded slash", get("/a%2fb"), "reject 400 encoded_slash"),
                row("encoded slash upper", get("/a%2Fb"), "reject 400 encoded_slash"),
                row("encoded backslash", get("/a%5cb"), "reject 400 encoded_backslash"),
                row("encoded semicolon", get("/a%3Bb"), "reject 400 encoded_semicolon"),
                row("encoded hash", get("/a%23b"), "reject 400 encoded_hash"),
                row("encoded nul", get("/a%00b"), "reject 400 encoded_nul"),
                row("encoded newline", get("/a%0d%0ab"), "reject 400 encoded_control"),
                row("double encoded slash", get("/a%252fb"), "reject 400 double_encoding"),
                row("raw backslash", get("/a\\b"), "reject 400 backslash_in_path"),
                row("raw semicolon matrix", get("/a;jsessionid=1/b"), "reject 400 semicolon_in_path"),
                row("truncated escape", get("/a%2"), "reject 400 invalid_percent_encoding"),
                row("non-hex escape", get("/a%zzb"), "reject 400 invalid_percent_encoding"),
                row("bad escape in query", get("/a?x=%g1"), "reject 400 invalid_percent_encoding"),
                row("fragment", get("/a#b"), "reject 400 fragment_in_target"),
                row("raw non-ascii", get("/caf\u00e9"), "reject 400 target_non_ascii"),
                row("space in target", get("/a b"), "reject 400 target_invalid"),
                row("relative target", get("a/b"), "reject 400 target_invalid"),
                row("asterisk form", h1("OPTIONS", "*", "Host", "example.com"),
                        "reject 400 asterisk_form_not_supported"),
                row("authority form", h1("CONNECT", "example.com:443", "Host", "example.com"),
                        "reject 405 connect_not_supported"),
                // Absolute-form.
                row("absolute form normalised", h1("GET", "https://Example.COM/a/../b?q",
                        "Host", "example.com"), "ok example.com /b?q"),
                row("absolute form empty path", h1("GET", "http://example.com", "Host",
                        "example.com"), "ok example.com /"),
                row("absolute form default port", h1("GET", "https://example.com:443/",
                        "Host", "example.com"), "ok example.com:443 /"),
                row("absolute form host mismatch", h1("GET", "https://evil.example/",
                        "Host", "example.com"), "reject 400 host_mismatch"),
                row("absolute form port mismatch", h1("GET", "https://example.com:8443/",
                        "Host", "example.com"), "reject 400 host_mismatch"),
                row("absolute form bad scheme", h1("GET", "ftp://example.com/", "Host",
                        "example.com"), "reject 400 absolute_form_scheme_invalid"),
                row("absolute form userinfo", h1("GET", "https://u@example.com/", "Host",
                        "example.com"), "reject 400 host_userinfo"),
                row("absolute form http/1.0 without host", h10("GET", "http://example.com/a"),
                        "ok example.com /a"),
                row("absolute form http/1.1 without host", h1("GET", "http://example.com/a"),
                        "reject 400 missing_host"),
                // Host spellings.
                row("host upper case", h1("GET", "/", "Host", "ExAmPle.Com"), "ok example.com /"),
                row("host trailing dot", h1("GET", "/", "Host", "example.com."),
                        "ok example.com /"),
                row("host with port", h1("GET", "/", "Host", "example.com:8443"),
                        "ok example.com:8443 /"),
                row("missing host", h1("GET", "/"), "reject 400 missing_host"),
                row("missing host http/1.0", h10("GET", "/"), "reject 400 missing_host"),
                row("duplicate host", h1("GET", "/", "Host", "example.com", "Host",
                        "example.com"), "reject 400 duplicate_host"),
                row("host list", h1("GET", "/", "Host", "example.com, evil.example"),
                        "reject 400 duplicate_host"),
                row("host userinfo", h1("GET", "/", "Host", "user@example.com"),
                        "reject 400 host_userinfo"),
                row("host underscore", h1("GET", "/", "Host", "a_b.example"),
                        "reject 400 host_invalid"),
                row("host empty", h1("GET", "/", "Host", ""), "reject 400 host_invalid"),
                row("host empty label", h1("GET", "/", "Host", "a..example"),
                        "reject 400 host_invalid"),
                row("host two trailing dots", h1("GET", "/", "Host", "example.com.."),
                        "reject 400 host_invalid"),
                row("host hyphen edge", h1("GET", "/", "Host", "-a.example"),
                        "reject 400 host_invalid"),
                row("host non-ascii", h1("GET", "/", "Host", "b\u00fccher.example"),
                        "reject 400 host_non_ascii"),
                row("host percent-encoded", h1("GET", "/", "Host", "ex%61mple.com"),
                        "reject 400 host_invalid"),
                row("host port zero", h1("GET", "/", "Host", "example.com:0"),
                        "reject 400 host_invalid"),
                row("host port too big", h1("GET", "/", "Host", "example.com:65536"),
                        "reject 400 host_invalid"),
                row("host empty port", h1("GET", "/", "Host", "example.com:"),
                        "reject 400 host_invalid"),
                row("host signed port", h1("GET", "/", "Host", "example.com:+443"),
                        "reject 400 host_invalid"),
                row("ipv4", h1("GET", "/", "Host", "192.0.2.1:8080"), "ok 192.0.2.1:8080 /"),
                row("ipv4 octal", h1("GET", "/", "Host", "010.0.0.1"), "reject 400 host_invalid"),
                row("ipv4 integer", h1("GET", "/", "Host", "2130706433"),
                        "reject 400 host_invalid"),
                row("ipv4 hex", h1("GET", "/", "Host", "0x7f.0.0.1"), "reject 400 host_invalid"),
                row("ipv4 short", h1("GET", "/", "Host", "127.1"), "reject 400 host_invalid"),
                row("ipv4 octet too big", h1("GET", "/", "Host", "1.2.3.256"),
                        "reject 400 host_invalid"),
                row("ipv6 loopback", h1("GET", "/", "Host", "[::1]"), "ok [::1] /"),
                row("ipv6 normalised", h1("GET", "/", "Host", "[2001:DB8:0:0:0:0:0:1]:443"),
                        "ok [2001:db8::1]:443 /"),
                row("ipv6 leading zeros", h1("GET", "/", "Host", "[2001:0db8::0001]"),
                        "ok [2001:db8::1] /"),
                row("ipv6 embedded ipv4", h1("GET", "/", "Host", "[::ffff:192.0.2.1]"),
                        "ok [::ffff:c000:201] /"),
                row("ipv6 unbracketed", h1("GET", "/", "Host", "::1"), "reject 400 host_invalid"),
                row("ipv6 zone", h1("GET", "/", "Host", "[fe80::1%25eth0]"),
                        "reject 400 host_invalid"),
                row("ipv6 two gaps", h1("GET", "/", "Host", "[1::2::3]"),
                        "reject 400 host_invalid"),
                row("ipv6 unclosed", h1("GET", "/", "Host", "[::1"), "reject 400 host_invalid"),
                row("ipv6 future", h1("GET", "/", "Host", "[v1.x]"), "reject 400 host_invalid"),
                // Methods and header fields.
                row("lower case method", h1("get", "/", "Host", "example.com"),
                        "reject 400 method_not_uppercase"),
                row("underscore header", h1("GET", "/", "Host", "example.com", "X_User", "a"),
                        "reject 400 header_name_underscore"),
                row("duplicate authorization", h1("GET", "/", "Host", "example.com",
                        "Authorization", "Bearer a", "authorization", "Bearer b"),
                        "reject 400 duplicate_header"),
                row("method override", h1("POST", "/", "Host", "example.com",
                        "X-HTTP-Method-Override", "DELETE"), "reject 400 method_override_header"),
                row("header value newline", h1("GET", "/", "Host", "example.com", "X-A",
                        "a\r\nX-B: b"), "reject 400 header_value_invalid"),
                // Smuggling, re-checked for any decoder.
                row("cl and te", h1("POST", "/", "Host", "example.com", "Content-Length", "5",
                        "Transfer-Encoding", "chunked"),
                        "reject 400 content_length_with_transfer_encoding"),
                row("cl list", h1("POST", "/", "Host", "example.com", "Content-Length", "5, 5"),
                        "reject 400 duplicate_content_length"),
                row("cl signed", h1("POST", "/", "Host", "example.com", "Content-Length", "+5"),
                        "reject 400 content_length_invalid"),
                row("te not chunked", h1("POST", "/", "Host", "example.com",
                        "Transfer-Encoding", "gzip"), "reject 400 transfer_encoding_invalid"),
                row("upgrade without connection", h1("GET", "/", "Host", "example.com",
                        "Upgrade", "websocket"), "reject 400 upgrade_not_supported"),
                row("h2c upgrade", h1("GET", "/", "Host", "example.com", "Connection",
                        "Upgrade, HTTP2-Settings", "Upgrade", "h2c", "HTTP2-Settings", "AAA"),
                        "reject 400 upgrade_not_supported"),
                // HTTP/2.
                row("h2 plain", h2("GET", "https", "example.com", "/a//b"), "ok example.com /a/b"),
                row("h2 authority and host agree", h2("GET", "https", "Example.com:443", "/",
                        "host", "example.com"), "ok example.com:443 /"),
                row("h2 host only", h2("GET", "https", null, "/", "host", "example.com"),
                        "ok example.com /"),
                row("h2 authority host mismatch", h2("GET", "https", "example.com", "/",
                        "host", "evil.example"), "reject 400 authority_host_mismatch"),
                row("h2 no authority", h2("GET", "https", null, "/"), "reject 400 missing_host"),
                row("h2 absolute path", h2("GET", "https", "example.com",
                        "https://example.com/"), "reject 400 target_invalid"),
                row("h2 connection header", h2("GET", "https", "example.com", "/",
                        "connection", "close"), "reject 400 connection_header_in_http2"),
                row("h2 transfer-encoding", h2("POST", "https", "example.com", "/",
                        "transfer-encoding", "chunked"), "reject 400 connection_header_in_http2"),
                row("h2 te trailers", h2("GET", "https", "example.com", "/", "te", "trailers"),
                        "ok example.com /"),
                row("h2 te gzip", h2("GET", "https", "example.com", "/", "te", "gzip"),
                        "reject 400 connection_header_in_http2"),
                row("h2 keep-alive", h2("GET", "https", "example.com", "/", "keep-alive", "1"),
                        "reject 400 connection_header_in_http2"),
                row("h2 value leading space", h2("GET", "https", "example.com", "/", "x-a",
                        " a"), "reject 400 header_value_invalid"),
                row("h2 value nul", h2("GET", "https", "example.com", "/", "x-a", "a\0b"),
                        "reject 400 header_value_invalid"),
                row("h2 bad scheme", h2("GET", "ftp", "example.com", "/"),
                        "reject 400 scheme_invalid"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void canonicalize_table(String name, RequestHead head, String expected) {
        assertThat(describe(RequestCanonicalizer.canonicalize(head))).isEqualTo(expected);
    }

    @Test
    void canonicalize_http2Block_duplicatePseudoHeaderRejected() {
        Http2Headers block = new DefaultHttp2Headers(false).method("GET").scheme("https")
                .path("/").authority("example.com");
        block.add(":path", "/admin");

        assertThat(describe(RequestCanonicalizer.canonicalize(block)))
                .isEqualTo("reject 400 pseudo_header_duplicate");
    }

    @Test
    void canonicalize_http2Block_unknownPseudoHeaderRejected() {
        Http2Headers block = new DefaultHttp2Headers(false).method("GET").scheme("https")
                .path("/").authority("example.com");
        block.add(":protocol", "websocket");

        assertThat(describe(RequestCanonicalizer.canonicalize(block)))
                .isEqualTo("reject 400 pseudo_header_unknown");
    }

    @Test
    void canonicalize_http2Block_missingPathRejected() {
        Http2Headers block = new DefaultHttp2Headers(false).method("GET").scheme("https")
                .authority("example.com");

        assertThat(describe(RequestCanonicalizer.canonicalize(block)))
                .isEqualTo("reject 400 pseudo_header_missing");
    }

    @Test
    void canonicalize_http2Block_upperCaseNameRejected() {
        Http2Headers block = new DefaultHttp2Headers(false).method("GET").scheme("https")
                .path("/").authority("example.com");
        block.add("X-Upper", "a");

        assertThat(describe(RequestCanonicalizer.canonicalize(block)))
                .isEqualTo("reject 400 header_name_invalid");
    }

    @Test
    void canonicalize_http2Block_connectRejectedWith405() {
        Http2Headers block = new DefaultHttp2Headers(false).method("CONNECT")
                .authority("example.com:443");

        assertThat(describe(RequestCanonicalizer.canonicalize(block)))
                .isEqualTo("reject 405 connect_not_supported");
    }

    @Test
    void canonicalize_http2Block_accepted() {
        Http2Headers block = new DefaultHttp2Headers(false).method("POST").scheme("https")
                .path("/a/%2e/b?x=1").authority("example.com");
        block.add("content-length", "12");

        CanonicalRequest request = (CanonicalRequest) RequestCanonicalizer.canonicalize(block);

        assertThat(request.pathAndQuery()).isEqualTo("/a/b?x=1");
        assertThat(request.contentLength()).isEqualTo(12);
        assertThat(request.version()).isEqualTo(HttpVersionKind.HTTP_2);
    }

    @Test
    void canonicalize_nettyHttp1Request_usesVersionAndHeaders() {
        DefaultHttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1,
                HttpMethod.POST, "/upload");
        request.headers().add("Host", "example.com").add("Transfer-Encoding", "chunked");

        CanonicalRequest canonical = (CanonicalRequest) RequestCanonicalizer.canonicalize(request);

        assertThat(canonical.contentLength()).isEqualTo(-1);
        assertThat(canonical.headers().contains("Transfer-Encoding")).isFalse();
        assertThat(canonical.version()).isEqualTo(HttpVersionKind.HTTP_1_1);
    }

    @Test
    void canonicalize_webSocketHandshake_flaggedAndUpgradeForwarded() {
        RequestHead head = h1("GET", "/chat", "Host", "example.com", "Connection",
                "keep-alive, Upgrade", "Upgrade", "WebSocket", "Sec-WebSocket-Key",
                "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13");

        CanonicalRequest request = (CanonicalRequest) RequestCanonicalizer.canonicalize(head);

        assertThat(request.webSocketUpgrade()).isTrue();
        HttpHeaders forward = request.headers();
        assertThat(forward.get("Connection")).isEqualTo("upgrade");
        assertThat(forward.get("Upgrade")).isEqualTo("websocket");
        assertThat(forward.get("Sec-WebSocket-Key")).isEqualTo("dGhlIHNhbXBsZSBub25jZQ==");
    }

    @Test
    void canonicalize_webSocketOverHttp10_rejected() {
        RequestHead head = h10("GET", "/chat", "Host", "example.com", "Connection", "Upgrade",
                "Upgrade", "websocket", "Sec-WebSocket-Key", "k", "Sec-WebSocket-Version", "13");

        assertThat(describe(RequestCanonicalizer.canonicalize(head)))
                .isEqualTo("reject 400 upgrade_not_supported");
    }

    @Test
    void canonicalize_forwardHeaders_cleanedAndHostCanonical() {
        RequestHead head = h1("GET", "https://EXAMPLE.com/x", "Host", "example.com.",
                "X-Forwarded-For", "10.0.0.1", "X.Pep.User", "admin", "Connection", "X-Secret",
                "X-Secret", "s", "Accept", "text/html", "Keep-Alive", "timeout=5");

        CanonicalRequest request = (CanonicalRequest) RequestCanonicalizer.canonicalize(head);

        HttpHeaders forward = request.headers();
        assertThat(forward.names()).containsExactlyInAnyOrder("Accept", "host");
        assertThat(forward.get("Host")).isEqualTo("example.com");
    }

    @Test
    void canonicalize_contentLength_fromFraming() {
        RequestHead post = h1("POST", "/", "Host", "example.com", "Content-Length", "0042");
        RequestHead plain = h1("GET", "/", "Host", "example.com");

        assertThat(((CanonicalRequest) RequestCanonicalizer.canonicalize(post)).contentLength())
                .isEqualTo(42);
        assertThat(((CanonicalRequest) RequestCanonicalizer.canonicalize(plain)).contentLength())
                .isZero();
    }

    @Test
    void toAttributes_usesCanonicalViewWithoutCredentials() {
        RequestHead head = h1("GET", "/a/../b?q=1", "Host", "Example.com", "Authorization",
                "Bearer secret-token", "Cookie", "pep_session=secret", "Accept", "a",
                "accept", "b", "X-Forwarded-For", "1.2.3.4");

        CanonicalRequest request = (CanonicalRequest) RequestCanonicalizer.canonicalize(head);
        RequestAttributes attributes = request.toAttributes("HTTP/1.1");

        assertThat(attributes.method()).isEqualTo("GET");
        assertThat(attributes.host()).isEqualTo("example.com");
        assertThat(attributes.path()).isEqualTo("/b");
        assertThat(attributes.query()).isEqualTo("q=1");
        assertThat(attributes.headers()).containsOnly(
                org.assertj.core.api.Assertions.entry("accept", "a, b"),
                org.assertj.core.api.Assertions.entry("host", "example.com"));
        assertThat(attributes.protocol()).isEqualTo("HTTP/1.1");
        assertThat(request.toAttributes().protocol()).isEqualTo("HTTP/1.1");
    }

    @Test
    void headers_accessorReturnsCopy() {
        CanonicalRequest request = (CanonicalRequest) RequestCanonicalizer.canonicalize(
                get("/"));

        request.headers().add("X-Mutated", "1");

        assertThat(request.headers().contains("X-Mutated")).isFalse();
    }

    static String describe(CanonicalizationResult result) {
        if (result instanceof HttpRejection r) {
            return "reject " + r.status() + " " + r.code();
        }
        CanonicalRequest c = (CanonicalRequest) result;
        return "ok " + c.authority() + " " + c.pathAndQuery();
    }

    private static Arguments row(String name, RequestHead head, String expected) {
        return arguments(name, head, expected);
    }

    private static RequestHead get(String target) {
        return h1("GET", target, "Host", "example.com");
    }

    static RequestHead h1(String method, String target, String... fields) {
        return new RequestHead(method, target, headers(fields), null, null,
                HttpVersionKind.HTTP_1_1);
    }

    static RequestHead h10(String method, String target, String... fields) {
        return new RequestHead(method, target, headers(fields), null, null,
                HttpVersionKind.HTTP_1_0);
    }

    private static RequestHead h2(String method, String scheme, String authority, String path,
            String... fields) {
        return new RequestHead(method, path, headers(fields), authority, scheme,
                HttpVersionKind.HTTP_2);
    }

    static HttpHeaders headers(String... fields) {
        HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().withValidation(false)
                .newHeaders();
        for (int i = 0; i < fields.length; i += 2) {
            headers.add(fields[i], fields[i + 1]);
        }
        return headers;
    }
}
