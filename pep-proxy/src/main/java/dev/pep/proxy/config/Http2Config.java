package dev.pep.proxy.config;

/**
 * HTTP/2 settings and defences, all explicit.
 *
 * @param maxConcurrentStreams streams a client may have open at once
 * @param maxHeaderListSize the largest decoded header list; also bounds CONTINUATION floods
 * @param initialWindowSize the per-stream flow-control window
 * @param connectionWindowSize the connection-level flow-control window, at least twice the
 *     per-stream one so that one stream cannot fill the connection
 * @param maxResetsPerWindow client RST_STREAM frames tolerated per {@code resetWindowSeconds}
 *     before the connection is closed (rapid reset, CVE-2023-44487)
 * @param resetWindowSeconds the window of {@code maxResetsPerWindow}
 */
public record Http2Config(
        Integer maxConcurrentStreams,
        ByteSize maxHeaderListSize,
        ByteSize initialWindowSize,
        ByteSize connectionWindowSize,
        Integer maxResetsPerWindow,
        Integer resetWindowSeconds) {

    static final Http2Config DEFAULT = new Http2Config(null, null, null, null, null, null);

    /** Applies defaults. */
    public Http2Config {
        maxConcurrentStreams = maxConcurrentStreams == null ? 100 : maxConcurrentStreams;
        maxHeaderListSize = maxHeaderListSize == null ? ByteSize.kib(32) : maxHeaderListSize;
        initialWindowSize = initialWindowSize == null ? ByteSize.kib(256) : initialWindowSize;
        connectionWindowSize = connectionWindowSize == null ? ByteSize.mib(1) : connectionWindowSize;
        maxResetsPerWindow = maxResetsPerWindow == null ? 200 : maxResetsPerWindow;
        resetWindowSeconds = resetWindowSeconds == null ? 30 : resetWindowSeconds;
    }
}
