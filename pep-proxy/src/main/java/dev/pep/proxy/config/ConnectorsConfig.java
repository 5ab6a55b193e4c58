package dev.pep.proxy.config;

import java.time.Duration;

/**
 * The gateway's connector listener, where connectors dial out to; absent when no app is
 * reached through a connector.
 *
 * @param address the address to bind
 * @param port the port; 0 picks a free one
 * @param stateDirectory the internal CA, enrolment tokens (hashed), enrolments and revocations,
 *     relative to gateway.yaml
 * @param handshakeTimeout how long a connection may take to present a connector certificate, or
 *     without one to enrol, before it is closed
 * @param maxUnauthenticatedConnections connections at once that have not presented a connector
 *     certificate (in their handshake, or enrolling)
 * @param maxUnauthenticatedConnectionsPerAddress the same, from one client address
 */
public record ConnectorsConfig(
        String address,
        Integer port,
        String stateDirectory,
        Duration handshakeTimeout,
        Integer maxUnauthenticatedConnections,
        Integer maxUnauthenticatedConnectionsPerAddress) {

    /** Applies defaults. */
    public ConnectorsConfig {
        address = address == null ? "127.0.0.1" : address;
        port = port == null ? 8444 : port;
        stateDirectory = stateDirectory == null ? ".pep/connectors" : stateDirectory;
        handshakeTimeout = handshakeTimeout == null ? Duration.ofSeconds(10) : handshakeTimeout;
        maxUnauthenticatedConnections = maxUnauthenticatedConnections == null ? 64 : maxUnauthenticatedConnections;
        maxUnauthenticatedConnectionsPerAddress = maxUnauthenticatedConnectionsPerAddress == null
                ? 8 : maxUnauthenticatedConnectionsPerAddress;
    }
}
