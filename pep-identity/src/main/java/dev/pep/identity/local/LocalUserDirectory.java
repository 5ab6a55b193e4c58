package dev.pep.identity.local;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Subject;
import dev.pep.identity.IdentityReasons;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The local user directory: users in a file, one a line,
 * {@code name:argon2id-phc:group1,group2:organisation:email} ({@code #} starts a comment).
 *
 * <p>Verification costs the same whether or not the user exists: an unknown name is checked
 * against a dummy hash. Immutable after loading; thread-safe.
 */
public final class LocalUserDirectory {

    /** The issuer of local subjects. */
    public static final String ISSUER = "pep-local";

    private final Map<String, LocalUser> users;
    private final String dummyHash;

    private LocalUserDirectory(Map<String, LocalUser> users) {
        this.users = Map.copyOf(users);
        this.dummyHash = new PasswordHasher(PasswordHasher.Params.recommended(),
                new SecureRandom()).hash("not-a-password".toCharArray());
    }

    /**
     * Reads a user file.
     *
     * @throws IllegalArgumentException naming the line when a line is malformed
     */
    public static LocalUserDirectory load(Path file) throws IOException {
        return new LocalUserDirectory(byName(read(file)));
    }

    /** Reads the users of a file; an absent file has none. */
    public static List<LocalUser> read(Path file) throws IOException {
        if (!Files.exists(file)) {
            return List.of();
        }
        List<LocalUser> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (!line.isEmpty() && !line.startsWith("#")) {
                out.add(parse(file, i + 1, line));
            }
        }
        return out;
    }

    /** Writes the users to the file atomically, readable by the owner only. */
    public static void write(Path file, List<LocalUser> users) throws IOException {
        StringBuilder text = new StringBuilder("# pep local users: name:argon2id:groups:org:email\n");
        users.forEach(u -> text.append(u.toLine()).append('\n'));
        Path temp = Files.createTempFile(file.toAbsolutePath().getParent(), ".users", ".tmp");
        try {
            Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: the operator protects the file by other means.
        }
        Files.writeString(temp, text, StandardCharsets.UTF_8);
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Checks a name and password; the password array is cleared afterwards.
     *
     * @return authenticated with method {@link AuthenticationMethod#LOCAL}, or rejected with
     *     {@code credentials_invalid} (never saying whether the name exists)
     */
    public AuthenticationResult authenticate(String name, char[] password, Instant now) {
        try {
            Optional<LocalUser> user = Optional.ofNullable(users.get(name));
            String hash = user.map(LocalUser::passwordHash).orElse(dummyHash);
            boolean matches = PasswordHasher.verify(hash, password);
            if (user.isEmpty() || !matches) {
                return new AuthenticationResult.Rejected(
                        IdentityReasons.of(IdentityReasons.CREDENTIALS_INVALID));
            }
            return new AuthenticationResult.Authenticated(subject(user.get(), now),
                    Optional.empty());
        } finally {
            Arrays.fill(password, '\0');
        }
    }

    /** How many users the directory holds. */
    public int size() {
        return users.size();
    }

    private static Subject subject(LocalUser user, Instant now) {
        return new Subject(user.name(), ISSUER, user.organisation(), Set.copyOf(user.groups()),
                Set.of(), user.email(), Map.of(), AuthenticationMethod.LOCAL, now);
    }

    private static LocalUser parse(Path file, int number, String line) {
        String[] parts = line.split(":", -1);
        if (parts.length != 5) {
            throw new IllegalArgumentException(file + ":" + number
                    + ": expected name:hash:groups:organisation:email (5 fields), found "
                    + parts.length);
        }
        List<String> groups = parts[2].isEmpty() ? List.of() : List.of(parts[2].split(","));
        try {
            return new LocalUser(parts[0], parts[1], groups, parts[3], parts[4]);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ":" + number + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, LocalUser> byName(List<LocalUser> users) {
        Map<String, LocalUser> out = new LinkedHashMap<>();
        for (LocalUser user : users) {
            if (out.put(user.name(), user) != null) {
                throw new IllegalArgumentException("user listed twice: " + user.name());
            }
        }
        return out;
    }
}
