package dev.pep.proxy.upstream;

/** No connector that may serve the app is connected: the app cannot be reached right now. */
public final class NoConnectorException extends Exception {

    /** For the app of that name. */
    public NoConnectorException(String app) {
        super("no connector serves app " + app);
    }
}
