package dev.pep.identity.posture;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import dev.pep.identity.testing.TestCredentials;
import dev.pep.identity.x509.TrustBundle;
import dev.pep.identity.x509.TrustBundleFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeviceCertificateProviderTest {

    static final TestPki PKI = new TestPki("CN=Northwind Device CA,O=Northwind");
    static final TestPki OTHER = new TestPki("CN=Northwind Device CA,O=Northwind");

    @TempDir
    Path dir;

    static DeviceCertificateProvider provider(List<X509CRL> crls,
            DeviceCertificateProvider.DeviceIdField field) {
        return new DeviceCertificateProvider(new DeviceCertificateProvider.Config("depot-devices",
                TrustBundle.of(List.of(PKI.ca), crls), field,
                Map.of("asset-tag", TestPki.ASSET_TAG_OID)), Clock.systemUTC(), Runnable::run);
    }

    static DevicePosture assess(DeviceCertificateProvider p, X509Certificate... chain) {
        List<PostureSignal> signals = p.assess(Subject.anonymous(), TestCredentials.of(
                "logistics.partners.example", Map.of(), List.of(chain), Instant.now()))
                .toCompletableFuture().join();
        return PostureAssessor.merge(signals);
    }

    static Object value(DevicePosture posture, String name) {
        return posture.signal(name).map(PostureSignal::value).orElse(null);
    }

    @Test
    void assess_validDeviceCertificate_managedWithCertificateAttributes() throws Exception {
        Path bundle = dir.resolve("device-ca.pem");
        Files.writeString(bundle, TestPki.pem("CERTIFICATE", PKI.ca.getEncoded()));
        var provider = new DeviceCertificateProvider(new DeviceCertificateProvider.Config(
                "depot-devices", TrustBundle.load(bundle, List.of()),
                DeviceCertificateProvider.DeviceIdField.SAN_URI,
                Map.of("asset-tag", TestPki.ASSET_TAG_OID)), Clock.systemUTC(), Runnable::run);
        X509Certificate cert = PKI.device("laptop-17");

        DevicePosture posture = assess(provider, cert);

        assertThat(posture.managed()).isTrue();
        assertThat(value(posture, "certificate.status")).isEqualTo("valid");
        assertThat(value(posture, "device_id")).isEqualTo("urn:device:laptop-17");
        // RFC 2253 strings, as X500Principal.getName() writes them.
        assertThat(value(posture, "certificate.issuer"))
                .isEqualTo(PKI.ca.getSubjectX500Principal().getName());
        assertThat((String) value(posture, "certificate.subject"))
                .isEqualTo(cert.getSubjectX500Principal().getName()).contains("CN=laptop-17");
        assertThat(value(posture, "certificate.serial")).isEqualTo(cert.getSerialNumber().toString(16));
        assertThat(value(posture, "certificate.not_after"))
                .isEqualTo(cert.getNotAfter().toInstant().toString());
        assertThat(value(posture, "certificate.asset-tag")).isEqualTo("AT-laptop-17");
        assertThat(posture.signal("managed").orElseThrow().source()).isEqualTo("depot-devices");
    }

    @Test
    void assess_chainIncludingTheCa_valid() {
        DevicePosture posture = assess(provider(List.of(),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN), PKI.device("laptop-3"), PKI.ca);

        assertThat(posture.managed()).isTrue();
        assertThat(value(posture, "device_id")).isEqualTo("laptop-3");
    }

    @Test
    void assess_noCertificate_absentAndUnmanaged() {
        DevicePosture posture = assess(provider(List.of(),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN));

        assertThat(posture.managed()).isFalse();
        assertThat(posture.signals()).containsOnlyKeys("certificate.status");
        assertThat(value(posture, "certificate.status")).isEqualTo("absent");
    }

    @Test
    void assess_expiredCertificate_expiredAndUnmanaged() {
        X509Certificate expired = PKI.device("old-laptop", Instant.now().minus(Duration.ofDays(40)),
                Duration.ofDays(30), null, null);

        DevicePosture posture = assess(provider(List.of(),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN), expired);

        assertThat(posture.managed()).isFalse();
        assertThat(posture.signals()).containsOnlyKeys("certificate.status");
        assertThat(value(posture, "certificate.status")).isEqualTo("expired");
    }

    @Test
    void assess_notYetValidCertificate_notYetValid() {
        X509Certificate future = PKI.device("new-laptop", Instant.now().plus(Duration.ofDays(1)),
                Duration.ofDays(30), null, null);

        DevicePosture posture = assess(provider(List.of(),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN), future);

        assertThat(value(posture, "certificate.status")).isEqualTo("not_yet_valid");
        assertThat(posture.managed()).isFalse();
    }

    @Test
    void assess_revokedByCrl_revokedAndUnmanaged() {
        X509Certificate stolen = PKI.device("stolen-laptop");

        DevicePosture posture = assess(provider(List.of(PKI.crl(stolen)),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN), stolen);

        assertThat(value(posture, "certificate.status")).isEqualTo("revoked");
        assertThat(posture.managed()).isFalse();
    }

    @Test
    void assess_crlRevokingAnother_valid() {
        DevicePosture posture = assess(provider(List.of(PKI.crl(PKI.device("stolen"))),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN), PKI.device("laptop-9"));

        assertThat(posture.managed()).isTrue();
    }

    @Test
    void assess_forgedByCaWithSameName_untrusted() {
        // Another key pair behind the same CA name: what a forger would make.
        X509Certificate forged = OTHER.device("laptop-17");

        DevicePosture posture = assess(provider(List.of(),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN), forged);

        assertThat(value(posture, "certificate.status")).isEqualTo("untrusted");
        assertThat(posture.managed()).isFalse();
        assertThat(posture.signals()).doesNotContainKey("device_id");
    }

    @Test
    void assess_leafNotForClientAuthentication_untrusted() {
        DevicePosture posture = assess(provider(List.of(),
                DeviceCertificateProvider.DeviceIdField.SUBJECT_CN), PKI.serverOnly("server-1"));

        assertThat(value(posture, "certificate.status")).isEqualTo("untrusted");
    }

    @Test
    void assess_crlFileRewrittenAfterStart_revokedFromTheNextAssessment() throws Exception {
        X509Certificate laptop = PKI.device("laptop-40");
        Path bundle = dir.resolve("device-ca.pem");
        Path crl = dir.resolve("device-ca.crl");
        Files.writeString(bundle, TestPki.pem("CERTIFICATE", PKI.ca.getEncoded()));
        Files.writeString(crl, TestPki.pem("X509 CRL", PKI.crl().getEncoded()));
        TrustBundleFiles files = TrustBundleFiles.load(bundle, List.of(crl));
        var provider = new DeviceCertificateProvider(new DeviceCertificateProvider.Config("d",
                files.current(), DeviceCertificateProvider.DeviceIdField.SERIAL, Map.of()),
                Clock.systemUTC(), Runnable::run);
        assertThat(assess(provider, laptop).managed()).as("managed, and its verdict cached").isTrue();

        Files.writeString(crl, TestPki.pem("X509 CRL", PKI.crl(laptop).getEncoded()));
        files.reloadIfChanged().ifPresent(provider::trust);

        DevicePosture posture = assess(provider, laptop);
        assertThat(posture.managed()).isFalse();
        assertThat(value(posture, "certificate.status")).isEqualTo("revoked");
    }

    @Test
    void assess_crlFileBrokenAfterStart_previousRevocationsKept() throws Exception {
        X509Certificate laptop = PKI.device("laptop-41");
        Path bundle = dir.resolve("device-ca.pem");
        Path crl = dir.resolve("device-ca.crl");
        Files.writeString(bundle, TestPki.pem("CERTIFICATE", PKI.ca.getEncoded()));
        Files.writeString(crl, TestPki.pem("X509 CRL", PKI.crl(laptop).getEncoded()));
        TrustBundleFiles files = TrustBundleFiles.load(bundle, List.of(crl));
        var provider = new DeviceCertificateProvider(new DeviceCertificateProvider.Config("d",
                files.current(), DeviceCertificateProvider.DeviceIdField.SERIAL, Map.of()),
                Clock.systemUTC(), Runnable::run);

        Files.writeString(crl, "-----BEGIN X509 CRL-----\nbm90IGEgQ1JM\n-----END X509 CRL-----\n");

        assertThat(files.reloadIfChanged()).isEmpty();
        assertThat(files.current().crls()).hasSize(1);
        assertThat(value(assess(provider, laptop), "certificate.status")).isEqualTo("revoked");
    }

    @Test
    void assess_deviceCaAddedAfterStart_trustedFromTheNextAssessment() throws Exception {
        Path bundle = dir.resolve("device-ca.pem");
        Files.writeString(bundle, TestPki.pem("CERTIFICATE", PKI.ca.getEncoded()));
        TrustBundleFiles files = TrustBundleFiles.load(bundle, List.of());
        var provider = new DeviceCertificateProvider(new DeviceCertificateProvider.Config("d",
                files.current(), DeviceCertificateProvider.DeviceIdField.SERIAL, Map.of()),
                Clock.systemUTC(), Runnable::run);
        X509Certificate other = OTHER.device("tablet-3");
        assertThat(value(assess(provider, other), "certificate.status")).isEqualTo("untrusted");

        Files.writeString(bundle, TestPki.pem("CERTIFICATE", PKI.ca.getEncoded())
                + TestPki.pem("CERTIFICATE", OTHER.ca.getEncoded()));
        files.reloadIfChanged().ifPresent(provider::trust);

        assertThat(assess(provider, other).managed()).isTrue();
        assertThat(files.reloadIfChanged()).as("unchanged content is not read again").isEmpty();
    }

    @Test
    void config_badExtensionOid_refusedNamingIt() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() ->
                new DeviceCertificateProvider.Config("d", TrustBundle.of(List.of(PKI.ca), List.of()),
                        DeviceCertificateProvider.DeviceIdField.SERIAL, Map.of("tag", "not-an-oid")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tag").hasMessageContaining("not-an-oid");
    }
}
