package dev.pep.policy;

import dev.pep.core.PolicyVersion;
import java.util.List;

/**
 * Hears about reloads of a {@link DefaultPolicyEngine}.
 *
 * <p>Called on the watcher's thread (or the thread that called {@link DefaultPolicyEngine#reload});
 * implementations return quickly and do not throw (a thrown exception is logged and ignored).
 */
public interface PolicyListener {

    /** A new version now decides; every later decision is made by it. */
    void versionChanged(PolicyVersion previous, PolicyVersion current);

    /** A changed directory was invalid; {@code running} still decides. */
    default void reloadRefused(PolicyVersion running, List<PolicyError> errors) {
    }
}
