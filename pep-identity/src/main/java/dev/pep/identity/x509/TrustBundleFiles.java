package dev.pep.identity.x509;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509CRL;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link TrustBundle} read from a CA bundle file and CRL files, read again when their content
 * changes. A new content that does not load keeps the bundle in force and is tried again on
 * every check until it loads or reverts. Thread-safe.
 */
public final class TrustBundleFiles {

    private static final Logger LOG = LoggerFactory.getLogger(TrustBundleFiles.class);

    private final Path caBundle;
    private final List<Path> crls;
    private final AtomicReference<Loaded> current = new AtomicReference<>();
    private final AtomicLong reloadFailures = new AtomicLong();
    private volatile boolean lastReloadFailed;

    private TrustBundleFiles(Path caBundle, List<Path> crls, Loaded loaded) {
        this.caBundle = caBundle;
        this.crls = crls;
        this.current.set(loaded);
    }

    /**
     * Reads the files now.
     *
     * @throws IOException naming the file that cannot be read or parsed
     */
    public static TrustBundleFiles load(Path caBundle, List<Path> crlFiles) throws IOException {
        List<Path> crls = List.copyOf(crlFiles);
        byte[] digest = digest(caBundle, crls);
        return new TrustBundleFiles(caBundle, crls,
                new Loaded(TrustBundle.load(caBundle, crls), digest));
    }

    /** The bundle in force. */
    public TrustBundle current() {
        return current.get().bundle();
    }

    /**
     * Reads the files again when their content changed.
     *
     * @return the new bundle, now in force; empty when nothing changed or the change did not load
     */
    public Optional<TrustBundle> reloadIfChanged() {
        Loaded old = current.get();
        try {
            byte[] digest = digest(caBundle, crls);
            if (MessageDigest.isEqual(digest, old.digest())) {
                lastReloadFailed = false;
                return Optional.empty();
            }
            TrustBundle bundle = TrustBundle.load(caBundle, crls);
            current.set(new Loaded(bundle, digest));
            lastReloadFailed = false;
            LOG.info("trust bundle reloaded ca_bundle={} cas={} crls={}", caBundle,
                    bundle.anchors().size(), bundle.crls().size());
            return Optional.of(bundle);
        } catch (IOException e) {
            reloadFailures.incrementAndGet();
            lastReloadFailed = true;
            // A CRL being rewritten, or a broken one: revocations already known stay in force.
            LOG.warn("trust bundle reload refused, keeping the previous one ca_bundle={} error={}",
                    caBundle, e.getMessage());
            return Optional.empty();
        }
    }

    /**
     * Whether the files in force are fresh at {@code now}: the last check read them (or found
     * them unchanged) and no CRL is past its {@code nextUpdate}. For provider health metrics.
     */
    public boolean fresh(Instant now) {
        if (lastReloadFailed) {
            return false;
        }
        return current().crls().stream().map(X509CRL::getNextUpdate)
                .allMatch(next -> next == null || now.isBefore(next.toInstant()));
    }

    /** How many checks found changed files that did not load, since start. */
    public long reloadFailures() {
        return reloadFailures.get();
    }

    /** The SHA-256 over every file's content, in order: the change detector. */
    private static byte[] digest(Path caBundle, List<Path> crls) throws IOException {
        List<Path> files = new ArrayList<>();
        files.add(caBundle);
        files.addAll(crls);
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                byte[] content = Files.readAllBytes(f);
                sha.update(content);
                // Length-prefixed, so moving bytes from one file to the next is a change.
                sha.update(Long.toString(content.length).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private record Loaded(TrustBundle bundle, byte[] digest) {
    }
}
