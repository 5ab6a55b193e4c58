package dev.pep.proxy.connector;

import io.netty.handler.codec.http2.Http2Settings;
import io.netty.util.AsciiString;

/**
 * The words both ends of a tunnel use. The tunnel is HTTP/2 over mutually authenticated TLS,
 * with the roles reversed: the connector dials and is the TLS client, but it is the HTTP/2
 * server; the gateway is the HTTP/2 client and opens one stream per session:
 *
 * <pre>
 * HEADERS :method GET     :path /pep/v1/hello        →  :status 200, pep-apps: a,b (END_STREAM)
 * HEADERS :method CONNECT :authority APP              →  :status 200, then DATA both ways
 *                                                      or :status 403|502, pep-reason: CODE
 * </pre>
 *
 * A DATA frame with END_STREAM, or RST_STREAM, ends a session's stream; either side then closes
 * its connection to the app or the partner. A stream opened with {@code pep-half-close: 1} is
 * the exception (the connector understands it; no gateway sends it today, L-740): there
 * END_STREAM ends one direction only, as a FIN ends one side of a TCP connection, and the stream
 * ends once both directions have (or at RST_STREAM). Per-stream
 * HTTP/2 flow control means one slow session holds back only its own stream.
 */
final class TunnelProtocol {

    /** The hello stream: the connector names the apps it serves. */
    static final String HELLO_PATH = "/pep/v1/hello";
    /** The enrolment endpoint, HTTP/1.1 on a TLS connection without a client certificate. */
    static final String ENROL_PATH = "/pep/v1/enrol";
    /** The apps a connector serves, comma-separated, in the hello answer. */
    static final AsciiString APPS = AsciiString.cached("pep-apps");
    /** Why a stream was refused: a reason code. */
    static final AsciiString REASON = AsciiString.cached("pep-reason");
    /** On a CONNECT: END_STREAM is a half-close (value {@code 1}); not sent by the gateway (L-740). */
    static final AsciiString HALF_CLOSE = AsciiString.cached("pep-half-close");
    /** The gateway's session (request) id, for the connector's log. */
    static final AsciiString SESSION = AsciiString.cached("pep-session");
    /** Per-stream receive window: enough for a fast stream on a long path, bounded per session. */
    static final int STREAM_WINDOW = 1 << 20;
    /** Extra connection-level receive window beyond the protocol's initial 64 KiB. */
    static final int CONNECTION_WINDOW_INCREMENT = 32 << 20;
    /** How often the gateway pings an idle tunnel, in seconds. */
    static final int PING_SECONDS = 10;
    /** A tunnel silent this long, in seconds, is dead (three pings missed). */
    static final int DEAD_SECONDS = 35;

    private TunnelProtocol() {
    }

    /** The SETTINGS both ends send. */
    static Http2Settings settings() {
        return Http2Settings.defaultSettings().initialWindowSize(STREAM_WINDOW).maxConcurrentStreams(10_000)
                .maxHeaderListSize(16 * 1024);
    }
}
