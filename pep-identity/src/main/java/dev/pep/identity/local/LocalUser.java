package dev.pep.identity.local;

import java.util.List;
import java.util.Objects;

/**
 * A user of the gateway's local directory (quickstart and small setups).
 *
 * @param name the login name, {@code [A-Za-z0-9._@-]{1,64}}
 * @param passwordHash the Argon2id PHC string
 * @param groups group names
 * @param organisation the organisation, may be empty
 * @param email the e-mail address, may be empty
 */
public record LocalUser(String name, String passwordHash, List<String> groups,
        String organisation, String email) {

    private static final String NAME = "[A-Za-z0-9._@-]{1,64}";
    private static final String FIELD = "[^:\\n\\r]*";

    /** Validates and copies. */
    public LocalUser {
        Objects.requireNonNull(name, "name");
        if (!name.matches(NAME)) {
            throw new IllegalArgumentException("user name must match " + NAME + ": " + name);
        }
        if (!PasswordHasher.isHash(passwordHash)) {
            throw new IllegalArgumentException("password of " + name + " is not an Argon2id PHC "
                    + "hash");
        }
        groups = List.copyOf(groups);
        for (String group : groups) {
            if (!group.matches("[^:,\\s]+")) {
                throw new IllegalArgumentException("group of " + name + " must have no ':', ',' "
                        + "or space: " + group);
            }
        }
        Objects.requireNonNull(organisation, "organisation");
        Objects.requireNonNull(email, "email");
        if (!organisation.matches(FIELD) || !email.matches(FIELD)) {
            throw new IllegalArgumentException("organisation and email of " + name
                    + " must have no ':' or line break");
        }
    }

    /** The line of the user file. */
    String toLine() {
        return String.join(":", name, passwordHash, String.join(",", groups), organisation, email);
    }
}
