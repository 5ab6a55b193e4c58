package dev.pep.proxy.http;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.ResourceLeakDetector;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StrictHttpRequestDecoderTest {

    private static final Http1Limits SMALL = new Http1Limits(64, 128, 4, 4);

    private static final String CHUNKED = "POST /upload HTTP/1.1\r\nHost: example.com\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\n"
            + "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
            + "0\r\nX-Checksum: abc\r\nX-Other:\tv \r\n\r\n";

    private static final String CHUNKED_TRANSCRIPT = "REQ POST /upload HTTP/1.1"
            + " |Host: example.com|Transfer-Encoding: chunked\n"
            + "LAST helloabcdefghijklmnopqrstuvwxyz |X-Checksum: abc|X-Other: v";

    /** Counts every byte the channel allocates, so a leaked buffer fails the test. */
    private final UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
    private final List<EmbeddedChannel> channels = new ArrayList<>();

    @BeforeAll
    static void paranoid() {
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    }

    @AfterEach
    void noBufferLeaked() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
        assertThat(alloc.metric().usedHeapMemory()).as("bytes still allocated").isZero();
    }

    static Stream<Arguments> rejections() {
        String host = "Host: example.com\r\n";
        return Stream.of(
                rejected("bare lf in request line", "GET / HTTP/1.1\n" + host + "\r\n",
                        400, "bare_lf"),
                rejected("bare lf after header", "GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare_lf"),
                rejected("bare lf ends head", "GET / HTTP/1.1\r\n" + host + "\n", 400, "bare_lf"),
                rejected("bare cr", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "bare_cr"),
                rejected("bare lf in empty line", "\nGET / HTTP/1.1\r\n" + host + "\r\n",
                        400, "bare_lf"),
                rejected("nul in value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 400,
                        "nul_in_head"),
                rejected("nul in target", "GET /\0 HTTP/1.1\r\n\r\n", 400, "nul_in_head"),
                rejected("control in value", "GET / HTTP/1.1\r\nX: a\u0001\r\n\r\n", 400,
                        "control_character"),
                rejected("del in value", "GET / HTTP/1.1\r\nX: a\u007f\r\n\r\n", 400,
                        "control_character"),
                rejected("tab in request line", "GET\t/ HTTP/1.1\r\n\r\n", 400,
                        "control_character"),
                rejected("obs-fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400, "obs_fold"),
                rejected("obs-fold tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400,
                        "obs_fold"),
                rejected("first header indented", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400,
                        "obs_fold"),
                rejected("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400,
                        "whitespace_before_colon"),
                rejected("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400,
                        "whitespace_before_colon"),
                rejected("name not a token", "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400,
                        "header_name_invalid"),
                rejected("empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", 400,
                        "header_name_invalid"),
                rejected("non-ascii name", "GET / HTTP/1.1\r\nH\u00e9: a\r\n\r\n", 400,
                        "header_name_invalid"),
                rejected("no colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400,
                        "header_line_invalid"),
                rejected("double space", "GET  / HTTP/1.1\r\n\r\n", 400,
                        "request_line_invalid"),
                rejected("no version", "GET /\r\n\r\n", 400, "request_line_invalid"),
                rejected("trailing space", "GET / HTTP/1.1 \r\n\r\n", 400,
                        "request_line_invalid"),
                rejected("leading space", " GET / HTTP/1.1\r\n\r\n", 400,
                        "request_line_invalid"),
                rejected("lower case version", "GET / http/1.1\r\n\r\n", 400,
                        "request_line_invalid"),
                rejected("http/2.0", "GET / HTTP/2.0\r\n\r\n", 505, "version_not_supported"),
                rejected("http/1.2", "GET / HTTP/1.2\r\n\r\n", 505, "version_not_supported"),
                rejected("method not token", "G(ET / HTTP/1.1\r\n\r\n", 400, "method_invalid"),
                rejected("non-ascii target", "GET /\u00e9 HTTP/1.1\r\n\r\n", 400,
                        "target_invalid"),
                rejected("te gzip", post("Transfer-Encoding: gzip"), 501,
                        "unsupported_transfer_encoding"),
                rejected("te list", post("Transfer-Encoding: gzip, chunked"), 501,
                        "unsupported_transfer_encoding"),
                rejected("te chunked twice", post("Transfer-Encoding: chunked, chunked"), 501,
                        "unsupported_transfer_encoding"),
                rejected("te with parameter", post("Transfer-Encoding: chunked;q=1"), 400,
                        "transfer_encoding_invalid"),
                rejected("te empty", post("Transfer-Encoding: "), 400,
                        "transfer_encoding_invalid"),
                rejected("te two lines", post("Transfer-Encoding: chunked\r\n"
                        + "Transfer-Encoding: chunked"), 400, "duplicate_transfer_encoding"),
                rejected("te in http/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked"
                        + "\r\n\r\n", 400, "transfer_encoding_in_http10"),
                rejected("cl and te", post("Content-Length: 3\r\nTransfer-Encoding: chunked"),
                        400, "content_length_with_transfer_encoding"),
                rejected("te and cl", post("Transfer-Encoding: chunked\r\nContent-Length: 3"),
                        400, "content_length_with_transfer_encoding"),
                rejected("cl twice equal", post("Content-Length: 3\r\nContent-Length: 3"), 400,
                        "duplicate_content_length"),
                rejected("cl twice other case", post("Content-Length: 3\r\ncontent-length: 4"),
                        400, "duplicate_content_length"),
                rejected("trailer underscore", chunked("0\r\nTransfer_Encoding: x\r\n\r\n"),
                        400, "header_name_underscore"),
                rejected("cl list", post("Content-Length: 3, 3"), 400,
                        "duplicate_content_length"),
                rejected("cl signed", post("Content-Length: +3"), 400, "content_length_invalid"),
                rejected("cl negative", post("Content-Length: -1"), 400,
                        "content_length_invalid"),
                rejected("cl hex", post("Content-Length: 0x3"), 400, "content_length_invalid"),
                rejected("cl inner space", post("Content-Length: 3 3"), 400,
                        "content_length_invalid"),
                rejected("cl empty", post("Content-Length: "), 400, "content_length_invalid"),
                rejected("cl overflow", post("Content-Length: 9999999999999999999"), 400,
                        "content_length_invalid"),
                rejected("chunk size signed", chunked("+5\r\nhello\r\n0\r\n\r\n"), 400,
                        "chunk_size_invalid"),
                rejected("chunk size leading space", chunked(" 5\r\nhello\r\n0\r\n\r\n"), 400,
                        "chunk_size_invalid"),
                rejected("chunk size trailing space", chunked("5 \r\nhello\r\n0\r\n\r\n"), 400,
                        "chunk_size_invalid"),
                rejected("chunk size 0x", chunked("0x5\r\nhello\r\n0\r\n\r\n"), 400,
                        "chunk_size_invalid"),
                rejected("chunk size empty", chunked("\r\nhello\r\n0\r\n\r\n"), 400,
                        "chunk_size_invalid"),
                rejected("chunk size too many digits", chunked("0000000000000005\r\nhello\r\n"),
                        400, "chunk_size_invalid"),
                rejected("chunk size bare lf", chunked("5\nhello\r\n0\r\n\r\n"), 400, "bare_lf"),
                rejected("chunk extension control", chunked("5;a=\u0001\r\nhello\r\n"), 400,
                        "chunk_extension_invalid"),
                rejected("chunk extension too long", chunked("5;" + "a".repeat(1100) + "\r\n"),
                        400, "chunk_line_too_long"),
                rejected("chunk data overrun", chunked("5\r\nhelloXY\r\n0\r\n\r\n"), 400,
                        "chunk_data_unterminated"),
                rejected("chunk data bare lf", chunked("5\r\nhello\n0\r\n\r\n"), 400,
                        "chunk_data_unterminated"),
                rejected("chunk data cr then x", chunked("5\r\nhello\rX0\r\n\r\n"), 400,
                        "chunk_data_unterminated"),
                rejected("trailer obs-fold", chunked("0\r\nX: a\r\n b\r\n\r\n"), 400,
                        "obs_fold"),
                rejected("trailer content-length", chunked("0\r\nContent-Length: 5\r\n\r\n"),
                        400, "trailer_field_forbidden"),
                rejected("trailer forwarded-for", chunked("0\r\nX-Forwarded-For: 1\r\n\r\n"),
                        400, "trailer_field_forbidden"),
                rejected("trailer host", chunked("0\r\nhost: evil\r\n\r\n"), 400,
                        "trailer_field_forbidden"),
                rejected("too many empty lines", "\r\n".repeat(9) + "GET / HTTP/1.1\r\n\r\n",
                        400, "too_many_empty_lines"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rejections")
    void decode_violation_emitsOneRejectionAndDiscardsTheRest(String name, String input,
            int status, String code) {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, input + "GET / HTTP/1.1\r\nHost: a\r\n\r\n");

        String transcript = transcript(channel);
        assertThat(transcript).endsWith("REJECT " + status + " " + code);
        assertThat(transcript).containsOnlyOnce("REJECT");
        assertThat(transcript.split("\n").length).isLessThanOrEqualTo(2);
    }

    @Test
    void decode_violationsSplitAtEveryByte_sameRejection() {
        for (Arguments row : rejections().toList()) {
            Object[] args = row.get();
            String input = (String) args[1];
            EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);
            for (int i = 0; i < input.length(); i++) {
                write(channel, input.substring(i, i + 1));
            }
            assertThat(transcript(channel)).as((String) args[0])
                    .endsWith("REJECT " + args[2] + " " + args[3]);
        }
    }

    @Test
    void decode_simpleGet_emitsRequestThenEmptyLast() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, "GET /a?b HTTP/1.1\r\nHost: example.com\r\nX-Tab: a\tb\r\n\r\n");

        HttpRequest request = channel.readInbound();
        assertThat(request.uri()).isEqualTo("/a?b");
        assertThat(request.headers().get("x-tab")).isEqualTo("a\tb");
        assertThat((Object) channel.readInbound()).isSameAs(LastHttpContent.EMPTY_LAST_CONTENT);
        assertThat((Object) channel.readInbound()).isNull();
    }

    @Test
    void decode_headers_keepArrivalOrderAndSpelling() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, "GET / HTTP/1.1\r\nx-b: 1\r\nHost: h\r\nX-A:2\r\nx-b:  3  \r\n\r\n");

        assertThat(transcript(channel)).isEqualTo(
                "REQ GET / HTTP/1.1 |x-b: 1|Host: h|X-A: 2|x-b: 3\nLAST ");
    }

    @Test
    void decode_obsTextInValue_accepted() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, "GET / HTTP/1.1\r\nX-Name: caf\u00e9\r\n\r\n");

        assertThat(transcript(channel)).isEqualTo("REQ GET / HTTP/1.1 |X-Name: caf\u00e9\nLAST ");
    }

    @Test
    void decode_http10_accepted() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, "GET / HTTP/1.0\r\n\r\n");

        assertThat(transcript(channel)).isEqualTo("REQ GET / HTTP/1.0 \nLAST ");
    }

    @Test
    void decode_leadingEmptyLines_skipped() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, "\r\n\r\nGET / HTTP/1.1\r\n\r\n");

        assertThat(transcript(channel)).isEqualTo("REQ GET / HTTP/1.1 \nLAST ");
    }

    @Test
    void decode_chunkedWithTrailers_bodyAndTrailersInOrder() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, CHUNKED);

        assertThat(transcript(channel)).isEqualTo(CHUNKED_TRANSCRIPT);
    }

    @Test
    void decode_chunkedSplitAtEveryByteBoundary_sameTranscript() {
        for (int i = 0; i <= CHUNKED.length(); i++) {
            EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

            write(channel, CHUNKED.substring(0, i));
            write(channel, CHUNKED.substring(i));

            assertThat(transcript(channel)).as("split at %d", i).isEqualTo(CHUNKED_TRANSCRIPT);
        }
    }

    @Test
    void decode_pipelinedRequestsOneByteAtATime_allDecoded() {
        String input = "POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
                + "GET /b HTTP/1.1\r\n\r\n" + CHUNKED + "GET /c HTTP/1.0\r\n\r\n";
        String expected = "REQ POST /a HTTP/1.1 |Content-Length: 5\nLAST hello\n"
                + "REQ GET /b HTTP/1.1 \nLAST \n" + CHUNKED_TRANSCRIPT + "\n"
                + "REQ GET /c HTTP/1.0 \nLAST ";
        EmbeddedChannel whole = channel(Http1Limits.DEFAULTS);
        EmbeddedChannel bytewise = channel(Http1Limits.DEFAULTS);

        write(whole, input);
        for (int i = 0; i < input.length(); i++) {
            write(bytewise, input.substring(i, i + 1));
        }

        assertThat(transcript(whole)).isEqualTo(expected);
        assertThat(transcript(bytewise)).isEqualTo(expected);
    }

    @Test
    void decode_fixedBody_streamedInSlicesNoLargerThanMaxChunkSize() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabcdef");
        List<Integer> sizes = new ArrayList<>(drainContentSizes(channel));
        write(channel, "ghij");
        sizes.addAll(drainContentSizes(channel));

        assertThat(sizes).containsExactly(4, 2, 4);
    }

    @Test
    void decode_chunk_largerThanMaxChunkSize_sliced() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "a\r\n0123456789\r\n0\r\n\r\n");

        assertThat(drainContentSizes(channel)).containsExactly(4, 4, 2, 0);
    }

    @Test
    void decode_requestLineTooLong_414() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "GET /" + "a".repeat(60) + " HTTP/1.1\r\n\r\n");

        assertThat(transcript(channel)).isEqualTo("REJECT 414 request_line_too_long");
    }

    @Test
    void decode_requestLineTooLongWithoutEnd_rejectedBeforeLineCompletes() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "GET /" + "a".repeat(100));

        assertThat(transcript(channel)).isEqualTo("REJECT 414 request_line_too_long");
    }

    @Test
    void decode_requestLineAtLimit_accepted() {
        EmbeddedChannel channel = channel(SMALL);
        String line = "GET /" + "a".repeat(64 - 14) + " HTTP/1.1";

        write(channel, line + "\r\n\r\n");

        assertThat(line).hasSize(64);
        assertThat(transcript(channel)).startsWith("REQ GET /a");
    }

    @Test
    void decode_headerSectionTooLarge_431() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "GET / HTTP/1.1\r\nX-A: " + "a".repeat(130) + "\r\n\r\n");

        assertThat(transcript(channel)).isEqualTo("REJECT 431 header_section_too_large");
    }

    @Test
    void decode_headerSectionAtLimit_accepted() {
        EmbeddedChannel channel = channel(SMALL);
        String field = "X-A: " + "a".repeat(128 - 7);

        write(channel, "GET / HTTP/1.1\r\n" + field + "\r\n\r\n");

        assertThat(transcript(channel)).startsWith("REQ GET / HTTP/1.1 |X-A: aaa");
    }

    @Test
    void decode_tooManyHeaders_431() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "GET / HTTP/1.1\r\n" + "A: 1\r\n".repeat(5) + "\r\n");

        assertThat(transcript(channel)).isEqualTo("REJECT 431 too_many_headers");
    }

    @Test
    void decode_tooManyTrailers_431() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                + "A: 1\r\n".repeat(5) + "\r\n");

        assertThat(transcript(channel)).endsWith("REJECT 431 too_many_trailers");
    }

    @Test
    void decode_trailerSectionTooLarge_431() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"
                + "A: " + "a".repeat(200) + "\r\n\r\n");

        assertThat(transcript(channel)).endsWith("REJECT 431 trailer_section_too_large");
    }

    @Test
    void decode_upgradeRequest_pausesAndHandsBytesOnWhenRemoved() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);
        StrictHttpRequestDecoder decoder = channel.pipeline().get(StrictHttpRequestDecoder.class);

        write(channel, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                + "Upgrade: websocket\r\n\r\n\u0081\u0002hiGET / HTTP/1.1\r\n\r\n");
        String before = transcript(channel);
        channel.pipeline().remove(decoder);
        ByteBuf passedOn = channel.readInbound();

        assertThat(before).isEqualTo("REQ GET /ws HTTP/1.1 |Host: a|Connection: Upgrade"
                + "|Upgrade: websocket\nLAST ");
        try {
            assertThat(passedOn.toString(ISO_8859_1))
                    .isEqualTo("\u0081\u0002hiGET / HTTP/1.1\r\n\r\n");
        } finally {
            passedOn.release();
        }
    }

    @Test
    void decode_upgradeRefused_resumesWithBufferedRequest() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);
        StrictHttpRequestDecoder decoder = channel.pipeline().get(StrictHttpRequestDecoder.class);

        write(channel, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n");
        String before = transcript(channel);
        decoder.resumeAfterRefusedUpgrade();
        write(channel, "\r\n");

        assertThat(before).isEqualTo("REQ GET /ws HTTP/1.1 |Upgrade: websocket\nLAST ");
        assertThat(transcript(channel)).isEqualTo("REQ GET /next HTTP/1.1 \nLAST ");
    }

    @Test
    void decode_upgradeRefusedFromInsideChannelRead_bufferedRequestDecodedAfterwards() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);
        channel.pipeline().addLast(new ResumeOnLast());

        write(channel, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
        channel.runPendingTasks();

        assertThat(transcript(channel)).isEqualTo("REQ GET /ws HTTP/1.1 |Upgrade: websocket\n"
                + "LAST \nREQ GET /next HTTP/1.1 \nLAST ");
    }

    @Test
    void decode_upgradePending_nextRequestNotDecodedUntilResumed() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
        channel.runPendingTasks();

        assertThat(transcript(channel)).isEqualTo("REQ GET /ws HTTP/1.1 |Upgrade: websocket\n"
                + "LAST ");
    }

    @Test
    void decode_upgradePendingFlooded_rejected() {
        EmbeddedChannel channel = channel(SMALL);

        write(channel, "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n");
        write(channel, "x".repeat(129));

        assertThat(transcript(channel)).endsWith("LAST \nREJECT 400 data_before_upgrade_response");
    }

    @Test
    void decode_removedByNextHandlerAfterRequest_remainingBytesPassedOn() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);
        channel.pipeline().addLast(new RemoveDecoderOnLast());

        write(channel, "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nokRAW BYTES");

        assertThat(transcript(channel)).isEqualTo(
                "REQ POST / HTTP/1.1 |Content-Length: 2\nLAST ok\nRAW RAW BYTES");
        assertThat(channel.pipeline().get(StrictHttpRequestDecoder.class)).isNull();
    }

    @Test
    void decode_removedInTheMiddleOfABody_unreadBodyPassedOn() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);
        StrictHttpRequestDecoder decoder = channel.pipeline().get(StrictHttpRequestDecoder.class);

        write(channel, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n");
        String head = transcript(channel);
        channel.pipeline().remove(decoder);
        write(channel, "0123456789");

        assertThat(head).isEqualTo("REQ POST / HTTP/1.1 |Content-Length: 10");
        assertThat(transcript(channel)).isEqualTo("RAW 0123456789");
    }

    @Test
    void decode_afterRejection_laterInputIgnored() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, "GET / HTTP/1.1\r\nX : a\r\n");
        write(channel, "\r\nGET / HTTP/1.1\r\n\r\n");

        assertThat(transcript(channel)).isEqualTo("REJECT 400 whitespace_before_colon");
    }

    @Test
    void decode_incompleteRequestAtClose_nothingEmittedNothingLeaked() {
        EmbeddedChannel channel = channel(Http1Limits.DEFAULTS);

        write(channel, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
        channel.close();

        assertThat(transcript(channel)).isEqualTo("REQ POST / HTTP/1.1 |Content-Length: 10");
    }

    @Test
    void limits_nonPositive_refused() {
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
                .isThrownBy(() -> new Http1Limits(0, 1, 1, 1))
                .withMessageContaining("maxRequestLineLength");
    }

    private EmbeddedChannel channel(Http1Limits limits) {
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new StrictHttpRequestDecoder(limits));
        channels.add(channel);
        return channel;
    }

    private void write(EmbeddedChannel channel, String text) {
        ByteBuf buf = alloc.heapBuffer(Math.max(1, text.length()));
        buf.writeCharSequence(text, ISO_8859_1);
        channel.writeInbound(buf);
    }

    /** Reads and releases every inbound message, describing each as a line. */
    private static String transcript(EmbeddedChannel channel) {
        List<String> lines = new ArrayList<>();
        StringBuilder body = new StringBuilder();
        Object message;
        while ((message = channel.readInbound()) != null) {
            try {
                describe(message, lines, body);
            } finally {
                ReferenceCountUtil.release(message);
            }
        }
        return String.join("\n", lines);
    }

    private static void describe(Object message, List<String> lines, StringBuilder body) {
        if (message instanceof HttpRequest r) {
            lines.add("REQ " + r.method() + " " + r.uri() + " " + r.protocolVersion() + " "
                    + fields(r.headers()));
        } else if (message instanceof HttpContent c) {
            body.append(c.content().toString(ISO_8859_1));
            if (message instanceof LastHttpContent last) {
                lines.add(("LAST " + body + " " + fields(last.trailingHeaders())).strip()
                        + (body.isEmpty() && last.trailingHeaders().isEmpty() ? " " : ""));
                body.setLength(0);
            }
        } else if (message instanceof HttpRejection r) {
            lines.add("REJECT " + r.status() + " " + r.code());
        } else if (message instanceof ByteBuf b) {
            lines.add("RAW " + b.toString(ISO_8859_1));
        } else {
            lines.add("UNEXPECTED " + message);
        }
    }

    private static String fields(Iterable<Map.Entry<String, String>> headers) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, String> field : headers) {
            b.append('|').append(field.getKey()).append(": ").append(field.getValue());
        }
        return b.toString();
    }

    private static List<Integer> drainContentSizes(EmbeddedChannel channel) {
        List<Integer> sizes = new ArrayList<>();
        Object message;
        while ((message = channel.readInbound()) != null) {
            if (message instanceof HttpContent c) {
                sizes.add(c.content().readableBytes());
            }
            ReferenceCountUtil.release(message);
        }
        return sizes;
    }

    private static String post(String framing) {
        return "POST / HTTP/1.1\r\nHost: example.com\r\n" + framing + "\r\n\r\n";
    }

    private static String chunked(String body) {
        return post("Transfer-Encoding: chunked") + body;
    }

    private static Arguments rejected(String name, String input, int status, String code) {
        return arguments(name, input, status, code);
    }

    /** Plays the lead's handler refusing an upgrade as soon as the request is complete. */
    private static final class ResumeOnLast extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.fireChannelRead(msg);
            if (msg instanceof LastHttpContent) {
                ctx.pipeline().get(StrictHttpRequestDecoder.class).resumeAfterRefusedUpgrade();
            }
        }
    }

    /** Plays the lead's handler that removes the decoder once a request is complete. */
    private static final class RemoveDecoderOnLast extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.fireChannelRead(msg);
            if (msg instanceof LastHttpContent) {
                ctx.pipeline().remove(StrictHttpRequestDecoder.class);
            }
        }
    }
}
