package dev.pep.proxy.upstream;

/** The TLS handshake with the app failed (bad certificate, no common protocol). Answered with 502. */
public final class UpstreamTlsException extends RuntimeException {

    UpstreamTlsException(Throwable cause) {
        super("TLS handshake with the upstream failed", cause, false, false);
    }
}
