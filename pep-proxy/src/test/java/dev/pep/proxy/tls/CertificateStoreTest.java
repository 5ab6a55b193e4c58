package dev.pep.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.proxy.config.TlsConfig.TlsProfile;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateStoreTest {

    @TempDir
    Path dir;

    @Test
    void ensure_makesCaOnceThenReusesIt() throws Exception {
        DevelopmentCa ca = new DevelopmentCa(dir, Clock.systemUTC(), new SecureRandom());

        assertThat(ca.ensure(List.of("*.pep.localhost"))).isTrue();
        String first = Files.readString(ca.caFile());
        assertThat(ca.ensure(List.of("*.pep.localhost"))).isFalse();
        assertThat(Files.readString(ca.caFile())).isEqualTo(first);
        assertThat(Files.getPosixFilePermissions(ca.keyFile())).containsExactlyInAnyOrder(
                java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);
    }

    @Test
    void map_bySni_wildcardAndDefault() throws Exception {
        CertificateStore store = store(dir.resolve("a"), "*.pep.localhost");

        SslContext forHost = store.map("demo.pep.localhost");
        assertThat(forHost).isNotNull();
        assertThat(store.map(null)).isSameAs(forHost);
        assertThat(store.map("DEMO.PEP.LOCALHOST")).isSameAs(forHost);
    }

    @Test
    void reloadIfChanged_newFiles_swapped_brokenFiles_keptOld() throws Exception {
        Path a = dir.resolve("a");
        CertificateStore store = store(a, "*.pep.localhost");
        SslContext before = store.map("demo.pep.localhost");
        assertThat(store.reloadIfChanged()).isFalse();

        DevelopmentCa other = new DevelopmentCa(dir.resolve("b"), Clock.systemUTC(), new SecureRandom());
        other.ensure(List.of("*.pep.localhost"));
        Files.copy(other.certFile(), a.resolve(DevelopmentCa.CERT_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(other.keyFile(), a.resolve(DevelopmentCa.KEY_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        touch(a, 10);
        assertThat(store.reloadIfChanged()).isTrue();
        SslContext after = store.map("demo.pep.localhost");
        assertThat(after).isNotSameAs(before);

        Files.writeString(a.resolve(DevelopmentCa.KEY_FILE), "not a key");
        touch(a, 20);
        assertThat(store.reloadIfChanged()).isFalse();
        assertThat(store.map("demo.pep.localhost")).isSameAs(after);
    }

    @Test
    void reloadIfChanged_deviceCasChanged_newContextsAskForThem() throws Exception {
        DevelopmentCa ca = new DevelopmentCa(dir.resolve("a"), Clock.systemUTC(), new SecureRandom());
        ca.ensure(List.of("*.pep.localhost"));
        X509Certificate deviceCa = (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(Files.newInputStream(ca.caFile()));
        AtomicReference<List<X509Certificate>> issuers = new AtomicReference<>(List.of());
        CertificateStore store = new CertificateStore(List.of(new CertificateStore.Entry(
                List.of("*.pep.localhost"), ca.certFile(), ca.keyFile())), TlsProfile.INTERMEDIATE,
                issuers::get);
        SslContext before = store.map("demo.pep.localhost");
        assertThat(store.reloadIfChanged()).isFalse();

        issuers.set(List.of(deviceCa));

        assertThat(store.reloadIfChanged()).isTrue();
        assertThat(store.map("demo.pep.localhost")).isNotSameAs(before);
        assertThat(store.reloadIfChanged()).as("same CAs again: nothing to do").isFalse();
    }

    private static void touch(Path d, int seconds) throws Exception {
        FileTime t = FileTime.from(Instant.now().plusSeconds(seconds));
        Files.setLastModifiedTime(d.resolve(DevelopmentCa.CERT_FILE), t);
        Files.setLastModifiedTime(d.resolve(DevelopmentCa.KEY_FILE), t);
    }

    private static CertificateStore store(Path d, String host) throws Exception {
        DevelopmentCa ca = new DevelopmentCa(d, Clock.systemUTC(), new SecureRandom());
        ca.ensure(List.of(host));
        return new CertificateStore(List.of(new CertificateStore.Entry(List.of(host), ca.certFile(), ca.keyFile())),
                TlsProfile.INTERMEDIATE);
    }
}
