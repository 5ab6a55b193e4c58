package dev.pep.proxy.session;

/** The protocols a live session can have; each is ended in its own way. */
public enum SessionKind {
    /** An HTTP/1.1 exchange in progress: ended by a 403, or by closing the connection. */
    HTTP1,
    /** An HTTP/2 stream in progress: ended by a 403 or a reset, with GOAWAY on its connection. */
    HTTP2,
    /** A WebSocket after its 101: ended by a close frame carrying the reason. */
    WEBSOCKET,
    /** A spliced TCP session (an app with {@code protocol: tcp}): ended by closing both sides. */
    TCP,
    /** An HTTP/1.1 keep-alive connection between exchanges, after an allowed one: ended by closing it. */
    HTTP1_IDLE,
    /** An HTTP/2 connection with no exchange in progress, after an allowed one: ended by GOAWAY. */
    HTTP2_IDLE
}
