package dev.pep.proxy.config;

/**
 * The partner-facing TLS listener.
 *
 * @param address the address to bind, {@code 0.0.0.0} for all
 * @param port the port; 0 picks a free one (tests)
 */
public record ListenerConfig(String address, Integer port) {

    static final ListenerConfig DEFAULT = new ListenerConfig(null, null);

    /** Applies defaults. */
    public ListenerConfig {
        address = address == null ? "127.0.0.1" : address;
        port = port == null ? 8443 : port;
    }
}
