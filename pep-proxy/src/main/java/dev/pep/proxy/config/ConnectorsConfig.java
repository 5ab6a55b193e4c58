package dev.pep.proxy.config;

/**
 * The gateway's connector listener, where connectors dial out to; absent when no app is
 * reached through a connector.
 *
 * @param address the address to bind
 * @param port the port; 0 picks a free one
 * @param stateDirectory the internal CA, enrolment tokens (hashed), enrolments and revocations,
 *     relative to gateway.yaml
 */
public record ConnectorsConfig(String address, Integer port, String stateDirectory) {

    /** Applies defaults. */
    public ConnectorsConfig {
        address = address == null ? "127.0.0.1" : address;
        port = port == null ? 8444 : port;
        stateDirectory = stateDirectory == null ? ".pep/connectors" : stateDirectory;
    }
}
