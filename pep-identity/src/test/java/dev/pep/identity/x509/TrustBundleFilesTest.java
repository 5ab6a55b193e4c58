package dev.pep.identity.x509;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pep.identity.testing.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrustBundleFilesTest {

    @TempDir
    Path dir;

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    @Test
    void reloadIfChanged_newContentLoads_brokenContentKeepsTheBundleAndIsCounted() throws Exception {
        TestPki.Ca first = TestPki.root("CN=First CA");
        TestPki.Ca second = TestPki.root("CN=Second CA");
        Path ca = Files.writeString(dir.resolve("ca.pem"), pem("CERTIFICATE", first.cert().getEncoded()));
        Path crl = Files.writeString(dir.resolve("ca.crl"), pem("X509 CRL", first.crl().getEncoded()));
        TrustBundleFiles files = TrustBundleFiles.load(ca, List.of(crl));

        assertThat(files.reloadIfChanged()).as("unchanged").isEmpty();

        Files.writeString(ca, pem("CERTIFICATE", second.cert().getEncoded()));
        Files.writeString(crl, pem("X509 CRL", second.crl(first.cert()).getEncoded()));
        assertThat(files.reloadIfChanged()).isPresent();
        assertThat(files.current().anchors()).extracting(a -> a.getTrustedCert()).containsExactly(second.cert());
        assertThat(files.current().crls()).hasSize(1);
        TrustBundle inForce = files.current();

        Files.writeString(crl, "-----BEGIN X509 CRL-----\nbroken\n-----END X509 CRL-----\n");
        assertThat(files.reloadIfChanged()).isEmpty();
        assertThat(files.reloadIfChanged()).as("tried again at every check").isEmpty();
        assertThat(files.current()).isSameAs(inForce);
        assertThat(files.fresh(java.time.Instant.now())).as("the last check failed").isFalse();
        assertThat(files.reloadFailures()).isEqualTo(2);
    }

    @Test
    void load_emptyCrlFile_refused_revocationNeverQuietlyOff() throws Exception {
        TestPki.Ca ca = TestPki.root("CN=Fleet CA");
        Path bundle = Files.writeString(dir.resolve("ca.pem"), pem("CERTIFICATE", ca.cert().getEncoded()));
        // As a reload may find it while the file is being rewritten: the JDK reads it as no CRL.
        Path crl = Files.writeString(dir.resolve("ca.crl"), "");

        assertThatThrownBy(() -> TrustBundle.load(bundle, List.of(crl))).isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("no CRL in");
    }
}
