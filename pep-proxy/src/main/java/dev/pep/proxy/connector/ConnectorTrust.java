package dev.pep.proxy.connector;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Date;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trust for one private CA, without host names: a peer certificate is good when the CA signed
 * it, it is current, and it is for the expected purpose (TLS client or TLS server). Connectors
 * use it for the gateway (the CA issues the server purpose only to the gateway's connector
 * listener, so no connector certificate can pose as the gateway); the gateway uses it for
 * connectors, and then asks the enrolment store as well (revoked, expired, unknown).
 */
final class ConnectorTrust extends X509ExtendedTrustManager {

    private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

    private final X509Certificate ca;
    private final Clock clock;
    private final ConnectorRegistry registry;

    /**
     * @param registry checks connector certificates against enrolments; null on the connector,
     *     which checks the gateway's certificate only
     */
    ConnectorTrust(X509Certificate ca, Clock clock, ConnectorRegistry registry) {
        this.ca = ca;
        this.clock = clock;
        this.registry = registry;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        X509Certificate leaf = issued(chain, CLIENT_AUTH);
        if (registry == null) {
            throw new CertificateException("this end accepts no client certificates");
        }
        String name = ConnectorCa.connectorName(leaf);
        try {
            registry.verify(name, ConnectorCa.serial(leaf));
        } catch (EnrolmentRefusedException e) {
            InetSocketAddress remote = engine == null || engine.getPeerHost() == null ? null
                    : InetSocketAddress.createUnresolved(engine.getPeerHost(), engine.getPeerPort());
            registry.refused(name, null, resolved(remote), e.reason());
            throw new CertificateException("connector refused: " + e.reason());
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        checkClientTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkClientTrusted(chain, authType, (SSLEngine) null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        issued(chain, SERVER_AUTH);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        issued(chain, SERVER_AUTH);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        issued(chain, SERVER_AUTH);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[] {ca};
    }

    private X509Certificate issued(X509Certificate[] chain, String purpose) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("no certificate");
        }
        X509Certificate leaf = chain[0];
        try {
            leaf.verify(ca.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new CertificateException("not issued by the connector CA");
        }
        leaf.checkValidity(Date.from(clock.instant()));
        ca.checkValidity(Date.from(clock.instant()));
        List<String> usages = leaf.getExtendedKeyUsage();
        if (usages == null || !usages.contains(purpose)) {
            throw new CertificateException("certificate not issued for " + (purpose.equals(CLIENT_AUTH)
                    ? "a connector" : "the gateway's connector listener"));
        }
        return leaf;
    }

    private static InetSocketAddress resolved(InetSocketAddress remote) {
        if (remote == null) {
            return null;
        }
        try {
            return new InetSocketAddress(java.net.InetAddress.getByName(remote.getHostString()), remote.getPort());
        } catch (java.net.UnknownHostException e) {
            return null;
        }
    }
}
