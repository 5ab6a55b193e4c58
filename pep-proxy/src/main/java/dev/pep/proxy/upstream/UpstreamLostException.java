package dev.pep.proxy.upstream;

import java.io.IOException;

/** The way to the app (a connector's tunnel) went away under an exchange. */
public final class UpstreamLostException extends IOException {

    /** With what went. */
    public UpstreamLostException(String message) {
        super(message);
    }
}
