package dev.pep.identity.oidc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.oauth2.sdk.id.Issuer;
import com.nimbusds.openid.connect.sdk.SubjectType;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import dev.pep.identity.jwt.JwksSource;
import java.net.URI;
import java.net.http.HttpClient;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class ProviderSelectorTest {

    static OidcProvider provider(String name, Set<String> hosts, Set<String> domains) {
        URI issuer = URI.create("https://idp." + name + ".example");
        URI jwks = URI.create(issuer + "/jwks");
        var metadata = new OIDCProviderMetadata(new Issuer(issuer.toString()),
                List.of(SubjectType.PUBLIC), jwks);
        var keys = new JwksSource(issuer.toString(), jwks, HttpClient.newHttpClient(),
                Executors.newSingleThreadScheduledExecutor(), Clock.systemUTC(),
                JwksSource.Settings.defaults());
        return new OidcProvider(OidcProviderConfig.of(name, issuer, "pep", "secret")
                .withSelection(hosts, domains), metadata, keys);
    }

    final OidcProvider partnerA = provider("partner-a", Set.of("a.apps.example"),
            Set.of("partner-a.example"));
    final OidcProvider partnerB = provider("partner-b", Set.of(),
            Set.of("partner-b.example", "b-subsidiary.example"));
    final ProviderSelector selector = new ProviderSelector(List.of(partnerA, partnerB));

    @Test
    void select_byHostFirst_thenByEmailDomain() {
        assertThat(selector.select("A.apps.example", Optional.of("x@partner-b.example")))
                .contains(partnerA);
        assertThat(selector.select("shared.apps.example", Optional.of("bob@B-Subsidiary.example")))
                .contains(partnerB);
    }

    @Test
    void select_unknownHostAndDomainOrBadHint_empty() {
        assertThat(selector.select("shared.apps.example", Optional.of("eve@evil.example")))
                .isEmpty();
        assertThat(selector.select("shared.apps.example", Optional.of("partner-b.example@")))
                .isEmpty();
        assertThat(selector.select("shared.apps.example", Optional.empty())).isEmpty();
    }

    @Test
    void provider_metadataOfAnotherIssuer_refused() {
        var metadata = new OIDCProviderMetadata(new Issuer("https://evil.example"),
                List.of(SubjectType.PUBLIC), URI.create("https://evil.example/jwks"));

        assertThatThrownBy(() -> new OidcProvider(OidcProviderConfig.of("x",
                URI.create("https://idp.x.example"), "pep", "s"), metadata, partnerA.keys()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void config_toString_masksSecret() {
        assertThat(OidcProviderConfig.of("x", URI.create("https://idp.x.example"), "pep",
                "very-secret").toString()).doesNotContain("very-secret").contains("***");
    }
}
