package dev.pep.proxy.admin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The operators who may use the admin API, each with a bearer token, read from a file with one
 * {@code NAME TOKEN} pair a line ({@code #} starts a comment). Tokens are kept only as SHA-256
 * digests and compared in constant time; the name is what audit events record as who acted.
 *
 * <p>Immutable and thread-safe.
 */
public final class AdminTokens {

    /** The shortest token accepted: 128 bits of randomness written as hex. */
    static final int MIN_TOKEN_LENGTH = 32;

    private final List<Entry> entries;

    private AdminTokens(List<Entry> entries) {
        this.entries = List.copyOf(entries);
    }

    /**
     * Reads a token file.
     *
     * @throws IllegalArgumentException naming the file and line when a line is malformed, a token
     *     is shorter than {@value #MIN_TOKEN_LENGTH} characters or a name repeats
     * @throws IOException when the file cannot be read
     */
    public static AdminTokens read(Path file) throws IOException {
        List<Entry> entries = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("\\s+");
            String where = file + ":" + (i + 1);
            if (parts.length != 2) {
                throw new IllegalArgumentException(where + ": expected 'NAME TOKEN'");
            }
            if (parts[1].length() < MIN_TOKEN_LENGTH) {
                throw new IllegalArgumentException(where + ": the token of '" + parts[0] + "' is shorter than "
                        + MIN_TOKEN_LENGTH + " characters");
            }
            if (entries.stream().anyMatch(e -> e.name.equals(parts[0]))) {
                throw new IllegalArgumentException(where + ": operator '" + parts[0] + "' is named twice");
            }
            entries.add(new Entry(parts[0], sha256(parts[1])));
        }
        if (entries.isEmpty()) {
            throw new IllegalArgumentException(file + ": no 'NAME TOKEN' line");
        }
        return new AdminTokens(entries);
    }

    /** The operator whose token this is, if any; every entry is compared, so timing tells nothing. */
    public Optional<String> operator(String token) {
        byte[] digest = sha256(token);
        String found = null;
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.digest, digest) && found == null) {
                found = e.name;
            }
        }
        return Optional.ofNullable(found);
    }

    private static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private record Entry(String name, byte[] digest) {
    }
}
