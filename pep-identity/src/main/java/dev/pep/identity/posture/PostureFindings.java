package dev.pep.identity.posture;

import dev.pep.core.DevicePosture;
import dev.pep.core.PostureSignal;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a partner can be told about why the device fell short, in plain words: one phrase per
 * finding, for example "your device did not present a device certificate". Drawn only from the
 * providers' status signals and their {@code managed}/{@code compliant} answers; never names a
 * key, an issuer or a value the partner did not send.
 */
public final class PostureFindings {

    private static final Map<String, String> CERTIFICATE = Map.of(
            PostureSignals.ABSENT, "your device did not present a device certificate",
            PostureSignals.EXPIRED, "your device certificate has expired",
            PostureSignals.NOT_YET_VALID, "your device certificate is not valid yet",
            PostureSignals.REVOKED, "your device certificate has been revoked",
            PostureSignals.UNTRUSTED,
            "your device certificate was not issued by a device authority this application trusts",
            PostureSignals.ERROR, "your device certificate could not be checked");
    private static final String UNVERIFIED = "your device's posture statement could not be verified";
    private static final Map<String, String> ASSERTION = Map.ofEntries(
            Map.entry(PostureSignals.ABSENT,
                    "your device did not send a posture statement from its device management"),
            Map.entry(PostureSignals.EXPIRED, "your device's posture statement has expired"),
            Map.entry(PostureSignals.STALE, "your device's posture statement is too old"),
            Map.entry(PostureSignals.NOT_YET_VALID, "your device's posture statement is not valid yet"),
            Map.entry(PostureSignals.INVALID, UNVERIFIED),
            Map.entry(PostureSignals.UNTRUSTED, UNVERIFIED),
            Map.entry(PostureSignals.WRONG_AUDIENCE,
                    "your device's posture statement was made for another service"),
            Map.entry(PostureSignals.WRONG_DEVICE,
                    "your device's posture statement is about another device"),
            Map.entry(PostureSignals.REPLAYED,
                    "your device's posture statement was already used by someone else"),
            Map.entry(PostureSignals.UNAVAILABLE,
                    "your device's posture statement could not be checked right now"),
            Map.entry(PostureSignals.ERROR,
                    "your device's posture statement could not be checked right now"));
    private static final Map<String, String> SERVICE = Map.of(
            PostureSignals.UNAVAILABLE, "the device posture service could not be reached",
            PostureSignals.UNKNOWN_DEVICE, "the device posture service does not know your device",
            PostureSignals.STALE, "the device posture service's report on your device is too old",
            PostureSignals.ERROR, "the device posture service's answer could not be read");

    private PostureFindings() {
    }

    /** The findings of a posture, most basic first; empty when nothing fell short. */
    public static List<String> of(DevicePosture posture) {
        Set<String> out = new LinkedHashSet<>();
        status(posture, PostureSignals.CERTIFICATE_STATUS, CERTIFICATE, out);
        status(posture, PostureSignals.ASSERTION_STATUS, ASSERTION, out);
        status(posture, PostureSignals.SERVICE_STATUS, SERVICE, out);
        answer(posture, PostureSignals.MANAGED,
                "your device management reports this device as not managed", out);
        answer(posture, PostureSignals.COMPLIANT,
                "your device management reports this device as not compliant", out);
        return new ArrayList<>(out);
    }

    private static void status(DevicePosture posture, String name, Map<String, String> phrases,
            Set<String> out) {
        posture.signal(name).map(PostureSignal::value).map(String::valueOf).map(phrases::get)
                .ifPresent(out::add);
    }

    private static void answer(DevicePosture posture, String name, String phrase,
            Set<String> out) {
        if (posture.signal(name).map(s -> Boolean.FALSE.equals(s.value())).orElse(false)) {
            out.add(phrase);
        }
    }
}
