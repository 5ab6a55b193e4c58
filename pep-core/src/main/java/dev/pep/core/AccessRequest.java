package dev.pep.core;

import java.time.Instant;
import java.util.Objects;

/**
 * Everything a {@link PolicyEngine} may look at to decide one access.
 *
 * @param subject who is asking
 * @param device what is known of the device
 * @param app the application asked for
 * @param request the action, from the canonical request
 * @param source where the connection comes from
 * @param time when the request is decided
 * @param requestId the gateway's id of the request, for audit and the deny page
 */
public record AccessRequest(
        Subject subject,
        DevicePosture device,
        App app,
        RequestAttributes request,
        Source source,
        Instant time,
        String requestId) {

    /** Validates. */
    public AccessRequest {
        Objects.requireNonNull(subject, "subject");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(requestId, "requestId");
    }
}
