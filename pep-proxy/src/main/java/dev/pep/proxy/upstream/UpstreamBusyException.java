package dev.pep.proxy.upstream;

/** Every connection the app's pool may open is in use. Answered with 503. */
public final class UpstreamBusyException extends RuntimeException {

    UpstreamBusyException(int max) {
        super("all " + max + " upstream connections are in use", null, false, false);
    }
}
