package dev.pep.proxy.config;

import java.net.URI;
import java.time.Duration;

/**
 * Where decisions come from. The built-in engine reads apps and rules from the policy files in
 * the directory and reloads them when they change; gateway.yaml then declares no apps. With a
 * decision point, the apps still come from the directory, and every decision is asked of that
 * external AuthZEN decision point instead (another pep gateway's admin API, for example).
 *
 * @param directory the policy directory, relative to gateway.yaml
 * @param reloadInterval how often the directory is checked for change
 * @param decisionPoint the external decision point; null for the built-in engine
 * @param runtimeAppsDirectory where apps registered through the admin API are kept, one file
 *     each, so they survive a restart; relative to gateway.yaml
 */
public record PolicyConfig(String directory, Duration reloadInterval, DecisionPoint decisionPoint,
        String runtimeAppsDirectory) {

    /** Applies defaults. */
    public PolicyConfig {
        reloadInterval = reloadInterval == null ? Duration.ofSeconds(2) : reloadInterval;
        runtimeAppsDirectory = runtimeAppsDirectory == null ? ".pep/runtime-apps" : runtimeAppsDirectory;
    }

    /**
     * An AuthZEN decision point.
     *
     * @param url its base URL; the evaluation path {@code /access/v1/evaluation} is appended
     * @param tokenFile a file holding the bearer token sent with every evaluation, relative to
     *     gateway.yaml; null to send none
     * @param timeout how long one decision may take; past it the request is denied
     * @param cacheSize how many allows are kept for the ttl the decision point gives; 0 for none
     */
    public record DecisionPoint(URI url, String tokenFile, Duration timeout, Integer cacheSize) {

        /** Applies defaults. */
        public DecisionPoint {
            timeout = timeout == null ? Duration.ofSeconds(2) : timeout;
            cacheSize = cacheSize == null ? 10_000 : cacheSize;
        }
    }
}
