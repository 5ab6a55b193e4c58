package dev.pep.identity.posture;

import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import dev.pep.identity.jwt.JwksSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The public keys one partner's posture service signs assertions with, looked up by {@code kid}
 * only. Thread-safe; lookups do no I/O.
 */
public interface AssertionKeys {

    /** The key with that id; empty when unknown. */
    Optional<JWK> find(String kid);

    /** Whether the keys can be trusted now; false when never fetched or gone stale. */
    boolean available();

    /** Keys fetched and refreshed by a {@link JwksSource} (started by the caller). */
    static AssertionKeys of(JwksSource source) {
        return new AssertionKeys() {
            @Override
            public Optional<JWK> find(String kid) {
                return source.lookup(kid) instanceof JwksSource.Found f ? Optional.of(f.key())
                        : Optional.empty();
            }

            @Override
            public boolean available() {
                return source.usable();
            }
        };
    }

    /**
     * Keys read once from a JWKS file: public RSA and EC signature keys with a {@code kid}.
     *
     * @throws IOException naming the file when it cannot be read, parsed, or holds no such key
     */
    static AssertionKeys load(Path file) throws IOException {
        JWKSet set;
        try {
            set = JWKSet.parse(Files.readString(file, StandardCharsets.UTF_8));
        } catch (ParseException e) {
            throw new IOException("cannot read key set " + file + ": not a JWKS document", e);
        }
        Map<String, JWK> keys = set.getKeys().stream()
                .filter(k -> k.getKeyID() != null && !k.isPrivate())
                .filter(k -> k.getKeyUse() == null || KeyUse.SIGNATURE.equals(k.getKeyUse()))
                .filter(k -> k instanceof RSAKey || k instanceof ECKey)
                .collect(Collectors.toUnmodifiableMap(JWK::getKeyID, k -> k, (a, b) -> a));
        if (keys.isEmpty()) {
            throw new IOException("key set " + file
                    + " holds no public RSA or EC signature key with a kid");
        }
        return new AssertionKeys() {
            @Override
            public Optional<JWK> find(String kid) {
                return Optional.ofNullable(keys.get(kid));
            }

            @Override
            public boolean available() {
                return true;
            }
        };
    }
}
