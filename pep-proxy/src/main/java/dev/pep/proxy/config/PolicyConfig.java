package dev.pep.proxy.config;

import java.time.Duration;

/**
 * Where decisions come from. With a directory, the built-in engine reads apps and rules from the
 * policy files there and reloads them when they change; gateway.yaml then declares no apps.
 *
 * @param directory the policy directory, relative to gateway.yaml
 * @param reloadInterval how often the directory is checked for change
 */
public record PolicyConfig(String directory, Duration reloadInterval) {

    /** Applies defaults. */
    public PolicyConfig {
        reloadInterval = reloadInterval == null ? Duration.ofSeconds(2) : reloadInterval;
    }
}
