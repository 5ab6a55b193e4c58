package dev.pep.proxy.admin;

import java.util.concurrent.CompletionStage;

/**
 * One operation of the admin API. Called on an event loop: an implementation that has slow work
 * to do does it elsewhere and completes the stage later. A stage completed exceptionally answers
 * 500 {@code admin_internal_error}.
 */
@FunctionalInterface
public interface AdminEndpoint {

    /** Answers an authenticated request. */
    CompletionStage<AdminResponse> handle(AdminRequest request);
}
