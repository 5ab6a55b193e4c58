package dev.pep.proxy.tls;

import dev.pep.proxy.config.TlsConfig.TlsProfile;
import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import java.io.File;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLException;

/** Builds the server TLS contexts: BoringSSL where it loads, the JDK otherwise. */
public final class TlsContexts {

    /**
     * Mozilla's "intermediate" TLS 1.2 suites (forward secret, AEAD only). The DHE suites of that
     * profile are left out: BoringSSL does not offer finite-field DHE.
     */
    static final List<String> INTERMEDIATE_TLS12 = List.of(
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    static final List<String> TLS13 = List.of(
            "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256");

    private TlsContexts() {
    }

    /** The provider in use: OpenSSL (BoringSSL) when its native library loads. */
    public static SslProvider provider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /** A one-line description of the TLS engine, logged once at start. */
    public static String describe() {
        if (OpenSsl.isAvailable()) {
            return "tls=boringssl version=" + OpenSsl.versionString();
        }
        Throwable cause = OpenSsl.unavailabilityCause();
        return "tls=jdk reason=" + (cause == null ? "unavailable" : cause.getClass().getSimpleName());
    }

    /** A server context for one certificate chain and key, offering h2 and http/1.1. */
    public static SslContext server(File chain, File key, TlsProfile profile) throws SSLException {
        return server(chain, key, profile, List.of());
    }

    /**
     * A server context that also asks clients for a certificate issued by one of
     * {@code clientIssuers} (optional for the client; the chain is judged per request, see
     * {@link DeferredClientTrust}). No issuers: no certificate is asked for.
     */
    public static SslContext server(File chain, File key, TlsProfile profile,
            List<X509Certificate> clientIssuers) throws SSLException {
        return server(chain, key, profile, clientIssuers, false);
    }

    /**
     * A server context as above; for a {@code stream} (a host whose bytes are spliced to a TCP
     * app rather than read as HTTP) it selects no application protocol, and runs on the JDK's
     * engine, which keeps writing after the client's close_notify (a TLS 1.3 half-close, RFC 8446
     * section 6.1), where the native engine closes both ways.
     */
    public static SslContext server(File chain, File key, TlsProfile profile,
            List<X509Certificate> clientIssuers, boolean stream) throws SSLException {
        List<String> ciphers = profile == TlsProfile.MODERN
                ? TLS13 : concat(TLS13, INTERMEDIATE_TLS12);
        String[] protocols = profile == TlsProfile.MODERN
                ? new String[] {"TLSv1.3"} : new String[] {"TLSv1.3", "TLSv1.2"};
        SslContextBuilder builder = SslContextBuilder.forServer(chain, key);
        if (!clientIssuers.isEmpty()) {
            builder.clientAuth(ClientAuth.OPTIONAL).trustManager(new DeferredClientTrust(clientIssuers));
        }
        builder.sslProvider(stream ? SslProvider.JDK : provider())
                .protocols(protocols)
                .ciphers(ciphers, SupportedCipherSuiteFilter.INSTANCE);
        if (!stream) {
            builder.applicationProtocolConfig(new ApplicationProtocolConfig(
                    ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                    ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1));
        }
        return builder.build();
    }

    /**
     * A client context for TLS streams to TCP apps ({@code tls://}), verifying their
     * certificates; on the JDK's engine, for TLS 1.3 half-close as {@link #server} explains.
     */
    public static SslContext streamClient() throws SSLException {
        return streamClient(null, null);
    }

    /**
     * A client context for TLS streams as above that presents {@code chain} (leaf first) and its
     * PKCS#8 {@code key} to apps that ask for a client certificate; both null for none.
     */
    public static SslContext streamClient(File chain, File key) throws SSLException {
        return SslContextBuilder.forClient()
                .sslProvider(SslProvider.JDK)
                .keyManager(chain, key)
                .protocols("TLSv1.3", "TLSv1.2")
                .build();
    }

    /**
     * A client context for TLS to applications, verifying their certificates against the CAs in
     * {@code trustedCas} (a PEM bundle) or, when it is null, against the JDK's trust store.
     */
    public static SslContext client(File trustedCas) throws SSLException {
        return client(trustedCas, null, null);
    }

    /**
     * A client context as above that presents {@code chain} (leaf first) and its PKCS#8
     * {@code key} to applications that ask for a client certificate; both null for none.
     */
    public static SslContext client(File trustedCas, File chain, File key) throws SSLException {
        SslContextBuilder builder = SslContextBuilder.forClient().keyManager(chain, key);
        if (trustedCas != null) {
            builder.trustManager(trustedCas);
        }
        return builder
                .sslProvider(provider())
                .protocols("TLSv1.3", "TLSv1.2")
                .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE)
                .build();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        var out = new java.util.ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
