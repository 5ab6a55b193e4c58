package dev.pep.identity.testing;

import dev.pep.core.Credentials;
import dev.pep.core.Source;
import java.net.InetAddress;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Credentials as the proxy would build them. */
public final class TestCredentials {

    public static final Source SOURCE =
            new Source(InetAddress.getLoopbackAddress(), 50000, Set.of());

    private TestCredentials() {
    }

    public static Credentials of(String host, Map<String, List<String>> headers,
            List<X509Certificate> chain, Instant now) {
        return new Credentials(host, headers, chain, Optional.empty(), SOURCE, now);
    }

    public static Credentials headers(String host, Map<String, List<String>> headers,
            Instant now) {
        return of(host, headers, List.of(), now);
    }
}
