package dev.pep.proxy.config;

import java.net.URI;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Checks {@code identity.providers} (names, issuers, where the secret comes from, selection) and
 * what bearer issuers share with them: algorithms, clock skew, claim mapping.
 */
final class ProviderValidator {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,31}");
    private static final Pattern HOST = Pattern.compile(
            "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*");
    private static final Pattern ENV = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Pattern CLAIM = Pattern.compile("[A-Za-z0-9_:-]+(\\.[A-Za-z0-9_:-]+)*");
    private static final Pattern TOP_CLAIM = Pattern.compile("[A-Za-z0-9_:-]+");
    /** A media type's subtype as {@code typ} carries it (RFC 7515 4.1.9), optional prefix. */
    private static final Pattern TYPE = Pattern.compile("(application/)?[A-Za-z0-9][A-Za-z0-9.+_-]*");
    private static final Set<String> ALGORITHMS = Set.of("RS256", "RS384", "RS512", "PS256",
            "PS384", "PS512", "ES256", "ES384", "ES512");

    private final BiConsumer<String, String> problems;
    private final Predicate<String> readable;
    private final Function<String, String> environment;

    ProviderValidator(BiConsumer<String, String> problems, Predicate<String> readable,
            Function<String, String> environment) {
        this.problems = problems;
        this.readable = readable;
        this.environment = environment;
    }

    void check(List<IdentitySettings.Provider> providers) {
        Set<String> names = new HashSet<>();
        for (int i = 0; i < providers.size(); i++) {
            String key = "identity.providers." + i;
            IdentitySettings.Provider p = providers.get(i);
            if (p.name() == null || !NAME.matcher(p.name()).matches()) {
                problems.accept(key + ".name", "invalid name '" + p.name()
                        + "'; expected [a-z0-9_-], at most 32 characters");
            } else if (!names.add(p.name())) {
                problems.accept(key + ".name", "another provider is named '" + p.name() + "'");
            }
            issuer(key, p);
            if (p.clientId() == null || p.clientId().isBlank()) {
                problems.accept(key + ".client-id", "missing; expected the gateway's client id");
            }
            secret(key, p);
            lists(key, p);
            claims(key + ".claims", p.claims());
        }
    }

    /** Token types, required claims, algorithms, skew and claim mapping of the bearer issuers. */
    void checkBearer(List<IdentitySettings.BearerIssuer> issuers) {
        for (int i = 0; i < issuers.size(); i++) {
            String key = "identity.bearer." + i;
            IdentitySettings.BearerIssuer b = issuers.get(i);
            algorithms(key + ".algorithms", b.algorithms());
            skew(key + ".clock-skew", b.clockSkew());
            if (b.types().isEmpty()) {
                problems.accept(key + ".types", "expected at least one typ value, such as at+jwt or JWT");
            }
            for (String t : b.types()) {
                if (!TYPE.matcher(t).matches()) {
                    problems.accept(key + ".types", "invalid typ value '" + t
                            + "'; expected a media type such as at+jwt or JWT");
                }
            }
            for (String claim : b.requiredClaims()) {
                if (!TOP_CLAIM.matcher(claim).matches()) {
                    problems.accept(key + ".required-claims", "invalid claim name '" + claim
                            + "'; expected a top-level claim such as nbf or jti");
                }
            }
            claims(key + ".claims", b.claims());
            if (b.organisation() != null && b.claims().fixedOrganisation() != null) {
                problems.accept(key + ".organisation", "both 'organisation' and "
                        + "'claims.fixed-organisation' are set; expected one of them");
            }
            if (b.organisation() != null && b.organisation().isBlank()) {
                problems.accept(key + ".organisation", "expected a non-empty organisation name");
            }
        }
    }

    private void issuer(String key, IdentitySettings.Provider p) {
        URI issuer = p.issuer();
        if (issuer == null) {
            problems.accept(key + ".issuer", "missing; expected the provider's issuer URL");
            return;
        }
        boolean https = "https".equals(issuer.getScheme());
        boolean http = "http".equals(issuer.getScheme());
        if (!https && !(http && p.insecureHttp())) {
            problems.accept(key + ".issuer", "expected an https URL, got '" + issuer
                    + "' (http only with insecure-http: true, for development and tests)");
        }
        if (issuer.getHost() == null || issuer.getRawQuery() != null
                || issuer.getRawFragment() != null || issuer.getUserInfo() != null) {
            problems.accept(key + ".issuer", "expected an URL with a host and no query, fragment "
                    + "or user, got '" + issuer + "'");
        }
    }

    private void secret(String key, IdentitySettings.Provider p) {
        if ((p.clientSecretFile() == null) == (p.clientSecretEnv() == null)) {
            problems.accept(key, "expected exactly one of 'client-secret-file' and "
                    + "'client-secret-env' (the secret itself is never written in gateway.yaml)");
            return;
        }
        if (p.clientSecretFile() != null && !readable.test(p.clientSecretFile())) {
            problems.accept(key + ".client-secret-file", "cannot read file '"
                    + p.clientSecretFile() + "'");
        }
        if (p.clientSecretEnv() != null) {
            if (!ENV.matcher(p.clientSecretEnv()).matches()) {
                problems.accept(key + ".client-secret-env", "invalid variable name '"
                        + p.clientSecretEnv() + "'");
            } else {
                String value = environment.apply(p.clientSecretEnv());
                if (value == null || value.isBlank()) {
                    problems.accept(key + ".client-secret-env", "environment variable '"
                            + p.clientSecretEnv() + "' is not set or empty");
                }
            }
        }
    }

    private void lists(String key, IdentitySettings.Provider p) {
        if (!p.scopes().contains("openid")) {
            problems.accept(key + ".scopes", "expected 'openid' among the scopes, got "
                    + p.scopes());
        }
        algorithms(key + ".algorithms", p.algorithms());
        skew(key + ".clock-skew", p.clockSkew());
        Duration interval = p.refreshInterval();
        if (interval != null && interval.compareTo(Duration.ofSeconds(1)) < 0) {
            problems.accept(key + ".refresh-interval", "expected at least 1s, got " + interval);
        }
        if (interval != null && !p.refreshTokens()) {
            problems.accept(key + ".refresh-interval", "set while refresh-tokens is false; "
                    + "expected one of them");
        }
        for (String h : p.hosts()) {
            if (!HOST.matcher(h).matches()) {
                problems.accept(key + ".hosts", "invalid host name '" + h
                        + "'; expected lower-case DNS labels without port or wildcard");
            }
        }
        for (String d : p.emailDomains()) {
            if (!HOST.matcher(d).matches()) {
                problems.accept(key + ".email-domains", "invalid domain '" + d
                        + "'; expected lower-case DNS labels");
            }
        }
    }

    private void algorithms(String key, List<String> algorithms) {
        if (algorithms.isEmpty() || !ALGORITHMS.containsAll(algorithms)) {
            problems.accept(key, "expected asymmetric algorithms from "
                    + ALGORITHMS.stream().sorted().toList() + ", got " + algorithms);
        }
    }

    private void skew(String key, Duration skew) {
        if (skew.isNegative() || skew.compareTo(Duration.ofMinutes(5)) > 0) {
            problems.accept(key, "expected between 0s and 5m, got " + skew);
        }
    }

    private void claims(String key, IdentitySettings.Claims c) {
        claim(key + ".organisation", c.organisation());
        claim(key + ".groups", c.groups());
        claim(key + ".roles", c.roles());
        claim(key + ".email", c.email());
        c.extra().forEach(name -> claim(key + ".extra", name));
        if (c.fixedOrganisation() != null && c.fixedOrganisation().isBlank()) {
            problems.accept(key + ".fixed-organisation", "expected a non-empty organisation name");
        }
    }

    private void claim(String key, String name) {
        if (!CLAIM.matcher(name).matches()) {
            problems.accept(key, "invalid claim name '" + name
                    + "'; expected a claim or a dotted path such as realm_access.roles");
        }
    }
}
