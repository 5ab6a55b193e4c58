package dev.pep.proxy.route;

import dev.pep.core.AccessRequest;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.Effect;
import dev.pep.core.PolicyEngine;
import dev.pep.core.PolicyVersion;
import dev.pep.proxy.config.AppConfig.Access;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The interim engine of gateway.yaml's {@code access: public | deny}: an app not named, or named
 * with anything but {@code public}, is denied. Used when no policy directory is configured.
 */
public final class ConfiguredAccessEngine implements PolicyEngine {

    private final Map<String, Access> access;
    private final PolicyVersion version;

    /** An engine over the access mode of each app, by app name. */
    public ConfiguredAccessEngine(Map<String, Access> access, PolicyVersion version) {
        this.access = Map.copyOf(access);
        this.version = version;
    }

    @Override
    public Decision decide(AccessRequest request) {
        if (request.app().expiredAt(request.time())) {
            return Decision.deny(version,
                    DecisionReason.of(DecisionReason.APP_EXPIRED, "This application is no longer available."));
        }
        if (access.get(request.app().name()) == Access.PUBLIC) {
            return new Decision(Effect.ALLOW, Optional.empty(), version,
                    List.of(DecisionReason.of(DecisionReason.APP_PUBLIC, "This application is open to everyone.")),
                    List.of(), Duration.ZERO);
        }
        return Decision.deny(version,
                DecisionReason.of(DecisionReason.APP_DENIED, "Access to this application is not allowed."));
    }

    @Override
    public PolicyVersion version() {
        return version;
    }
}
