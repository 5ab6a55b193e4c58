package dev.pep.identity.posture;

import dev.pep.core.DevicePosture;
import java.util.Map;
import java.util.Objects;

/**
 * The result of assessing one request's device.
 *
 * @param posture the merged signals of every provider that answered in time
 * @param outcomes each selected provider's outcome by name: {@code ok}, {@code timeout} or
 *     {@code failed}
 */
public record Assessment(DevicePosture posture, Map<String, String> outcomes) {

    /** A provider answered within the deadline. */
    public static final String OK = "ok";
    /** A provider did not answer within the deadline; its signals are absent. */
    public static final String TIMEOUT = "timeout";
    /** A provider's assessment failed; its signals are absent. */
    public static final String FAILED = "failed";

    /** Validates and copies. */
    public Assessment {
        Objects.requireNonNull(posture, "posture");
        outcomes = Map.copyOf(outcomes);
    }
}
