package dev.pep.identity.oidc;

import com.nimbusds.oauth2.sdk.ParseException;
import com.nimbusds.openid.connect.sdk.op.OIDCProviderMetadata;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Fetches an OpenID provider's metadata from {@code <issuer>/.well-known/openid-configuration}
 * (OpenID Connect Discovery 1.0) and checks it names the same issuer. Asynchronous; stateless.
 */
// LIMITATION(L-207): metadata is discovered once at start; changes need a restart or reload.
public final class ProviderDiscovery {

    private static final int MAX_BYTES = 256 * 1024;

    private ProviderDiscovery() {
    }

    /**
     * The metadata, or a future failed with {@link IOException} (unreachable, not 200, too large)
     * or {@link ParseException} (malformed, other issuer).
     */
    public static CompletableFuture<OIDCProviderMetadata> discover(URI issuer, HttpClient http,
            Duration timeout) {
        String base = issuer.toString().endsWith("/")
                ? issuer.toString().substring(0, issuer.toString().length() - 1)
                : issuer.toString();
        HttpRequest request = HttpRequest.newBuilder(
                        URI.create(base + "/.well-known/openid-configuration"))
                .timeout(timeout).header("Accept", "application/json").GET().build();
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                .thenApply(response -> parse(issuer, response));
    }

    private static OIDCProviderMetadata parse(URI issuer, HttpResponse<String> response) {
        try {
            if (response.statusCode() != 200) {
                throw new IOException("discovery of " + issuer + " answered "
                        + response.statusCode());
            }
            if (response.body().length() > MAX_BYTES) {
                throw new IOException("discovery document of " + issuer + " is too large");
            }
            OIDCProviderMetadata metadata = OIDCProviderMetadata.parse(response.body());
            if (!metadata.getIssuer().getValue().equals(issuer.toString())) {
                throw new ParseException("metadata issuer " + metadata.getIssuer()
                        + " differs from " + issuer);
            }
            return metadata;
        } catch (IOException | ParseException e) {
            throw new CompletionException(e);
        }
    }
}
