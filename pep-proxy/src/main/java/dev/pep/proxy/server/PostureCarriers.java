package dev.pep.proxy.server;

import dev.pep.proxy.config.PostureSettings;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The request headers and cookies that carry posture assertions. They are credentials of the
 * device, meant for the gateway alone: the request that goes on to the app carries none of them.
 *
 * @param headers header names, lower case
 * @param cookies cookie names, as sent (cookie names are case-sensitive)
 */
record PostureCarriers(Set<String> headers, Set<String> cookies) {

    /** No posture assertions configured. */
    static final PostureCarriers NONE = new PostureCarriers(Set.of(), Set.of());

    /** Copies; header names to lower case. */
    PostureCarriers {
        headers = headers.stream().map(h -> h.toLowerCase(Locale.ROOT))
                .collect(Collectors.toUnmodifiableSet());
        cookies = Set.copyOf(cookies);
    }

    /** The carriers of every configured assertion provider, whatever apps it runs for. */
    static PostureCarriers of(PostureSettings posture) {
        if (posture == null) {
            return NONE;
        }
        return new PostureCarriers(
                posture.assertions().stream().map(PostureSettings.Assertions::header)
                        .collect(Collectors.toSet()),
                posture.assertions().stream().map(PostureSettings.Assertions::cookie)
                        .filter(c -> c != null && !c.isBlank()).collect(Collectors.toSet()));
    }
}
