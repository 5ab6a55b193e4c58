package dev.pep.proxy.http;

/** The protocol a request arrived with. */
public enum HttpVersionKind {
    /** HTTP/1.0: Host optional, no chunked bodies, no upgrades. */
    HTTP_1_0("HTTP/1.0"),
    /** HTTP/1.1. */
    HTTP_1_1("HTTP/1.1"),
    /** HTTP/2: pseudo-headers, no connection-specific fields. */
    HTTP_2("HTTP/2");

    private final String protocolName;

    HttpVersionKind(String protocolName) {
        this.protocolName = protocolName;
    }

    /** The name used in {@link dev.pep.core.RequestAttributes#protocol()}. */
    public String protocolName() {
        return protocolName;
    }

    /** Whether this is HTTP/1.0 or HTTP/1.1. */
    public boolean isHttp1() {
        return this != HTTP_2;
    }
}
