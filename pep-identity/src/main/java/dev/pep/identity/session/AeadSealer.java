package dev.pep.identity.session;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;

/**
 * Seals small values with AES-256-GCM under a {@link SessionKeyRing}.
 *
 * <p>A sealed value reads {@code v1.<key id>.<base64url of nonce and ciphertext>}. The purpose
 * (session cookie, login state) and key id are authenticated as associated data, so a value sealed
 * for one purpose never unseals for another. Nonces are 96 random bits per seal. Thread-safe.
 */
public final class AeadSealer {

    private static final String VERSION = "v1";
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;

    private final SessionKeyRing keys;
    private final SecureRandom random;

    /** A sealer over these keys. */
    public AeadSealer(SessionKeyRing keys, SecureRandom random) {
        this.keys = Objects.requireNonNull(keys, "keys");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** Seals {@code plaintext} for {@code purpose} with the newest key. */
    public String seal(byte[] plaintext, String purpose) {
        SessionKeyRing.SessionKey key = keys.sealingKey();
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.ENCRYPT_MODE, key.secret(), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(aad(purpose, key.id()));
            byte[] sealed = cipher.doFinal(plaintext);
            byte[] out = new byte[nonce.length + sealed.length];
            System.arraycopy(nonce, 0, out, 0, nonce.length);
            System.arraycopy(sealed, 0, out, nonce.length, sealed.length);
            return VERSION + "." + key.id() + "."
                    + Base64.getUrlEncoder().withoutPadding().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
    }

    /** The plaintext, or empty when the value is malformed, tampered, foreign or unknown-keyed. */
    public Optional<byte[]> unseal(String value, String purpose) {
        String[] parts = value.split("\\.", -1);
        if (parts.length != 3 || !VERSION.equals(parts[0])) {
            return Optional.empty();
        }
        Optional<SessionKeyRing.SessionKey> key = keys.key(parts[1]);
        if (key.isEmpty()) {
            return Optional.empty();
        }
        return open(key.get(), parts[2], purpose);
    }

    private static Optional<byte[]> open(SessionKeyRing.SessionKey key, String body,
            String purpose) {
        try {
            byte[] bytes = Base64.getUrlDecoder().decode(body);
            if (bytes.length < NONCE_BYTES + TAG_BITS / 8) {
                return Optional.empty();
            }
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(Cipher.DECRYPT_MODE, key.secret(),
                    new GCMParameterSpec(TAG_BITS, bytes, 0, NONCE_BYTES));
            cipher.updateAAD(aad(purpose, key.id()));
            return Optional.of(cipher.doFinal(bytes, NONCE_BYTES, bytes.length - NONCE_BYTES));
        } catch (AEADBadTagException | IllegalArgumentException e) {
            return Optional.empty();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
    }

    private static byte[] aad(String purpose, String keyId) {
        return ("pep|" + VERSION + "|" + purpose + "|" + keyId).getBytes(StandardCharsets.UTF_8);
    }
}
