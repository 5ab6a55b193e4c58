package dev.pep.identity.posture;

import dev.pep.core.PostureSignal;
import java.time.Instant;
import java.util.regex.Pattern;

/**
 * The names and status values of the signals the posture providers make; docs/posture.md lists
 * them. Names are part of the policy vocabulary ({@code device.signals["os.version"]}): stable,
 * only added.
 */
public final class PostureSignals {

    /** True when a provider vouches that the device is managed. */
    public static final String MANAGED = "managed";
    /** True when the partner's device management says the device meets its rules. */
    public static final String COMPLIANT = "compliant";
    /** The device's id, from a verified certificate or assertion. */
    public static final String DEVICE_ID = "device_id";
    /** What the device-certificate provider found; one of the status values below. */
    public static final String CERTIFICATE_STATUS = "certificate.status";
    /** What the posture-assertion provider found. */
    public static final String ASSERTION_STATUS = "assertion.status";
    /** What the posture-service provider found. */
    public static final String SERVICE_STATUS = "service.status";
    /** The JA4-style fingerprint of the connection's TLS ClientHello. */
    public static final String TLS_FINGERPRINT = "tls.fingerprint";
    /** The highest TLS version the client offered: {@code 1.3}, {@code 1.2}, ... */
    public static final String TLS_VERSION = "tls.version";
    /** True when this session showed another fingerprint before. */
    public static final String TLS_FINGERPRINT_CHANGED = "tls.fingerprint_changed";
    /** The browser family named by the User-Agent: chrome, edge, firefox, safari, ... */
    public static final String BROWSER_FAMILY = "browser.family";
    /** The browser's major version from the User-Agent, a number. */
    public static final String BROWSER_VERSION = "browser.version";
    /** True when the User-Agent names a headless browser. */
    public static final String BROWSER_HEADLESS = "browser.headless";
    /** Prefix of the signals naming network sets that contain the source address. */
    public static final String NETWORK_PREFIX = "network.";
    /** Prefix of the device certificate's attributes ({@code device.certificate["issuer"]}). */
    public static final String CERTIFICATE_PREFIX = "certificate.";

    /** The evidence was checked and holds. */
    public static final String VALID = "valid";
    /** No evidence was presented. */
    public static final String ABSENT = "absent";
    /** The evidence's validity has ended. */
    public static final String EXPIRED = "expired";
    /** The evidence's validity has not begun. */
    public static final String NOT_YET_VALID = "not_yet_valid";
    /** The issuer revoked the evidence. */
    public static final String REVOKED = "revoked";
    /** The evidence does not come from an issuer trusted for it. */
    public static final String UNTRUSTED = "untrusted";
    /** The evidence is malformed or its signature does not verify. */
    public static final String INVALID = "invalid";
    /** The evidence is meant for another audience. */
    public static final String WRONG_AUDIENCE = "wrong_audience";
    /** The evidence is about another device than the one bound to the session. */
    public static final String WRONG_DEVICE = "wrong_device";
    /** The evidence was already used by another subject. */
    public static final String REPLAYED = "replayed";
    /** The evidence was assessed longer ago than its maximum age. */
    public static final String STALE = "stale";
    /** The source of the evidence could not be reached or did not answer in time. */
    public static final String UNAVAILABLE = "unavailable";
    /** The posture service does not know the device. */
    public static final String UNKNOWN_DEVICE = "unknown_device";
    /** No verified device id to ask the posture service about. */
    public static final String NO_DEVICE_ID = "no_device_id";
    /** The provider failed internally. */
    public static final String ERROR = "error";

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]*(\\.[a-z0-9][a-z0-9_-]*)*");

    private PostureSignals() {
    }

    /** Whether {@code name} is a well-formed signal name: dotted lower-case words. */
    public static boolean validName(String name) {
        return name.length() <= 64 && NAME.matcher(name).matches();
    }

    /** Whether {@code name} is a status signal ({@code certificate.status}, ...). */
    public static boolean isStatus(String name) {
        return name.endsWith(".status");
    }

    /** A signal of that provider, assessed at {@code at}. */
    static PostureSignal signal(String name, Object value, String source, Instant at) {
        return new PostureSignal(name, value, source, at);
    }
}
