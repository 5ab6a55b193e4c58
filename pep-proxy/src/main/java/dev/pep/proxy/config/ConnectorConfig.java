package dev.pep.proxy.config;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A connector's file, {@code pep connector --config CONNECTOR.yaml}. Immutable.
 *
 * @param name the connector's name, as its enrolment token names it
 * @param gateways the gateways' connector listeners it keeps a tunnel to, one each
 * @param gatewayCa the gateway's connector CA certificate ({@code <state-directory>/ca.pem} of
 *     the gateway), the only trust anchor for the gateway
 * @param enrolmentTokenFile read once, while the state directory holds no certificate
 * @param stateDirectory its generated key, issued certificate and enrolment
 * @param apps the apps it serves, by the name policy gives them
 * @param baseDirectory what relative paths are resolved against: the file's directory
 */
public record ConnectorConfig(String name, List<GatewayAddress> gateways, String gatewayCa,
        String enrolmentTokenFile, String stateDirectory, Map<String, AppAddress> apps, Path baseDirectory) {

    /** Copies. */
    public ConnectorConfig {
        gateways = gateways == null ? List.of() : List.copyOf(gateways);
        apps = apps == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(apps));
        baseDirectory = baseDirectory == null ? Path.of(".") : baseDirectory;
    }

    ConnectorConfig withBaseDirectory(Path dir) {
        return new ConnectorConfig(name, gateways, gatewayCa, enrolmentTokenFile, stateDirectory, apps, dir);
    }

    /** A path from the file, resolved against the file's directory. */
    public Path resolve(String path) {
        return baseDirectory.resolve(path).normalize();
    }

    /**
     * One gateway.
     *
     * @param address {@code host:port} of its connector listener
     */
    public record GatewayAddress(String address) {
    }

    /**
     * Where an app listens, as the connector reaches it.
     *
     * @param address {@code host:port}
     * @param tls whether to speak TLS to it (verified against the JDK's trust store and the host)
     */
    public record AppAddress(String address, Boolean tls) {

        /** Applies defaults. */
        public AppAddress {
            tls = tls != null && tls;
        }
    }
}
