package dev.pep.proxy.tls;

import dev.pep.proxy.config.TlsConfig.TlsProfile;
import io.netty.handler.ssl.SslContext;
import io.netty.util.DomainWildcardMappingBuilder;
import io.netty.util.Mapping;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server certificates by host name, for SNI. Thread-safe: lookups read one immutable
 * mapping; {@link #reloadIfChanged()} swaps in a new one when a file changed and keeps the old
 * one when the new files do not load.
 */
public final class CertificateStore implements Mapping<String, SslContext> {

    private static final Logger LOG = LoggerFactory.getLogger(CertificateStore.class);

    private final List<Entry> entries;
    private final TlsProfile profile;
    private final Supplier<List<X509Certificate>> clientIssuers;
    private final AtomicReference<Contexts> current = new AtomicReference<>();
    private volatile List<FileTime> stamps;
    private volatile List<X509Certificate> issuersNamed;

    /** A store over those certificates; loads them now and throws when one does not load. */
    public CertificateStore(List<Entry> entries, TlsProfile profile) throws IOException {
        this(entries, profile, List.of());
    }

    /**
     * A store whose contexts also ask clients for a certificate of {@code clientIssuers} (device
     * CAs); none: no client certificate is asked for.
     */
    public CertificateStore(List<Entry> entries, TlsProfile profile,
            List<X509Certificate> clientIssuers) throws IOException {
        this(entries, profile, constant(List.copyOf(clientIssuers)));
    }

    /**
     * A store whose contexts ask for a certificate of the device CAs {@code clientIssuers} names
     * at each {@link #reloadIfChanged()} (CA files that change); an empty list: none asked for.
     */
    public CertificateStore(List<Entry> entries, TlsProfile profile,
            Supplier<List<X509Certificate>> clientIssuers) throws IOException {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no certificate configured");
        }
        this.entries = List.copyOf(entries);
        this.profile = profile;
        this.clientIssuers = clientIssuers;
        this.stamps = stamps();
        this.issuersNamed = List.copyOf(clientIssuers.get());
        current.set(build(issuersNamed));
    }

    @Override
    public SslContext map(String host) {
        String h = host == null ? null : host.toLowerCase(Locale.ROOT);
        return current.get().http().map(h);
    }

    /**
     * The context for a host whose connections are spliced to a TCP app: the same certificate
     * and client-certificate request, but no application protocol is selected (ALPN).
     */
    public SslContext streamContext(String host) {
        return current.get().stream().map(host.toLowerCase(Locale.ROOT));
    }

    /**
     * Reloads when any file's modification time or the device CAs to name changed. A reload that
     * fails keeps the running certificates and logs why.
     *
     * @return true when new certificates are in use
     */
    public boolean reloadIfChanged() {
        List<FileTime> now;
        try {
            now = stamps();
        } catch (IOException e) {
            LOG.warn("certificate files unreadable, keeping current certificates error={}", e.toString());
            return false;
        }
        List<X509Certificate> issuers;
        try {
            issuers = List.copyOf(clientIssuers.get());
        } catch (RuntimeException e) {
            LOG.warn("device CAs unreadable, keeping current certificates error={}", e.toString());
            return false;
        }
        if (now.equals(stamps) && issuers.equals(issuersNamed)) {
            return false;
        }
        try {
            current.set(build(issuers));
            stamps = now;
            issuersNamed = issuers;
            LOG.info("certificates reloaded files={} device_cas={}", entries.size(), issuers.size());
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("certificate reload refused, keeping current certificates error={}", e.toString());
            return false;
        }
    }

    private Contexts build(List<X509Certificate> issuers) throws IOException {
        return new Contexts(build(issuers, false), build(issuers, true));
    }

    private Mapping<String, SslContext> build(List<X509Certificate> issuers, boolean stream)
            throws IOException {
        List<SslContext> contexts = new ArrayList<>();
        for (Entry e : entries) {
            contexts.add(TlsContexts.server(e.chain().toFile(), e.key().toFile(), profile,
                    issuers, stream));
        }
        // The first certificate answers clients that send no SNI or an unknown name; the router
        // still refuses unknown hosts with 404, so this only decides which certificate they see.
        var builder = new DomainWildcardMappingBuilder<>(contexts.get(0));
        for (int i = 0; i < entries.size(); i++) {
            for (String host : entries.get(i).hosts()) {
                builder.add(host.toLowerCase(Locale.ROOT), contexts.get(i));
            }
        }
        return builder.build();
    }

    private static Supplier<List<X509Certificate>> constant(List<X509Certificate> issuers) {
        return () -> issuers;
    }

    private List<FileTime> stamps() throws IOException {
        List<FileTime> out = new ArrayList<>();
        for (Entry e : entries) {
            out.add(Files.getLastModifiedTime(e.chain()));
            out.add(Files.getLastModifiedTime(e.key()));
        }
        return out;
    }

    /**
     * One certificate.
     *
     * @param hosts host names, {@code *.example.org} for one label
     * @param chain PEM chain, leaf first
     * @param key PEM PKCS#8 key
     */
    public record Entry(List<String> hosts, Path chain, Path key) {
        /** Copies. */
        public Entry {
            hosts = List.copyOf(hosts);
        }
    }

    /** The contexts of every host: with ALPN for HTTP, without for spliced TCP. */
    private record Contexts(Mapping<String, SslContext> http, Mapping<String, SslContext> stream) {
    }
}
