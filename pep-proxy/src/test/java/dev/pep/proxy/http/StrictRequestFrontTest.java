package dev.pep.proxy.http;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Raw bytes through the decoder and the canonicaliser, wired as the gateway wires them. */
class StrictRequestFrontTest {

    static Stream<Arguments> payloads() {
        return Stream.of(
                arguments("plain", "GET /a/./b HTTP/1.1\r\nHost: App.Example\r\n\r\n",
                        "ok app.example /a/b"),
                arguments("CL.TE", "POST / HTTP/1.1\r\nHost: a.example\r\nContent-Length: 6\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
                        "reject 400 content_length_with_transfer_encoding"),
                arguments("TE.TE obfuscated", "POST / HTTP/1.1\r\nHost: a.example\r\n"
                        + "Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n",
                        "reject 400 duplicate_transfer_encoding"),
                arguments("TE space before colon", "POST / HTTP/1.1\r\nHost: a.example\r\n"
                        + "Transfer-Encoding : chunked\r\n\r\n",
                        "reject 400 whitespace_before_colon"),
                arguments("TE folded", "POST / HTTP/1.1\r\nHost: a.example\r\n"
                        + "Transfer-Encoding:\r\n chunked\r\n\r\n", "reject 400 obs_fold"),
                arguments("TE xchunked", "POST / HTTP/1.1\r\nHost: a.example\r\n"
                        + "Transfer-Encoding: xchunked\r\n\r\n",
                        "reject 501 unsupported_transfer_encoding"),
                arguments("host in absolute form", "GET http://b.example/x HTTP/1.1\r\n"
                        + "Host: a.example\r\n\r\n", "reject 400 host_mismatch"),
                arguments("double host", "GET / HTTP/1.1\r\nHost: a.example\r\n"
                        + "Host: b.example\r\n\r\n", "reject 400 duplicate_host"),
                arguments("path traversal encoded", "GET /static/%2e%2e/%2e%2e/etc HTTP/1.1\r\n"
                        + "Host: a.example\r\n\r\n", "reject 400 path_above_root"),
                arguments("tomcat matrix", "GET /public/..;/admin HTTP/1.1\r\n"
                        + "Host: a.example\r\n\r\n", "reject 400 semicolon_in_path"),
                arguments("underscore identity", "GET / HTTP/1.1\r\nHost: a.example\r\n"
                        + "X_Pep_User: admin\r\n\r\n", "reject 400 header_name_underscore"),
                arguments("websocket", "GET /ws HTTP/1.1\r\nHost: a.example\r\n"
                        + "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                        + "Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n",
                        "ok a.example /ws websocket"),
                arguments("http/1.0 absolute", "GET http://a.example/x HTTP/1.0\r\n\r\n",
                        "ok a.example /x"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("payloads")
    void front_rawRequest_oneCanonicalOutcome(String name, String raw, String expected) {
        List<String> outcomes = new ArrayList<>();
        EmbeddedChannel channel = new EmbeddedChannel(new StrictHttpRequestDecoder(),
                new Canonicalize(outcomes));

        channel.writeInbound(Unpooled.copiedBuffer(raw, ISO_8859_1));
        channel.finishAndReleaseAll();

        assertThat(outcomes).containsExactly(expected);
    }

    /** The lead's handler in miniature: one decision per request head or rejection. */
    private static final class Canonicalize extends ChannelInboundHandlerAdapter {
        private final List<String> outcomes;

        Canonicalize(List<String> outcomes) {
            this.outcomes = outcomes;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest request) {
                    record(RequestCanonicalizer.canonicalize(request));
                } else if (msg instanceof HttpRejection rejection) {
                    record(rejection);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void record(CanonicalizationResult result) {
            String line = RequestCanonicalizerTest.describe(result);
            if (result instanceof CanonicalRequest c && c.webSocketUpgrade()) {
                line += " websocket";
            }
            outcomes.add(line);
        }
    }
}
