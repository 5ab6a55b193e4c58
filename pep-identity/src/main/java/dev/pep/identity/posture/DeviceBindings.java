package dev.pep.identity.posture;

import dev.pep.core.Credentials;
import dev.pep.core.Subject;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Which device a session is bound to, and which subject first used each posture assertion.
 *
 * <p>A session is bound to the device of the first verified evidence it showed: a valid device
 * certificate on the connection (proved by the TLS handshake) wins; otherwise the first accepted
 * assertion binds its device id. Later evidence about another device is {@code wrong_device}.
 * An assertion ({@code jti}) belongs to the first subject that presents it; another subject
 * presenting it is {@code replayed}. State lives in this process, bounded, and ends after
 * {@code idle} without use.
 *
 * <p>Thread-safe.
 */
// LIMITATION(L-504): bindings and assertion owners live in one process; instances do not share them.
public final class DeviceBindings {

    private final SessionKeys sessionKeys;
    private final List<DeviceCertificateProvider> certificates;
    private final Clock clock;
    private final BoundedStore<String> devices;
    private final BoundedStore<String> assertionOwners;

    /**
     * Bindings.
     *
     * @param sessionKeys names the session of a request
     * @param certificates the device-certificate providers whose valid certificates bind a device
     * @param clock the time entries are kept by
     * @param idle how long an unused binding lives
     * @param maxEntries the most bindings (and, separately, assertions) remembered
     */
    public DeviceBindings(SessionKeys sessionKeys, List<DeviceCertificateProvider> certificates,
            Clock clock, Duration idle, int maxEntries) {
        this.sessionKeys = Objects.requireNonNull(sessionKeys, "sessionKeys");
        this.certificates = List.copyOf(certificates);
        this.clock = Objects.requireNonNull(clock, "clock");
        this.devices = new BoundedStore<>(maxEntries, idle);
        this.assertionOwners = new BoundedStore<>(maxEntries, idle);
    }

    /** The key of the session of that request. */
    public String sessionKey(Subject subject, Credentials credentials) {
        return sessionKeys.of(subject, credentials);
    }

    /** The first valid device certificate verdict of the request, if any. */
    public Optional<DeviceCertificateProvider.Verdict> certificate(Credentials credentials) {
        for (DeviceCertificateProvider p : certificates) {
            DeviceCertificateProvider.Verdict v = p.verify(credentials);
            if (v.valid()) {
                return Optional.of(v);
            }
        }
        return Optional.empty();
    }

    /**
     * The device id of the request: its valid device certificate's, else the one bound to its
     * session.
     */
    public Optional<String> deviceId(Subject subject, Credentials credentials) {
        Optional<String> fromCertificate = certificate(credentials)
                .flatMap(DeviceCertificateProvider.Verdict::deviceId);
        if (fromCertificate.isPresent()) {
            return fromCertificate;
        }
        return Optional.ofNullable(devices.get(sessionKey(subject, credentials), clock.instant()));
    }

    /**
     * Binds the session to {@code deviceId} when it is bound to none yet.
     *
     * @return whether the session is now bound to that device (false: bound to another)
     */
    public boolean bind(String sessionKey, String deviceId) {
        String bound = devices.compute(sessionKey, clock.instant(),
                (k, old) -> old == null ? deviceId : old);
        return deviceId.equals(bound);
    }

    /**
     * Records that {@code subjectKey} presents the assertion {@code jti}.
     *
     * @return true on its first use or a use by the same subject; false when another subject
     *     used it first (a replay)
     */
    public boolean firstUse(String jti, String subjectKey) {
        String owner = assertionOwners.compute(jti, clock.instant(),
                (k, old) -> old == null ? subjectKey : old);
        return subjectKey.equals(owner);
    }

    /** Forgets the session's device, for example when the session ends. */
    public void unbind(String sessionKey) {
        devices.remove(sessionKey);
    }
}
