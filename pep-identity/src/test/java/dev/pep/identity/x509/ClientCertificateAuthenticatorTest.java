package dev.pep.identity.x509;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.identity.IdentityReasons;
import dev.pep.identity.testing.TestCertificates;
import dev.pep.identity.testing.TestCredentials;
import dev.pep.identity.testing.TestPki;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class ClientCertificateAuthenticatorTest {

    static final String HOST = "logistics.partners.example";
    static final KeyPair CA_KEYS = TestCertificates.ecKeyPair();
    static final X509Certificate CA = TestCertificates.ca("CN=Partner A CA,O=Partner A", CA_KEYS);
    static final KeyPair OTHER_CA_KEYS = TestCertificates.ecKeyPair();
    static final X509Certificate OTHER_CA = TestCertificates.ca("CN=Other CA", OTHER_CA_KEYS);
    static final X509Certificate ALICE = TestCertificates.leaf(
            "CN=alice,OU=coalition-logistics,O=Partner A", TestCertificates.ecKeyPair().getPublic(),
            CA, CA_KEYS.getPrivate(), "alice@partner-a.example");

    @TempDir
    Path dir;

    static AuthenticationResult present(ClientCertificateAuthenticator authenticator, String host,
            X509Certificate... chain) {
        return authenticator.authenticate(TestCredentials.of(host, Map.of(), List.of(chain),
                Instant.now()));
    }

    static void assertRejected(AuthenticationResult result, String code) {
        assertThat(result).isInstanceOf(AuthenticationResult.Rejected.class);
        assertThat(((AuthenticationResult.Rejected) result).reason().code()).isEqualTo(code);
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder().encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    @Test
    void authenticate_trustedChain_mapsCertificateFields() throws Exception {
        Path bundle = dir.resolve("partner-a.pem");
        Files.writeString(bundle, pem("CERTIFICATE", CA.getEncoded()));
        var authenticator = ClientCertificateAuthenticator.of(TrustBundle.load(bundle, List.of()),
                ClientCertificateAuthenticator.IdField.COMMON_NAME);

        AuthenticationResult result = present(authenticator, HOST, ALICE);

        assertThat(result).isInstanceOf(AuthenticationResult.Authenticated.class);
        var subject = ((AuthenticationResult.Authenticated) result).subject();
        assertThat(subject.id()).isEqualTo("alice");
        assertThat(subject.organisation()).isEqualTo("Partner A");
        assertThat(subject.email()).isEqualTo("alice@partner-a.example");
        assertThat(subject.groups()).containsExactly("coalition-logistics");
        assertThat(subject.method()).isEqualTo(AuthenticationMethod.CLIENT_CERTIFICATE);
    }

    @Test
    void authenticate_sanEmailAsId() {
        var authenticator = ClientCertificateAuthenticator.of(TrustBundle.of(List.of(CA), List.of()),
                ClientCertificateAuthenticator.IdField.SAN_EMAIL);

        var result = (AuthenticationResult.Authenticated) present(authenticator, HOST, ALICE);

        assertThat(result.subject().id()).isEqualTo("alice@partner-a.example");
    }

    @Test
    void authenticate_anotherPartnersCa_untrusted() {
        var authenticator = ClientCertificateAuthenticator.of(TrustBundle.of(List.of(OTHER_CA), List.of()),
                ClientCertificateAuthenticator.IdField.COMMON_NAME);

        assertRejected(present(authenticator, HOST, ALICE), IdentityReasons.CERTIFICATE_UNTRUSTED);
    }

    @Test
    void authenticate_selfSignedLeaf_untrusted() {
        KeyPair keys = TestCertificates.ecKeyPair();
        X509Certificate forged = TestCertificates.ca("CN=alice,O=Partner A", keys);
        var authenticator = ClientCertificateAuthenticator.of(TrustBundle.of(List.of(CA), List.of()),
                ClientCertificateAuthenticator.IdField.COMMON_NAME);

        assertRejected(present(authenticator, HOST, forged), IdentityReasons.CERTIFICATE_UNTRUSTED);
    }

    @Test
    void authenticate_revokedByCrlFile_revoked() throws Exception {
        Path crlFile = dir.resolve("partner-a.crl");
        Files.writeString(crlFile, pem("X509 CRL",
                TestCertificates.crl(CA, CA_KEYS.getPrivate(), ALICE).getEncoded()));
        Path bundle = dir.resolve("partner-a.pem");
        Files.writeString(bundle, pem("CERTIFICATE", CA.getEncoded()));
        var authenticator = ClientCertificateAuthenticator.of(TrustBundle.load(bundle, List.of(crlFile)),
                ClientCertificateAuthenticator.IdField.COMMON_NAME);

        assertRejected(present(authenticator, HOST, ALICE), IdentityReasons.CERTIFICATE_REVOKED);
    }

    @Test
    void authenticate_crlNotRevokingLeaf_authenticated() {
        X509Certificate bob = TestCertificates.leaf("CN=bob,O=Partner A",
                TestCertificates.ecKeyPair().getPublic(), CA, CA_KEYS.getPrivate(), null);
        var authenticator = ClientCertificateAuthenticator.of(TrustBundle.of(
                List.of(CA), List.of(TestCertificates.crl(CA, CA_KEYS.getPrivate(), bob))),
                ClientCertificateAuthenticator.IdField.COMMON_NAME);

        assertThat(present(authenticator, HOST, ALICE))
                .isInstanceOf(AuthenticationResult.Authenticated.class);
    }

    @Test
    void authenticate_noCertificate_notPresented() {
        var authenticator = ClientCertificateAuthenticator.of(TrustBundle.of(List.of(CA), List.of()),
                ClientCertificateAuthenticator.IdField.COMMON_NAME);

        assertThat(present(authenticator, HOST))
                .isInstanceOf(AuthenticationResult.NotPresented.class);
    }

    @ParameterizedTest
    @EnumSource(value = ChainValidator.Outcome.class, mode = EnumSource.Mode.EXCLUDE, names = "VALID")
    void reason_everyRefusal_hasItsOwnIdentityReasonCode(ChainValidator.Outcome outcome) {
        String code = ClientCertificateAuthenticator.reason(outcome);

        assertThat(IdentityReasons.codes()).contains(code);
        assertThat(java.util.Arrays.stream(ChainValidator.Outcome.values())
                .filter(o -> o != ChainValidator.Outcome.VALID && o != outcome)
                .map(ClientCertificateAuthenticator::reason)).doesNotContain(code);
    }

    @Test
    void authenticate_refusedChains_carryTheirReasonCodes() {
        TestPki.Ca root = TestPki.root("CN=Partner Root");
        var authenticator = ClientCertificateAuthenticator.of(TrustBundle.of(List.of(root.cert()),
                List.of()), ClientCertificateAuthenticator.IdField.COMMON_NAME);
        Instant now = Instant.now();

        assertRejected(present(authenticator, HOST, root.issue("CN=old").validity(now.minusSeconds(7200),
                now.minusSeconds(60)).build()), IdentityReasons.CERTIFICATE_EXPIRED);
        assertRejected(present(authenticator, HOST, root.issue("CN=early").validity(now.plusSeconds(3600),
                now.plusSeconds(7200)).build()), IdentityReasons.CERTIFICATE_NOT_YET_VALID);
        assertRejected(present(authenticator, HOST, root.issue("CN=web")
                .purposes(KeyPurposeId.id_kp_serverAuth).build()), IdentityReasons.CERTIFICATE_WRONG_USAGE);
        TestPki.Ca notCa = root.issue("CN=Not A CA").signingButNotCa(false).buildCa();
        assertRejected(present(authenticator, HOST, notCa.issue("CN=carol").build(), notCa.cert()),
                IdentityReasons.CERTIFICATE_CHAIN_INVALID);
        var withStaleCrl = ClientCertificateAuthenticator.of(TrustBundle.of(List.of(root.cert()),
                List.of(root.crl(now.minusSeconds(7200), now.minusSeconds(60), root.keys()))),
                ClientCertificateAuthenticator.IdField.COMMON_NAME);
        assertRejected(present(withStaleCrl, HOST, root.issue("CN=dora").build()),
                IdentityReasons.CERTIFICATE_REVOCATION_UNKNOWN);
    }

    @Test
    void authenticate_readsTheBundleInForceAtEachRequest() {
        AtomicReference<TrustBundle> trust = new AtomicReference<>(TrustBundle.of(List.of(OTHER_CA), List.of()));
        var authenticator = new ClientCertificateAuthenticator(trust::get,
                ClientCertificateAuthenticator.IdField.COMMON_NAME);

        assertRejected(present(authenticator, HOST, ALICE), IdentityReasons.CERTIFICATE_UNTRUSTED);
        trust.set(TrustBundle.of(List.of(CA), List.of()));
        assertThat(present(authenticator, HOST, ALICE)).isInstanceOf(AuthenticationResult.Authenticated.class);
        trust.set(TrustBundle.of(List.of(CA), List.of(TestCertificates.crl(CA, CA_KEYS.getPrivate(), ALICE))));
        assertRejected(present(authenticator, HOST, ALICE), IdentityReasons.CERTIFICATE_REVOKED);
    }
}
