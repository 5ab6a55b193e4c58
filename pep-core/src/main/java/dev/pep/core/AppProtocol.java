package dev.pep.core;

/** How the gateway speaks to an application. */
public enum AppProtocol {
    /** HTTP/1.1 or HTTP/2 from the client, each request decided and proxied. */
    HTTP,
    /** A TLS stream chosen by SNI, decided once and spliced to the application. */
    TCP
}
