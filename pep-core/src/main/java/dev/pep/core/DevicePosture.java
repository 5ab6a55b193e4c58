package dev.pep.core;

import java.util.Map;
import java.util.Optional;

/**
 * What the gateway knows about the device a request comes from.
 *
 * <p>A device is managed only when a signal named {@code managed} says {@code true}; no signal
 * means unmanaged.
 *
 * @param signals the signals by name
 */
public record DevicePosture(Map<String, PostureSignal> signals) {

    private static final DevicePosture UNKNOWN = new DevicePosture(Map.of());

    /** Copies. */
    public DevicePosture {
        signals = Map.copyOf(signals);
    }

    /** The posture of a device about which nothing is known. */
    public static DevicePosture unknown() {
        return UNKNOWN;
    }

    /** The signal of that name, if any. */
    public Optional<PostureSignal> signal(String name) {
        return Optional.ofNullable(signals.get(name));
    }

    /** Whether a fresh-or-not signal {@code managed} says {@code true}. */
    public boolean managed() {
        return signal("managed").map(s -> Boolean.TRUE.equals(s.value())).orElse(false);
    }
}
