package dev.pep.proxy.upstream;

import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.config.TlsConfig.UpstreamClientCertificateConfig;
import dev.pep.proxy.tls.TlsContexts;
import io.netty.handler.ssl.SslContext;
import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * The TLS client contexts of direct upstreams, chosen by app: the apps named in
 * {@code tls.upstream-client-certificates} get a context that presents their client
 * certificate, every other app the shared one. Immutable and thread-safe.
 */
public final class UpstreamTls {

    private final SslContext shared;
    private final Map<String, SslContext> byApp;

    private UpstreamTls(SslContext shared, Map<String, SslContext> byApp) {
        this.shared = Objects.requireNonNull(shared, "shared");
        this.byApp = Map.copyOf(byApp);
    }

    /** One context for every app. */
    public static UpstreamTls of(SslContext shared) {
        return new UpstreamTls(shared, Map.of());
    }

    /**
     * The contexts for {@code https://} upstreams: trusting {@code tls.upstream-ca} (or the JDK's
     * trust store), with each configured client certificate for its apps.
     */
    public static UpstreamTls http(GatewayConfig config) throws SSLException {
        String ca = config.tls().upstreamCa();
        File trusted = ca == null ? null : config.resolve(ca).toFile();
        Map<String, SslContext> byApp = new HashMap<>();
        for (UpstreamClientCertificateConfig c : config.tls().upstreamClientCertificates()) {
            SslContext ctx = TlsContexts.client(trusted, file(config, c.certificate()), file(config, c.key()));
            c.apps().forEach(app -> byApp.put(app, ctx));
        }
        return new UpstreamTls(TlsContexts.client(trusted), byApp);
    }

    /** The contexts for {@code tls://} streams to TCP apps, with the same client certificates. */
    public static UpstreamTls stream(GatewayConfig config) throws SSLException {
        Map<String, SslContext> byApp = new HashMap<>();
        for (UpstreamClientCertificateConfig c : config.tls().upstreamClientCertificates()) {
            SslContext ctx = TlsContexts.streamClient(file(config, c.certificate()), file(config, c.key()));
            c.apps().forEach(app -> byApp.put(app, ctx));
        }
        return new UpstreamTls(TlsContexts.streamClient(), byApp);
    }

    /** The context for the app's upstream. */
    public SslContext forApp(String app) {
        return byApp.getOrDefault(app, shared);
    }

    private static File file(GatewayConfig config, String path) {
        return config.resolve(path).toFile();
    }
}
