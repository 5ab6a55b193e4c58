package dev.pep.identity;

import dev.pep.core.AuthenticationMethod;
import dev.pep.core.Subject;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * How an issuer's claims become a {@link Subject}: which claim holds the organisation, groups,
 * roles and e-mail, and which further claims are copied.
 *
 * <p>Claim names may be dotted paths into nested objects ({@code realm_access.roles}). A claim
 * that is absent or of an unexpected type maps to empty, never to an error. Immutable and
 * thread-safe.
 *
 * @param organisationClaim the claim naming the partner organisation
 * @param fixedOrganisation the organisation for every subject of this issuer (one issuer per
 *     partner); when present it wins over {@code organisationClaim}
 * @param groupsClaim the claim holding group names (a list or a single string)
 * @param rolesClaim the claim holding role names (a list or a single string)
 * @param emailClaim the claim holding the e-mail address
 * @param extraClaims further claims copied into {@link Subject#claims()}
 */
public record ClaimMapping(
        String organisationClaim,
        Optional<String> fixedOrganisation,
        String groupsClaim,
        String rolesClaim,
        String emailClaim,
        Set<String> extraClaims) {

    /** Validates and copies. */
    public ClaimMapping {
        Objects.requireNonNull(organisationClaim, "organisationClaim");
        Objects.requireNonNull(fixedOrganisation, "fixedOrganisation");
        Objects.requireNonNull(groupsClaim, "groupsClaim");
        Objects.requireNonNull(rolesClaim, "rolesClaim");
        Objects.requireNonNull(emailClaim, "emailClaim");
        extraClaims = Set.copyOf(extraClaims);
    }

    /** The usual claim names: {@code org}, {@code groups}, {@code roles}, {@code email}. */
    public static ClaimMapping defaults() {
        return new ClaimMapping("org", Optional.empty(), "groups", "roles", "email", Set.of());
    }

    /** A copy whose subjects all belong to {@code organisation}. */
    public ClaimMapping withFixedOrganisation(String organisation) {
        return new ClaimMapping(organisationClaim, Optional.of(organisation), groupsClaim,
                rolesClaim, emailClaim, extraClaims);
    }

    /** A copy that also copies {@code claims} into the subject. */
    public ClaimMapping withExtraClaims(Set<String> claims) {
        return new ClaimMapping(organisationClaim, fixedOrganisation, groupsClaim, rolesClaim,
                emailClaim, claims);
    }

    /**
     * Maps verified claims to a subject.
     *
     * @param claims the verified claims, as parsed from JSON
     * @param issuer the verified issuer
     * @param method how the subject authenticated
     * @param authenticatedAt when it authenticated
     * @throws IllegalArgumentException when there is no string {@code sub}
     */
    public Subject toSubject(Map<String, Object> claims, String issuer,
            AuthenticationMethod method, Instant authenticatedAt) {
        if (!(claims.get("sub") instanceof String sub) || sub.isEmpty()) {
            throw new IllegalArgumentException("no sub claim");
        }
        String organisation = fixedOrganisation.orElseGet(() -> string(claims, organisationClaim));
        return new Subject(sub, issuer, organisation, strings(claims, groupsClaim),
                strings(claims, rolesClaim), string(claims, emailClaim), extras(claims), method,
                authenticatedAt);
    }

    private Map<String, Object> extras(Map<String, Object> claims) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (String name : extraClaims) {
            Object value = lookup(claims, name);
            Object safe = simpleValue(value);
            if (safe != null) {
                out.put(name, safe);
            }
        }
        return out;
    }

    private static Object simpleValue(Object value) {
        if (value instanceof String || value instanceof Number || value instanceof Boolean) {
            return value;
        }
        if (value instanceof Collection<?> list) {
            List<Object> out = list.stream().map(ClaimMapping::simpleValue)
                    .filter(Objects::nonNull).toList();
            return out;
        }
        return null;
    }

    private static String string(Map<String, Object> claims, String path) {
        return lookup(claims, path) instanceof String s ? s : "";
    }

    private static Set<String> strings(Map<String, Object> claims, String path) {
        Object value = lookup(claims, path);
        if (value instanceof String s) {
            return Set.of(s);
        }
        Set<String> out = new LinkedHashSet<>();
        if (value instanceof Collection<?> list) {
            for (Object item : list) {
                if (item instanceof String s) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    private static Object lookup(Map<String, Object> claims, String path) {
        if (path.isEmpty()) {
            return null;
        }
        Object current = claims;
        for (String part : path.split("\\.")) {
            if (!(current instanceof Map<?, ?> map)) {
                return null;
            }
            current = map.get(part);
        }
        return current;
    }
}
