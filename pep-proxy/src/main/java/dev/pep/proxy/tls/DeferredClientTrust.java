package dev.pep.proxy.tls;

import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Asks TLS clients for a certificate, naming the device CAs of posture and the partner CAs of
 * {@code identity.client-certificates}, and leaves judging the chain to the request: the
 * handshake proves the client holds the key; the posture providers validate a device chain, and
 * the client-certificate authenticator a subject's chain, against their CAs and CRLs at the
 * request's time (docs/posture.md, docs/identity.md). A chain is therefore never trusted for
 * anything here; a device without a valid one is simply unmanaged, and a subject without one is
 * not authenticated, each with a reason that can be shown or audited, instead of a handshake
 * failure that cannot.
 */
final class DeferredClientTrust extends X509ExtendedTrustManager {

    private final X509Certificate[] acceptedIssuers;

    DeferredClientTrust(List<X509Certificate> acceptedIssuers) {
        this.acceptedIssuers = acceptedIssuers.toArray(new X509Certificate[0]);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
            throws CertificateException {
        requireChain(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        requireChain(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        requireChain(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
            throws CertificateException {
        throw new CertificateException("a server context trusts no servers");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("a server context trusts no servers");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException("a server context trusts no servers");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return acceptedIssuers.clone();
    }

    private static void requireChain(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("empty client certificate chain");
        }
    }
}
