package dev.pep.core;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides access requests. The gateway asks it for every request and every live session.
 *
 * <p>Implementations are thread-safe and never throw from {@link #decide}: any internal failure
 * is a deny with reason {@link DecisionReason#EVALUATION_ERROR} or
 * {@link DecisionReason#DECISION_POINT_UNAVAILABLE}. Every decision is made wholly by one policy
 * version.
 */
public interface PolicyEngine {

    /** Decides now, on the calling thread; fast engines only (no I/O). */
    Decision decide(AccessRequest request);

    /**
     * Decides without blocking the caller; the gateway's event loops call only this. The default
     * decides on the calling thread, which suits engines that do no I/O.
     */
    default CompletionStage<Decision> decideAsync(AccessRequest request) {
        return CompletableFuture.completedFuture(decide(request));
    }

    /** The policy version that decides now. */
    PolicyVersion version();
}
