package dev.pep.proxy.server;

import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.identity.posture.PostureFindings;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * What a deny page tells the partner: the decision's primary reason, or, when only the device
 * kept a rule from allowing, the device requirement followed by what the posture providers found,
 * in plain words ("This application requires a managed device; your device did not present a
 * device certificate.").
 */
final class DenyMessages {

    private static final Set<String> DEVICE_REASONS = Set.of(DecisionReason.DEVICE_NOT_MANAGED,
            DecisionReason.DEVICE_POSTURE_STALE, DecisionReason.DEVICE_REQUIREMENT_NOT_MET);

    private DenyMessages() {
    }

    /** The reason shown: a device reason when the decision has one, else the primary one. */
    static DecisionReason shown(Decision decision) {
        return decision.reasons().stream().filter(r -> DEVICE_REASONS.contains(r.code()))
                .findFirst().orElse(decision.primaryReason());
    }

    /** The message for the reason shown, with the posture findings for a device reason. */
    static String message(DecisionReason shown, DevicePosture device) {
        StringBuilder text = new StringBuilder(shown.message());
        if (DEVICE_REASONS.contains(shown.code())) {
            List<String> findings = PostureFindings.of(device);
            findings.forEach(f -> text.append("; ").append(f));
        }
        if (text.isEmpty()) {
            return "Access denied.";
        }
        String s = text.substring(0, 1).toUpperCase(Locale.ROOT) + text.substring(1);
        return s.endsWith(".") ? s : s + ".";
    }
}
