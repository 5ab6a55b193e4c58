package dev.pep.identity.oidc;

import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Chooses the partner's identity provider for a login: by the app host when a provider claims it,
 * else by the domain of an e-mail hint the partner typed. Immutable; thread-safe.
 */
public final class ProviderSelector {

    private final List<OidcProvider> providers;

    /** A selector over these providers, tried in order. */
    public ProviderSelector(List<OidcProvider> providers) {
        this.providers = List.copyOf(providers);
    }

    /** The provider for a login on {@code host}, or for the e-mail hint's domain. */
    public Optional<OidcProvider> select(String host, Optional<String> emailHint) {
        String lowerHost = host.toLowerCase(Locale.ROOT);
        Optional<OidcProvider> byHost = providers.stream()
                .filter(p -> p.config().hosts().contains(lowerHost)).findFirst();
        if (byHost.isPresent()) {
            return byHost;
        }
        return emailHint.flatMap(ProviderSelector::domain).flatMap(domain -> providers.stream()
                .filter(p -> p.config().emailDomains().contains(domain)).findFirst());
    }

    /** The provider with that name. */
    public Optional<OidcProvider> byName(String name) {
        return providers.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    private static Optional<String> domain(String email) {
        int at = email.lastIndexOf('@');
        if (at < 1 || at == email.length() - 1) {
            return Optional.empty();
        }
        return Optional.of(email.substring(at + 1).toLowerCase(Locale.ROOT));
    }
}
