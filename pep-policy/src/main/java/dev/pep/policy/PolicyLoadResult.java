package dev.pep.policy;

import java.util.List;
import java.util.Objects;

/** The outcome of {@link DefaultPolicyEngine#load}: an engine, or every error of the load. */
public sealed interface PolicyLoadResult {

    /**
     * The directory was valid.
     *
     * @param engine an engine deciding by the loaded version; its watcher is not started
     */
    record Loaded(DefaultPolicyEngine engine) implements PolicyLoadResult {
        /** Validates. */
        public Loaded {
            Objects.requireNonNull(engine, "engine");
        }
    }

    /**
     * The directory was not valid.
     *
     * @param errors every error found, ordered by file, line and column; never empty
     */
    record Failed(List<PolicyError> errors) implements PolicyLoadResult {
        /** Validates and copies. */
        public Failed {
            errors = List.copyOf(errors);
            if (errors.isEmpty()) {
                throw new IllegalArgumentException("a failed load has errors");
            }
        }
    }
}
