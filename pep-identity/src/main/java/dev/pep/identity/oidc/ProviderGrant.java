package dev.pep.identity.oidc;

import java.time.Instant;
import java.util.Objects;

/**
 * What the provider granted with a sign-in that lets the gateway renew it: the refresh token and
 * when the provider's tokens run out. Kept on the gateway only, never sent to the browser; a
 * secret like any token, so {@link #toString()} shows only the expiry.
 *
 * @param refreshToken the provider's refresh token, opaque to the gateway
 * @param expiresAt when the provider's tokens of this grant run out (the access token's
 *     {@code expires_in}, else the ID token's {@code exp})
 */
public record ProviderGrant(String refreshToken, Instant expiresAt) {

    /** Validates. */
    public ProviderGrant {
        Objects.requireNonNull(refreshToken, "refreshToken");
        if (refreshToken.isEmpty()) {
            throw new IllegalArgumentException("refreshToken is empty");
        }
        Objects.requireNonNull(expiresAt, "expiresAt");
    }

    @Override
    public String toString() {
        return "ProviderGrant[expiresAt=" + expiresAt + "]";
    }
}
