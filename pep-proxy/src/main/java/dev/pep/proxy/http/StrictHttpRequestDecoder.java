package dev.pep.proxy.http;

import static java.nio.charset.StandardCharsets.ISO_8859_1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A strict server-side HTTP/1.1 request decoder: anything RFC 9112 lets a recipient accept in more
 * than one way is rejected instead of repaired, so no application behind the gateway can frame a
 * request differently from the gateway.
 *
 * <p>For each request it emits a {@link DefaultHttpRequest} (header lines in arrival order, names
 * as sent), then zero or more {@link io.netty.handler.codec.http.HttpContent} slices of the body
 * as the bytes arrive (each at most {@link Http1Limits#maxChunkSize()}; the body is never
 * buffered whole), then a {@link LastHttpContent} carrying the trailers of a chunked body. A
 * request without a body is followed by {@link LastHttpContent#EMPTY_LAST_CONTENT}. Pipelined
 * requests are decoded one after another.
 *
 * <p>On the first violation it emits one {@link HttpRejection} and discards every later byte;
 * the next handler answers with the rejection's status and closes the connection.
 *
 * <p>After a request that carries an {@code Upgrade} header field the decoder pauses and keeps
 * any later bytes unread, because they may belong to another protocol. The handler then either
 * removes the decoder from the pipeline after answering 101 (the unread bytes are passed on as a
 * {@link ByteBuf}) or calls {@link #resumeAfterRefusedUpgrade()} when it did not switch.
 *
 * <p>Not thread-safe: one instance per channel, used on its event loop only.
 */
public final class StrictHttpRequestDecoder extends ByteToMessageDecoder {

    /** Empty lines tolerated before a request line (RFC 9112 2.2 allows "at least one"). */
    private static final int MAX_LEADING_EMPTY_LINES = 8;

    /** Longest chunk-size line, extensions included. */
    private static final int MAX_CHUNK_LINE_LENGTH = 1024;

    /** 15 hex digits keep every chunk size inside a positive long. */
    private static final int MAX_CHUNK_SIZE_DIGITS = 15;

    /** 18 decimal digits keep every Content-Length inside a positive long. */
    private static final int MAX_CONTENT_LENGTH_DIGITS = 18;

    private static final Pattern OTHER_VERSION = Pattern.compile("HTTP/[0-9]\\.[0-9]");

    /** Trailer fields that would change framing, routing or identity if anyone merged them. */
    private static final Set<String> FORBIDDEN_TRAILERS = Set.of(
            "content-length", "transfer-encoding", "trailer", "host", "connection", "keep-alive",
            "proxy-connection", "te", "upgrade", "authorization", "proxy-authorization",
            "content-type", "content-encoding", "expect");

    private enum State {
        REQUEST_LINE, HEADERS, FIXED_BODY, CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, TRAILERS,
        UPGRADE_PENDING, REJECTED
    }

    private final Http1Limits limits;
    private ChannelHandlerContext ctx;
    private State state = State.REQUEST_LINE;
    private int lineScanned;
    private int emptyLines;
    private int sectionBytes;
    private int fieldCount;
    private HttpMethod method;
    private String target;
    private HttpVersion version;
    private HttpHeaders fields;
    private long remaining;
    private boolean upgradeRequested;

    /** A decoder with {@link Http1Limits#DEFAULTS}. */
    public StrictHttpRequestDecoder() {
        this(Http1Limits.DEFAULTS);
    }

    /** A decoder with the given limits. */
    public StrictHttpRequestDecoder(Http1Limits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /**
     * Resumes decoding HTTP/1.1 after the handler answered an upgrade request without switching
     * protocols. Bytes that arrived meanwhile are decoded in a task on the channel's event loop,
     * so this may be called from inside a {@code channelRead} of this pipeline. Does nothing
     * unless the decoder is paused for an upgrade. Call on the channel's event loop.
     */
    public void resumeAfterRefusedUpgrade() {
        if (state != State.UPGRADE_PENDING) {
            return;
        }
        state = State.REQUEST_LINE;
        if (ctx != null) {
            ctx.executor().execute(this::decodeBuffered);
        }
    }

    /** Runs decode() over bytes that arrived while paused; a new read would do the same. */
    private void decodeBuffered() {
        if (ctx.isRemoved() || !internalBuffer().isReadable()) {
            return;
        }
        try {
            // An empty read makes ByteToMessageDecoder decode what it already holds.
            channelRead(ctx, Unpooled.EMPTY_BUFFER);
            channelReadComplete(ctx);
        } catch (Exception e) {
            ctx.fireExceptionCaught(e);
        }
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        try {
            step(in, out);
        } catch (RequestRejectedException e) {
            reject(in, out, e.rejection());
        }
    }

    /** One step of the state machine; ByteToMessageDecoder calls again while it progresses. */
    private void step(ByteBuf in, List<Object> out) {
        switch (state) {
            case REQUEST_LINE -> readRequestLine(in);
            case HEADERS -> readFieldLine(in, out, false);
            case FIXED_BODY -> readBody(in, out, true);
            case CHUNK_SIZE -> readChunkSize(in);
            case CHUNK_DATA -> readBody(in, out, false);
            case CHUNK_DATA_END -> readChunkDataEnd(in);
            case TRAILERS -> readFieldLine(in, out, true);
            case UPGRADE_PENDING -> holdForUpgrade(in);
            case REJECTED -> in.skipBytes(in.readableBytes());
            default -> throw new IllegalStateException("unknown state " + state);
        }
    }

    private void readRequestLine(ByteBuf in) {
        int length = findLine(in, limits.maxRequestLineLength(),
                new HttpRejection(414, "request_line_too_long", "request line exceeds "
                        + limits.maxRequestLineLength() + " bytes"));
        if (length < 0) {
            return;
        }
        if (length == 0) {
            if (++emptyLines > MAX_LEADING_EMPTY_LINES) {
                throw rejected("too_many_empty_lines", "too many empty lines before the request");
            }
            in.skipBytes(2);
            return;
        }
        String line = in.toString(in.readerIndex(), length, ISO_8859_1);
        in.skipBytes(length + 2);
        parseRequestLine(line);
        emptyLines = 0;
        startSection(DefaultHttpHeadersFactory.headersFactory().newHeaders());
        state = State.HEADERS;
    }

    /** request-line = method SP request-target SP HTTP-version, with single spaces only. */
    private void parseRequestLine(String line) {
        rejectControls(line, false);
        int sp1 = line.indexOf(' ');
        int sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
        if (sp1 <= 0 || sp2 <= sp1 + 1 || line.indexOf(' ', sp2 + 1) >= 0) {
            throw rejected("request_line_invalid", "request line must be: method SP target SP"
                    + " version, single spaces");
        }
        String methodName = line.substring(0, sp1);
        if (!HttpChars.isToken(methodName)) {
            throw rejected("method_invalid", "method is not a token");
        }
        String requestTarget = line.substring(sp1 + 1, sp2);
        for (int i = 0; i < requestTarget.length(); i++) {
            if (!HttpChars.isVchar(requestTarget.charAt(i))) {
                throw rejected("target_invalid", "request target has a character outside"
                        + " printable US-ASCII");
            }
        }
        method = HttpMethod.valueOf(methodName);
        target = requestTarget;
        version = parseVersion(line.substring(sp2 + 1));
    }

    private static HttpVersion parseVersion(String text) {
        // HTTP-version is case-sensitive (RFC 9112 2.3), so HttpVersion.valueOf is too lenient.
        if (text.equals("HTTP/1.1")) {
            return HttpVersion.HTTP_1_1;
        }
        if (text.equals("HTTP/1.0")) {
            return HttpVersion.HTTP_1_0;
        }
        if (OTHER_VERSION.matcher(text).matches()) {
            throw new RequestRejectedException(new HttpRejection(505, "version_not_supported",
                    "only HTTP/1.1 and HTTP/1.0 are supported"));
        }
        throw rejected("request_line_invalid", "malformed HTTP version");
    }

    private void startSection(HttpHeaders headers) {
        fields = headers;
        sectionBytes = 0;
        fieldCount = 0;
    }

    /** Reads one header or trailer line, or the empty line that ends the section. */
    private void readFieldLine(ByteBuf in, List<Object> out, boolean trailers) {
        int budget = limits.maxHeaderSectionSize() - sectionBytes;
        String what = trailers ? "trailer" : "header";
        int length = findLine(in, Math.max(0, budget - 2), new HttpRejection(431,
                what + "_section_too_large", what + " section exceeds "
                        + limits.maxHeaderSectionSize() + " bytes"));
        if (length < 0) {
            return;
        }
        if (length == 0) {
            in.skipBytes(2);
            if (trailers) {
                out.add(new DefaultLastHttpContent(Unpooled.EMPTY_BUFFER, fields));
                endRequest();
            } else {
                finishHead(out);
            }
            return;
        }
        if (++fieldCount > limits.maxHeaderCount()) {
            throw new RequestRejectedException(new HttpRejection(431, "too_many_" + what + "s",
                    "more than " + limits.maxHeaderCount() + " " + what + " lines"));
        }
        String line = in.toString(in.readerIndex(), length, ISO_8859_1);
        in.skipBytes(length + 2);
        sectionBytes += length + 2;
        addField(line, trailers);
    }

    /** field-line = field-name ":" OWS field-value OWS (RFC 9112 5). */
    private void addField(String line, boolean trailers) {
        if (HttpChars.isOws(line.charAt(0))) {
            // RFC 9112 5.2: obs-fold; also a first line starting with whitespace (2.2).
            throw rejected("obs_fold", "header line starts with whitespace (line folding)");
        }
        rejectControls(line, true);
        int colon = line.indexOf(':');
        if (colon < 0) {
            throw rejected("header_line_invalid", "header line has no colon");
        }
        String name = line.substring(0, colon);
        if (!name.isEmpty() && HttpChars.isOws(name.charAt(name.length() - 1))) {
            throw rejected("whitespace_before_colon", "whitespace between field name and colon");
        }
        if (!HttpChars.isToken(name)) {
            throw rejected("header_name_invalid", "field name is not a token");
        }
        if (trailers && name.indexOf('_') >= 0) {
            // The canonicaliser never sees trailers, so its underscore rule is applied here.
            throw rejected("header_name_underscore", "underscore in trailer field name");
        }
        // LIMITATION(L-403): other trailer fields pass on without being seen by policy.
        if (trailers && isForbiddenTrailer(name)) {
            throw rejected("trailer_field_forbidden", "field not allowed in trailers: "
                    + name.toLowerCase(Locale.ROOT));
        }
        try {
            fields.add(name, trimOws(line.substring(colon + 1)));
        } catch (IllegalArgumentException e) {
            throw rejected("header_value_invalid", "field value has invalid characters");
        }
    }

    private static boolean isForbiddenTrailer(String name) {
        String lower = HttpChars.toLowerAscii(name);
        return FORBIDDEN_TRAILERS.contains(lower) || ForwardHeaders.isIdentityHeader(lower);
    }

    /** Decides the framing of the body (RFC 9112 6.3) and emits the request. */
    private void finishHead(List<Object> out) {
        List<String> contentLengths = fields.getAll(HttpHeaderNames.CONTENT_LENGTH);
        List<String> codings = fields.getAll(HttpHeaderNames.TRANSFER_ENCODING);
        boolean chunked = false;
        if (!codings.isEmpty()) {
            if (!contentLengths.isEmpty()) {
                throw rejected("content_length_with_transfer_encoding",
                        "both Content-Length and Transfer-Encoding");
            }
            checkTransferEncoding(codings);
            chunked = true;
        } else {
            remaining = contentLengths.isEmpty() ? 0 : parseContentLength(contentLengths);
        }
        upgradeRequested = fields.contains(HttpHeaderNames.UPGRADE);
        out.add(new DefaultHttpRequest(version, method, target, fields));
        fields = null;
        if (chunked) {
            state = State.CHUNK_SIZE;
        } else if (remaining == 0) {
            out.add(LastHttpContent.EMPTY_LAST_CONTENT);
            endRequest();
        } else {
            state = State.FIXED_BODY;
        }
    }

    /** Accepts exactly one field line whose value is "chunked"; any other coding is 501. */
    private void checkTransferEncoding(List<String> codings) {
        if (version == HttpVersion.HTTP_1_0) {
            throw rejected("transfer_encoding_in_http10", "Transfer-Encoding in an HTTP/1.0"
                    + " request");
        }
        if (codings.size() > 1) {
            throw rejected("duplicate_transfer_encoding", "more than one Transfer-Encoding line");
        }
        String value = codings.get(0);
        if (value.equalsIgnoreCase("chunked")) {
            return;
        }
        for (String element : value.split(",", -1)) {
            if (!HttpChars.isToken(trimOws(element))) {
                throw rejected("transfer_encoding_invalid", "malformed Transfer-Encoding");
            }
        }
        throw new RequestRejectedException(new HttpRejection(501,
                "unsupported_transfer_encoding", "only Transfer-Encoding: chunked is supported"));
    }

    private static long parseContentLength(List<String> values) {
        if (values.size() > 1 || values.get(0).indexOf(',') >= 0) {
            throw rejected("duplicate_content_length", "more than one Content-Length");
        }
        String value = values.get(0);
        if (value.isEmpty() || value.length() > MAX_CONTENT_LENGTH_DIGITS) {
            throw rejected("content_length_invalid", "Content-Length must be 1 to "
                    + MAX_CONTENT_LENGTH_DIGITS + " digits");
        }
        for (int i = 0; i < value.length(); i++) {
            if (!HttpChars.isDigit(value.charAt(i))) {
                throw rejected("content_length_invalid", "Content-Length must be digits only");
            }
        }
        return Long.parseLong(value);
    }

    /** Emits the next slice of a fixed-length body or of a chunk's data. */
    private void readBody(ByteBuf in, List<Object> out, boolean fixedLength) {
        int n = (int) Math.min(Math.min(in.readableBytes(), remaining), limits.maxChunkSize());
        if (n == 0) {
            return;
        }
        ByteBuf slice = in.readRetainedSlice(n);
        remaining -= n;
        if (remaining > 0) {
            out.add(new DefaultHttpContent(slice));
        } else if (fixedLength) {
            out.add(new DefaultLastHttpContent(slice));
            endRequest();
        } else {
            out.add(new DefaultHttpContent(slice));
            state = State.CHUNK_DATA_END;
        }
    }

    /** chunk-size [ chunk-ext ] CRLF, strict hex without sign or whitespace (RFC 9112 7.1). */
    private void readChunkSize(ByteBuf in) {
        int length = findLine(in, MAX_CHUNK_LINE_LENGTH, HttpRejection.badRequest(
                "chunk_line_too_long", "chunk-size line exceeds " + MAX_CHUNK_LINE_LENGTH
                        + " bytes"));
        if (length < 0) {
            return;
        }
        String line = in.toString(in.readerIndex(), length, ISO_8859_1);
        in.skipBytes(length + 2);
        int digits = 0;
        while (digits < line.length() && HttpChars.hexValue(line.charAt(digits)) >= 0) {
            digits++;
        }
        if (digits == 0 || digits > MAX_CHUNK_SIZE_DIGITS) {
            throw rejected("chunk_size_invalid", "chunk size must be 1 to "
                    + MAX_CHUNK_SIZE_DIGITS + " hex digits");
        }
        if (digits < line.length()) {
            checkChunkExtensions(line.substring(digits));
        }
        long size = Long.parseLong(line.substring(0, digits), 16);
        if (size == 0) {
            startSection(DefaultHttpHeadersFactory.trailersFactory().newHeaders());
            state = State.TRAILERS;
        } else {
            remaining = size;
            state = State.CHUNK_DATA;
        }
    }

    /** Extensions are discarded; they must start right after the size and hold no controls. */
    private static void checkChunkExtensions(String extensions) {
        if (extensions.charAt(0) != ';') {
            throw rejected("chunk_size_invalid", "chunk size followed by something other than"
                    + " an extension");
        }
        for (int i = 0; i < extensions.length(); i++) {
            char c = extensions.charAt(i);
            if (c != ' ' && !HttpChars.isVchar(c)) {
                throw rejected("chunk_extension_invalid", "chunk extension has invalid"
                        + " characters");
            }
        }
    }

    private void readChunkDataEnd(ByteBuf in) {
        int start = in.readerIndex();
        if (in.getByte(start) != '\r') {
            throw rejected("chunk_data_unterminated", "chunk data not followed by CRLF");
        }
        if (in.readableBytes() < 2) {
            return;
        }
        if (in.getByte(start + 1) != '\n') {
            throw rejected("chunk_data_unterminated", "chunk data not followed by CRLF");
        }
        in.skipBytes(2);
        state = State.CHUNK_SIZE;
    }

    private void endRequest() {
        fields = null;
        state = upgradeRequested ? State.UPGRADE_PENDING : State.REQUEST_LINE;
        upgradeRequested = false;
    }

    /** Keeps bytes for the next protocol; a client must wait for 101 (RFC 6455 4.1). */
    private void holdForUpgrade(ByteBuf in) {
        if (in.readableBytes() > limits.maxHeaderSectionSize()) {
            throw rejected("data_before_upgrade_response", "too much data sent before the"
                    + " upgrade was answered");
        }
    }

    /**
     * Finds the next line starting at the reader index and returns its length without the CRLF,
     * or -1 when it is not complete yet. Bytes already checked are not scanned again, so a head
     * that arrives one byte at a time costs linear time.
     */
    private int findLine(ByteBuf in, int maxLength, HttpRejection tooLong) {
        int start = in.readerIndex();
        int end = in.writerIndex();
        for (int i = start + lineScanned; i < end; i++) {
            byte b = in.getByte(i);
            if (b == '\n') {
                throw rejected("bare_lf", "line ends in LF without CR");
            }
            if (b == '\r') {
                if (i + 1 == end) {
                    lineScanned = i - start;
                    return -1;
                }
                if (in.getByte(i + 1) != '\n') {
                    throw rejected("bare_cr", "CR not followed by LF");
                }
                lineScanned = 0;
                return i - start;
            }
            if (i - start >= maxLength) {
                throw new RequestRejectedException(tooLong);
            }
        }
        lineScanned = end - start;
        return -1;
    }

    /** NUL and other controls are refused anywhere in the head; HTAB only inside field lines. */
    private static void rejectControls(String line, boolean allowTab) {
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == 0) {
                throw rejected("nul_in_head", "NUL byte in request head");
            }
            if (HttpChars.isCtl(c) && !(allowTab && c == '\t')) {
                throw rejected("control_character", "control character in request head");
            }
        }
    }

    private static String trimOws(String s) {
        int from = 0;
        int to = s.length();
        while (from < to && HttpChars.isOws(s.charAt(from))) {
            from++;
        }
        while (to > from && HttpChars.isOws(s.charAt(to - 1))) {
            to--;
        }
        return s.substring(from, to);
    }

    private void reject(ByteBuf in, List<Object> out, HttpRejection rejection) {
        state = State.REJECTED;
        fields = null;
        lineScanned = 0;
        in.skipBytes(in.readableBytes());
        out.add(rejection);
    }

    private static RequestRejectedException rejected(String code, String detail) {
        return new RequestRejectedException(HttpRejection.badRequest(code, detail));
    }
}
