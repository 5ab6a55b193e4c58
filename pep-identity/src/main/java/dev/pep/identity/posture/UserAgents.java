package dev.pep.identity.posture;

import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The browser family and major version a User-Agent names. The header is the client's own claim:
 * read it with the TLS fingerprint beside it, which a client does not choose as freely.
 */
public final class UserAgents {

    /** Checked in order: Edge and Opera also name Chrome, Chrome also names Safari. */
    private static final List<Rule> RULES = List.of(
            new Rule("edge", Pattern.compile("\\bEdg(?:e|A|iOS)?/(\\d+)")),
            new Rule("opera", Pattern.compile("\\bOPR/(\\d+)")),
            new Rule("firefox", Pattern.compile("\\b(?:Firefox|FxiOS)/(\\d+)")),
            new Rule("chrome", Pattern.compile("\\b(?:HeadlessChrome|Chrome|Chromium|CriOS)/(\\d+)")),
            new Rule("safari", Pattern.compile("\\bVersion/(\\d+)[.\\d]* (?:Mobile/\\S+ )?Safari/")),
            new Rule("curl", Pattern.compile("^curl/(\\d+)")),
            new Rule("wget", Pattern.compile("^Wget/(\\d+)")),
            new Rule("java", Pattern.compile("^Java-http-client/(\\d+)")));

    private UserAgents() {
    }

    /** The browser of a User-Agent value; empty when the header names none this knows. */
    public static Optional<Browser> parse(String userAgent) {
        if (userAgent == null || userAgent.length() > 1024) {
            return Optional.empty();
        }
        for (Rule rule : RULES) {
            Matcher m = rule.pattern().matcher(userAgent);
            if (m.find()) {
                long major = Long.parseLong(m.group(1).length() > 6 ? "0" : m.group(1));
                return Optional.of(new Browser(rule.family(), major,
                        userAgent.contains("HeadlessChrome") || userAgent.contains("Headless")));
            }
        }
        return Optional.empty();
    }

    /**
     * A browser.
     *
     * @param family chrome, edge, firefox, safari, opera, curl, wget or java
     * @param majorVersion the major version
     * @param headless whether it says it runs headless
     */
    public record Browser(String family, long majorVersion, boolean headless) {
    }

    private record Rule(String family, Pattern pattern) {
    }
}
