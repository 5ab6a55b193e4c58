package dev.pep.proxy.config;

import dev.pep.proxy.config.TlsConfig.UpstreamClientCertificateConfig;
import dev.pep.telemetry.audit.TlsFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Checks {@code tls.upstream-client-certificates}: app names, and that each certificate file
 * holds a chain and each key file a key that belongs to its leaf. Messages name the files, never
 * a key's content.
 */
final class UpstreamCertificateValidator {

    private static final Pattern APP_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final String PREFIX = "tls.upstream-client-certificates.";

    private final BiConsumer<String, String> problems;
    private final Function<String, Path> resolve;
    private final Set<String> apps = new HashSet<>();

    UpstreamCertificateValidator(BiConsumer<String, String> problems, Function<String, Path> resolve) {
        this.problems = problems;
        this.resolve = resolve;
    }

    void check(List<UpstreamClientCertificateConfig> certificates) {
        for (int i = 0; i < certificates.size(); i++) {
            check(PREFIX + i, certificates.get(i));
        }
    }

    private void check(String key, UpstreamClientCertificateConfig c) {
        if (c.apps().isEmpty()) {
            problems.accept(key + ".apps", "no apps; expected the names of the apps whose upstreams get "
                    + "this certificate");
        }
        for (String app : c.apps()) {
            if (app == null || !APP_NAME.matcher(app).matches()) {
                problems.accept(key + ".apps", "invalid app name '" + app
                        + "'; expected lower-case letters, digits, '-' or '_'");
            } else if (!apps.add(app)) {
                problems.accept(key + ".apps", "app '" + app + "' already has a client certificate");
            }
        }
        Certificate leaf = leaf(key + ".certificate", c.certificate());
        PrivateKey privateKey = privateKey(key + ".key", c.key());
        if (leaf != null && privateKey != null && !belongs(privateKey, leaf)) {
            problems.accept(key + ".key", "the key in '" + Path.of(c.key())
                    + "' does not belong to the certificate in '" + Path.of(c.certificate()) + "'");
        }
    }

    private Certificate leaf(String key, String path) {
        if (!readable(key, path, "a PEM certificate chain, leaf first")) {
            return null;
        }
        try (InputStream in = Files.newInputStream(resolve.apply(path))) {
            var chain = CertificateFactory.getInstance("X.509").generateCertificates(in);
            if (!chain.isEmpty()) {
                return chain.iterator().next();
            }
        } catch (IOException | CertificateException e) {
            // Reported below, as for an empty file.
        }
        problems.accept(key, "no certificate in '" + Path.of(path) + "'; expected a PEM certificate chain");
        return null;
    }

    private PrivateKey privateKey(String key, String path) {
        if (!readable(key, path, "a PEM PKCS#8 private key")) {
            return null;
        }
        try {
            return TlsFiles.privateKey(resolve.apply(path));
        } catch (IOException e) {
            problems.accept(key, "no usable key in '" + Path.of(path)
                    + "'; expected an unencrypted PKCS#8 RSA, EC or Ed25519 key (BEGIN PRIVATE KEY)");
            return null;
        }
    }

    private boolean readable(String key, String path, String expected) {
        if (path == null) {
            problems.accept(key, "missing; expected " + expected);
            return false;
        }
        if (!Files.isReadable(resolve.apply(path))) {
            problems.accept(key, "cannot read file '" + Path.of(path) + "'");
            return false;
        }
        return true;
    }

    /** Whether a signature made with the key verifies with the certificate's public key. */
    private static boolean belongs(PrivateKey key, Certificate leaf) {
        String algorithm = switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            default -> "Ed25519";
        };
        byte[] probe = "pep upstream client certificate".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature sign = Signature.getInstance(algorithm);
            sign.initSign(key);
            sign.update(probe);
            byte[] signature = sign.sign();
            Signature verify = Signature.getInstance(algorithm);
            verify.initVerify(leaf.getPublicKey());
            verify.update(probe);
            return verify.verify(signature);
        } catch (GeneralSecurityException e) {
            return false;
        }
    }
}
