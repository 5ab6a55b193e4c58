package dev.pep.telemetry.audit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * Builds the TLS client context of a sink from PEM files: the CAs it trusts for the receiver
 * and, for mutual TLS, its own certificate chain and unencrypted PKCS#8 key. Stateless.
 */
public final class TlsFiles {

    private TlsFiles() {
    }

    /**
     * A TLS client context.
     *
     * @param caPem the CA certificates that may sign the receiver's certificate; null for the
     *     JDK's default trust store
     * @param certificatePem the client certificate chain, or null for no client certificate
     * @param keyPem its key ({@code BEGIN PRIVATE KEY}, RSA, EC or Ed25519), with the chain
     * @throws IOException when a file cannot be read or holds no usable certificate or key,
     *     naming the file
     */
    public static SSLContext clientContext(Path caPem, Path certificatePem, Path keyPem)
            throws IOException {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(
                    TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(caPem == null ? null : trustStore(caPem));
            KeyManagerFactory kmf = null;
            if (certificatePem != null) {
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(keyStore(certificatePem, keyPem), new char[0]);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build the TLS context: " + e.getMessage(), e);
        }
    }

    private static KeyStore trustStore(Path caPem) throws IOException, GeneralSecurityException {
        KeyStore store = emptyStore();
        int i = 0;
        for (Certificate c : certificates(caPem)) {
            store.setCertificateEntry("ca-" + i++, c);
        }
        return store;
    }

    private static KeyStore keyStore(Path certificatePem, Path keyPem)
            throws IOException, GeneralSecurityException {
        if (keyPem == null) {
            throw new IOException("a client certificate needs its key: " + certificatePem);
        }
        KeyStore store = emptyStore();
        store.setKeyEntry("client", privateKey(keyPem), new char[0],
                certificates(certificatePem).toArray(new Certificate[0]));
        return store;
    }

    private static Collection<? extends Certificate> certificates(Path pem)
            throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(pem)) {
            Collection<? extends Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(in);
            if (certs.isEmpty()) {
                throw new IOException("no certificate in " + pem);
            }
            return certs;
        }
    }

    /**
     * The unencrypted PKCS#8 key ({@code BEGIN PRIVATE KEY}, RSA, EC or Ed25519) in a PEM file.
     *
     * @throws IOException when the file cannot be read or holds no such key; the message names
     *     the file and never quotes its content
     */
    public static PrivateKey privateKey(Path pem) throws IOException {
        String text = Files.readString(pem, StandardCharsets.US_ASCII);
        int begin = text.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = text.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new IOException("expected an unencrypted PKCS#8 key (BEGIN PRIVATE KEY) in "
                    + pem);
        }
        byte[] der = Base64.getMimeDecoder().decode(
                text.substring(begin + "-----BEGIN PRIVATE KEY-----".length(), end));
        for (String algorithm : new String[] {"RSA", "EC", "Ed25519"}) {
            try {
                return KeyFactory.getInstance(algorithm)
                        .generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (GeneralSecurityException e) {
                // Not this algorithm; try the next.
            }
        }
        throw new IOException("the key in " + pem + " is not RSA, EC or Ed25519");
    }

    private static KeyStore emptyStore() throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        store.load(null, null);
        return store;
    }
}
