package dev.pep.identity.local;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Argon2id password hashes in the PHC string format
 * ({@code $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>}), made with BouncyCastle.
 *
 * <p>Verification recomputes with the parameters stored in the hash and compares in constant
 * time. Thread-safe.
 */
public final class PasswordHasher {

    private static final Pattern PHC = Pattern.compile(
            "\\$argon2id\\$v=19\\$m=(\\d{1,7}),t=(\\d{1,3}),p=(\\d{1,2})\\$([A-Za-z0-9+/]+)\\$([A-Za-z0-9+/]+)");
    private static final Base64.Encoder B64 = Base64.getEncoder().withoutPadding();
    private static final Base64.Decoder B64D = Base64.getDecoder();
    private static final int SALT_BYTES = 16;
    private static final int HASH_BYTES = 32;

    private final Params params;
    private final SecureRandom random;

    /** A hasher with these cost parameters. */
    public PasswordHasher(Params params, SecureRandom random) {
        this.params = Objects.requireNonNull(params, "params");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** The PHC string of {@code password} with a fresh salt. */
    public String hash(char[] password) {
        byte[] salt = new byte[SALT_BYTES];
        random.nextBytes(salt);
        byte[] hash = derive(password, salt, params, HASH_BYTES);
        return "$argon2id$v=19$m=" + params.memoryKib() + ",t=" + params.iterations() + ",p="
                + params.parallelism() + "$" + B64.encodeToString(salt) + "$"
                + B64.encodeToString(hash);
    }

    /** Whether {@code password} matches the PHC string; false for a malformed string. */
    public static boolean verify(String phc, char[] password) {
        Matcher m = PHC.matcher(phc);
        if (!m.matches()) {
            return false;
        }
        Params stored = new Params(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                Integer.parseInt(m.group(3)));
        byte[] expected = B64D.decode(m.group(5));
        byte[] actual = derive(password, B64D.decode(m.group(4)), stored, expected.length);
        return MessageDigest.isEqual(expected, actual);
    }

    /** Whether a string is a PHC Argon2id hash this class can verify. */
    public static boolean isHash(String value) {
        return PHC.matcher(value).matches();
    }

    private static byte[] derive(char[] password, byte[] salt, Params params, int length) {
        Argon2Parameters parameters = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withMemoryAsKB(params.memoryKib())
                .withIterations(params.iterations())
                .withParallelism(params.parallelism())
                .withSalt(salt)
                .build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(parameters);
        byte[] bytes = utf8(password);
        try {
            byte[] out = new byte[length];
            generator.generateBytes(bytes, out);
            return out;
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    private static byte[] utf8(char[] password) {
        ByteBuffer buffer = StandardCharsets.UTF_8.encode(CharBuffer.wrap(password));
        byte[] bytes = new byte[buffer.remaining()];
        buffer.get(bytes);
        Arrays.fill(buffer.array(), (byte) 0);
        return bytes;
    }

    /**
     * Argon2id cost parameters.
     *
     * @param memoryKib memory in KiB
     * @param iterations passes over memory
     * @param parallelism lanes
     */
    public record Params(int memoryKib, int iterations, int parallelism) {
        /** Validates. */
        public Params {
            if (memoryKib < 8 * parallelism || iterations < 1 || parallelism < 1) {
                throw new IllegalArgumentException("bad argon2 parameters m=" + memoryKib
                        + " t=" + iterations + " p=" + parallelism);
            }
        }

        /** The OWASP recommendation: 19 MiB, 2 passes, 1 lane. */
        public static Params recommended() {
            return new Params(19456, 2, 1);
        }
    }
}
