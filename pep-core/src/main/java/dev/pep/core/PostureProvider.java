package dev.pep.core;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Assesses a device from what reaches the gateway, without an agent on the device.
 *
 * <p>Implementations are thread-safe and never block the caller. A provider that cannot assess
 * (its service is down, the input is forged) completes with no signal, never with a signal that
 * says the device is fine.
 */
public interface PostureProvider {

    /** A short name, recorded as the source of every signal this provider makes. */
    String name();

    /** Assesses the device behind a request of that subject. */
    CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials);
}
