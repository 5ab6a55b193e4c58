package dev.pep.core;

import java.net.InetAddress;
import java.util.Objects;
import java.util.Set;

/**
 * Where a request comes from, as seen by the gateway's listener.
 *
 * @param address the peer address of the TCP connection
 * @param port the peer port
 * @param networks the named network sets that contain the address
 */
public record Source(InetAddress address, int port, Set<String> networks) {

    /** Validates and copies. */
    public Source {
        Objects.requireNonNull(address, "address");
        networks = Set.copyOf(networks);
    }
}
