package dev.pep.proxy.config;

/**
 * The admin listener: {@code /healthz}, {@code /readyz}, {@code /metrics} and the admin API.
 * Plain HTTP, so it binds to loopback unless an operator says otherwise.
 *
 * @param address the address to bind
 * @param port the port; 0 picks a free one, -1 disables the listener
 * @param tokenFile the admin API's operators and bearer tokens, one {@code NAME TOKEN} a line,
 *     relative to gateway.yaml; null turns the API under {@code /api/} off
 */
public record AdminConfig(String address, Integer port, String tokenFile) {

    static final AdminConfig DEFAULT = new AdminConfig(null, null, null);

    /** Applies defaults. */
    public AdminConfig {
        address = address == null ? "127.0.0.1" : address;
        port = port == null ? 9090 : port;
    }

    /** Whether the admin listener runs. */
    public boolean enabled() {
        return port >= 0;
    }
}
