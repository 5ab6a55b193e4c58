package dev.pep.identity.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;

/**
 * The gateway's cookie-sealing keys, read from a key file.
 *
 * <p>The file holds one key a line, {@code <id> <created-at ISO-8601> <base64 of 32 bytes>};
 * {@code #} starts a comment. The newest key seals, every key unseals: adding a key rotates without
 * logging anyone out, removing an old one later ends the cookies it sealed. Immutable.
 */
public final class SessionKeyRing {

    private static final int KEY_BYTES = 32;

    private final List<SessionKey> keys;

    private SessionKeyRing(List<SessionKey> keys) {
        if (keys.isEmpty()) {
            throw new IllegalArgumentException("key ring is empty");
        }
        this.keys = List.copyOf(keys);
    }

    /** A ring of these keys (for tests and generated setups). */
    public static SessionKeyRing of(List<SessionKey> keys) {
        return new SessionKeyRing(keys);
    }

    /**
     * Reads a key file.
     *
     * @throws IOException when unreadable
     * @throws IllegalArgumentException naming the line when a line is malformed (never the key)
     */
    public static SessionKeyRing load(Path file) throws IOException {
        List<SessionKey> keys = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (!line.isEmpty() && !line.startsWith("#")) {
                keys.add(parseLine(file, i + 1, line));
            }
        }
        return new SessionKeyRing(keys);
    }

    /** Reads the key file, first creating it with one fresh key (owner-only) when absent. */
    public static SessionKeyRing loadOrCreate(Path file, Clock clock, SecureRandom random)
            throws IOException {
        if (!Files.exists(file)) {
            addKey(file, clock, random);
        }
        return load(file);
    }

    /** Appends a fresh key to the file (made owner-only, directories too); the new key seals from now. */
    public static void addKey(Path file, Clock clock, SecureRandom random) throws IOException {
        byte[] bytes = new byte[KEY_BYTES];
        random.nextBytes(bytes);
        byte[] idBytes = new byte[4];
        random.nextBytes(idBytes);
        String line = "k-" + HexFormat.of().formatHex(idBytes) + " " + clock.instant() + " "
                + Base64.getEncoder().encodeToString(bytes) + "\n";
        String existing = Files.exists(file) ? Files.readString(file) : "";
        Path dir = Files.createDirectories(file.toAbsolutePath().getParent());
        Path temp = Files.createTempFile(dir, ".keys", ".tmp");
        restrictToOwner(temp);
        Files.writeString(temp, existing + line, StandardCharsets.UTF_8);
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The key that seals: the newest. */
    public SessionKey sealingKey() {
        return keys.stream().max(Comparator.comparing(SessionKey::createdAt)).orElseThrow();
    }

    /** The key with that id, if the ring has it. */
    public Optional<SessionKey> key(String id) {
        return keys.stream().filter(k -> k.id().equals(id)).findFirst();
    }

    /** How many keys the ring holds. */
    public int size() {
        return keys.size();
    }

    private static SessionKey parseLine(Path file, int number, String line) {
        String[] parts = line.split("\\s+");
        String where = file + ":" + number;
        if (parts.length != 3) {
            throw new IllegalArgumentException(where + ": expected '<id> <created-at> <base64 key>'"
                    + " (3 fields), found " + parts.length);
        }
        try {
            byte[] bytes = Base64.getDecoder().decode(parts[2]);
            if (bytes.length != KEY_BYTES) {
                throw new IllegalArgumentException(where + ": key must be 32 bytes, found "
                        + bytes.length);
            }
            return new SessionKey(parts[0], Instant.parse(parts[1]),
                    new SecretKeySpec(bytes, "AES"));
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(where + ": created-at is not ISO-8601: " + parts[1]);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith(where)) {
                throw e;
            }
            throw new IllegalArgumentException(where + ": key is not base64 (value masked)");
        }
    }

    private static void restrictToOwner(Path path) throws IOException {
        try {
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the operator protects the file by other means.
        }
    }

    /**
     * One sealing key.
     *
     * @param id short public identifier, written into every cookie it seals
     * @param createdAt when it was made; the newest seals
     * @param secret 256 bits
     */
    public record SessionKey(String id, Instant createdAt, SecretKey secret) {
        /** Validates. */
        public SessionKey {
            Objects.requireNonNull(id, "id");
            if (!id.matches("[A-Za-z0-9_-]{1,32}")) {
                throw new IllegalArgumentException("key id must be 1..32 of [A-Za-z0-9_-]: " + id);
            }
            Objects.requireNonNull(createdAt, "createdAt");
            Objects.requireNonNull(secret, "secret");
        }

        @Override
        public String toString() {
            return "SessionKey[id=" + id + ", createdAt=" + createdAt + ", secret=***]";
        }
    }
}
