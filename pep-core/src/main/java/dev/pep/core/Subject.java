package dev.pep.core;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Who is asking: one vocabulary whatever the credential.
 *
 * @param id stable identifier within the issuer (the {@code sub} claim, a certificate subject)
 * @param issuer who vouched for the subject; empty for {@link #anonymous()}
 * @param organisation the partner organisation; empty when unknown
 * @param groups group names, mapped into the gateway's vocabulary
 * @param roles role names, mapped into the gateway's vocabulary
 * @param email the e-mail address, empty when unknown
 * @param claims any further claims an admin asked to map; values are strings, numbers, booleans
 *     or lists of them
 * @param method how the subject authenticated
 * @param authenticatedAt when it authenticated; {@link Instant#EPOCH} for {@link #anonymous()}
 */
public record Subject(
        String id,
        String issuer,
        String organisation,
        Set<String> groups,
        Set<String> roles,
        String email,
        Map<String, Object> claims,
        AuthenticationMethod method,
        Instant authenticatedAt) {

    private static final Subject ANONYMOUS = new Subject(
            "anonymous", "", "", Set.of(), Set.of(), "", Map.of(),
            AuthenticationMethod.NONE, Instant.EPOCH);

    /** Validates and copies. */
    public Subject {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(issuer, "issuer");
        Objects.requireNonNull(organisation, "organisation");
        groups = Set.copyOf(groups);
        roles = Set.copyOf(roles);
        Objects.requireNonNull(email, "email");
        claims = Map.copyOf(claims);
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(authenticatedAt, "authenticatedAt");
    }

    /** The subject of a request that presented no credential. */
    public static Subject anonymous() {
        return ANONYMOUS;
    }

    /** Whether this subject presented no credential. */
    public boolean isAnonymous() {
        return method == AuthenticationMethod.NONE;
    }
}
