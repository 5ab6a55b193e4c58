package dev.pep.identity.oidc;

import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import dev.pep.identity.jwt.JwksSource;
import java.util.Objects;

/**
 * A configured provider with its discovered metadata and its background key source.
 *
 * @param config what the admin configured
 * @param metadata what the provider published (discovery)
 * @param keys the provider's signing keys, fetched in the background
 */
public record OidcProvider(OidcProviderConfig config, OIDCProviderMetadata metadata,
        JwksSource keys) {

    /** Validates: the metadata must be for the configured issuer. */
    public OidcProvider {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(metadata, "metadata");
        Objects.requireNonNull(keys, "keys");
        if (!metadata.getIssuer().getValue().equals(config.issuer().toString())) {
            throw new IllegalArgumentException("provider " + config.name() + ": metadata issuer "
                    + metadata.getIssuer() + " differs from configured " + config.issuer());
        }
    }

    /** The provider's name. */
    public String name() {
        return config.name();
    }
}
