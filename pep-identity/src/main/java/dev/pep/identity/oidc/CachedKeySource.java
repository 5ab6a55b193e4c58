package dev.pep.identity.oidc;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import dev.pep.identity.jwt.JwksSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Lets Nimbus validators read keys from a {@link JwksSource} without any I/O: only by
 * {@code kid}, only from the last fetched key set.
 */
final class CachedKeySource implements JWKSource<SecurityContext> {

    private final JwksSource keys;

    CachedKeySource(JwksSource keys) {
        this.keys = keys;
    }

    @Override
    public List<JWK> get(JWKSelector selector, SecurityContext context) {
        Set<String> ids = selector.getMatcher().getKeyIDs();
        List<JWK> out = new ArrayList<>();
        if (ids == null) {
            return out;
        }
        for (String id : ids) {
            if (id != null && keys.lookup(id) instanceof JwksSource.Found found) {
                out.addAll(selector.select(new JWKSet(found.key())));
            }
        }
        return out;
    }
}
