package dev.pep.proxy.server;

import dev.pep.policy.PolicyError;
import java.util.List;
import java.util.stream.Collectors;

/** The policy directory did not load at start; the message lists every error with its position. */
public final class PolicyLoadException extends Exception {

    PolicyLoadException(List<PolicyError> errors) {
        super("the policy does not load (" + errors.size() + " errors):\n"
                + errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n")));
    }
}
