package dev.pep.proxy.server;

import java.util.Objects;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * How a provider the gateway depends on is doing, for {@code pep_provider_up} and
 * {@code pep_provider_failures_total}: its kind (a fixed vocabulary), its configured name, and
 * suppliers read at every scrape.
 *
 * @param kind {@code jwks}, {@code oidc}, {@code posture_service}, {@code assertion_keys},
 *     {@code device_trust}, {@code client_trust} or {@code network_set}
 * @param name the configured name (an issuer, a provider or set name): a bounded label
 * @param up whether the provider is usable now
 * @param failures how often it failed since start
 */
record ProviderHealth(String kind, String name, BooleanSupplier up, LongSupplier failures) {

    /** Checks that nothing is null. */
    ProviderHealth {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(up, "up");
        Objects.requireNonNull(failures, "failures");
    }
}
