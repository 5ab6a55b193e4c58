package dev.pep.identity.x509;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pep.identity.testing.TestPki;
import dev.pep.identity.x509.ChainValidator.Outcome;
import java.security.Security;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Chains made by BouncyCastle in the test, judged by {@link ChainValidator}: one row per check. */
class ChainValidatorTest {

    static final Instant NOW = Instant.now();
    static final TestPki.Ca ROOT = TestPki.root("CN=Partner Root,O=Partner A");
    static final TestPki.Ca ISSUING = ROOT.issue("CN=Partner Issuing CA,O=Partner A").ca(0).buildCa();
    static final X509Certificate ALICE = ISSUING.issue("CN=alice,O=Partner A").build();
    static final TrustBundle TRUST_ROOT = TrustBundle.of(List.of(ROOT.cert()), List.of());

    /** A chain, a bundle and the outcome expected. */
    record Row(List<X509Certificate> chain, TrustBundle bundle, Outcome expected) {
    }

    static Stream<Arguments> rows() {
        return Stream.of(
                row("valid chain through an issuing CA", () -> new Row(
                        List.of(ALICE, ISSUING.cert()), TRUST_ROOT, Outcome.VALID)),
                row("valid chain, the root sent too", () -> new Row(
                        List.of(ALICE, ISSUING.cert(), ROOT.cert()), TRUST_ROOT, Outcome.VALID)),
                row("valid leaf of a CA that is itself in the bundle", () -> new Row(
                        List.of(ALICE), bundle(List.of(ISSUING.cert())), Outcome.VALID)),
                row("expired leaf", () -> new Row(List.of(ISSUING.issue("CN=old").validity(
                        NOW.minus(Duration.ofDays(10)), NOW.minus(Duration.ofDays(1))).build(),
                        ISSUING.cert()), TRUST_ROOT, Outcome.EXPIRED)),
                row("leaf not yet valid", () -> new Row(List.of(ISSUING.issue("CN=early").validity(
                        NOW.plus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(10))).build(),
                        ISSUING.cert()), TRUST_ROOT, Outcome.NOT_YET_VALID)),
                row("expired issuing CA", () -> {
                    TestPki.Ca old = ROOT.issue("CN=Old Issuing CA").ca(0).validity(
                            NOW.minus(Duration.ofDays(10)), NOW.minus(Duration.ofDays(1))).buildCa();
                    return new Row(List.of(old.issue("CN=bob").validity(NOW.minus(Duration.ofDays(5)),
                            NOW.plus(Duration.ofDays(5))).build(), old.cert()), TRUST_ROOT, Outcome.EXPIRED);
                }),
                row("server-authentication leaf", () -> new Row(List.of(ISSUING.issue("CN=web")
                        .purposes(KeyPurposeId.id_kp_serverAuth).build(), ISSUING.cert()), TRUST_ROOT,
                        Outcome.WRONG_USAGE)),
                row("leaf whose key may only encipher", () -> new Row(List.of(ISSUING.issue("CN=enc")
                        .keyUsage(KeyUsage.keyEncipherment).build(), ISSUING.cert()), TRUST_ROOT,
                        Outcome.WRONG_USAGE)),
                row("leaf without extended key usage", () -> new Row(List.of(ISSUING.issue("CN=plain")
                        .purposes((KeyPurposeId[]) null).build(), ISSUING.cert()), TRUST_ROOT, Outcome.VALID)),
                row("intermediate whose basic constraints say it is no CA", () -> {
                    TestPki.Ca notCa = ROOT.issue("CN=Not A CA").signingButNotCa(false).buildCa();
                    return new Row(List.of(notCa.issue("CN=carol").build(), notCa.cert()), TRUST_ROOT,
                            Outcome.CHAIN_INVALID);
                }),
                row("intermediate without basic constraints", () -> {
                    TestPki.Ca bare = ROOT.issue("CN=Bare Signer").signingButNotCa(true).buildCa();
                    return new Row(List.of(bare.issue("CN=carol").build(), bare.cert()), TRUST_ROOT,
                            Outcome.CHAIN_INVALID);
                }),
                row("path length exceeded below a pathLen 0 CA", () -> {
                    TestPki.Ca deeper = ISSUING.issue("CN=Sub CA").ca(-1).buildCa();
                    return new Row(List.of(deeper.issue("CN=dave").build(), deeper.cert(), ISSUING.cert()),
                            TRUST_ROOT, Outcome.CHAIN_INVALID);
                }),
                row("subject outside the issuing CA's name constraints", () -> {
                    TestPki.Ca constrained = ROOT.issue("CN=Constrained CA,O=Partner A").ca(0)
                            .permitted("O=Partner A").buildCa();
                    return new Row(List.of(constrained.issue("O=Partner B,CN=eve").build(),
                            constrained.cert()), TRUST_ROOT, Outcome.CHAIN_INVALID);
                }),
                row("subject inside the issuing CA's name constraints", () -> {
                    TestPki.Ca constrained = ROOT.issue("CN=Constrained CA,O=Partner A").ca(0)
                            .permitted("O=Partner A").buildCa();
                    return new Row(List.of(constrained.issue("O=Partner A,CN=frank").build(),
                            constrained.cert()), TRUST_ROOT, Outcome.VALID);
                }),
                row("unknown CA", () -> new Row(List.of(ALICE, ISSUING.cert()),
                        bundle(List.of(TestPki.root("CN=Someone Else").cert())), Outcome.UNTRUSTED)),
                row("forged CA of the trusted name", () -> {
                    TestPki.Ca impostor = TestPki.root("CN=Partner Root,O=Partner A");
                    TestPki.Ca fakeIssuing = impostor.issue("CN=Partner Issuing CA,O=Partner A").ca(0).buildCa();
                    return new Row(List.of(fakeIssuing.issue("CN=alice,O=Partner A").build(),
                            fakeIssuing.cert()), TRUST_ROOT, Outcome.UNTRUSTED);
                }),
                row("self-signed leaf", () -> new Row(List.of(TestPki.root("CN=alice,O=Partner A").cert()),
                        TRUST_ROOT, Outcome.UNTRUSTED)),
                row("current CRLs revoking nothing", () -> new Row(List.of(ALICE, ISSUING.cert()),
                        bundle(List.of(ROOT.cert()), ROOT.crl(), ISSUING.crl()), Outcome.VALID)),
                row("leaf revoked by its CA's CRL", () -> new Row(List.of(ALICE, ISSUING.cert()),
                        bundle(List.of(ROOT.cert()), ROOT.crl(), ISSUING.crl(ALICE)), Outcome.REVOKED)),
                row("issuing CA revoked by the root's CRL", () -> new Row(List.of(ALICE, ISSUING.cert()),
                        bundle(List.of(ROOT.cert()), ROOT.crl(ISSUING.cert()), ISSUING.crl()), Outcome.REVOKED)),
                row("CRL past its nextUpdate: fail closed", () -> new Row(List.of(ALICE, ISSUING.cert()),
                        bundle(List.of(ROOT.cert()), ROOT.crl(), ISSUING.crl(NOW.minus(Duration.ofDays(8)),
                                NOW.minus(Duration.ofDays(1)), ISSUING.keys())), Outcome.REVOCATION_UNKNOWN)),
                row("no CRL of the issuing CA while revocation is checked", () -> new Row(
                        List.of(ALICE, ISSUING.cert()), bundle(List.of(ROOT.cert()), ROOT.crl()),
                        Outcome.REVOCATION_UNKNOWN)),
                row("a forged CRL revokes nothing and vouches for nothing", () -> new Row(
                        List.of(ALICE, ISSUING.cert()), bundle(List.of(ROOT.cert()), ROOT.crl(),
                                ISSUING.crl(NOW.minus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(1)),
                                        TestPki.root("CN=Forger").keys(), ALICE)),
                        Outcome.REVOCATION_UNKNOWN)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void validate_table(String name, Supplier<Row> scenario) {
        Row row = scenario.get();

        ChainValidator.Result result = ChainValidator.validate(row.chain(), row.bundle(), NOW);

        assertThat(result.outcome()).as(result.detail()).isEqualTo(row.expected());
        assertThat(result.valid()).isEqualTo(row.expected() == Outcome.VALID);
    }

    @Test
    void validate_atAnotherTime_judgesByThatTime() {
        X509Certificate shortLived = ISSUING.issue("CN=short").validity(NOW.minus(Duration.ofHours(1)),
                NOW.plus(Duration.ofHours(1))).build();

        assertThat(ChainValidator.validate(List.of(shortLived, ISSUING.cert()), TRUST_ROOT, NOW).outcome())
                .isEqualTo(Outcome.VALID);
        assertThat(ChainValidator.validate(List.of(shortLived, ISSUING.cert()), TRUST_ROOT,
                NOW.plus(Duration.ofHours(2))).outcome()).isEqualTo(Outcome.EXPIRED);
    }

    @Test
    void validate_emptyChain_untrusted() {
        assertThat(ChainValidator.validate(List.of(), TRUST_ROOT, NOW).outcome()).isEqualTo(Outcome.UNTRUSTED);
    }

    @Test
    void validator_neverRegistersBouncyCastleWithTheJdk() {
        ChainValidator.validate(List.of(ALICE, ISSUING.cert()), TRUST_ROOT, NOW);

        assertThat(Security.getProvider("BC")).as("the JDK's providers, TLS included, are left alone").isNull();
    }

    private static Arguments row(String name, Supplier<Row> scenario) {
        return Arguments.of(name, scenario);
    }

    private static TrustBundle bundle(List<X509Certificate> cas, X509CRL... crls) {
        return TrustBundle.of(cas, List.of(crls));
    }
}
