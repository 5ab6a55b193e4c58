package dev.pep.policy;

import dev.cel.common.CelFunctionDecl;
import dev.cel.common.CelOverloadDecl;
import dev.cel.common.types.SimpleType;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelEvaluationExceptionBuilder;
import dev.cel.runtime.CelFunctionBinding;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The helper functions conditions may call besides standard CEL.
 *
 * <ul>
 *   <li>{@code ip.inCidr("203.0.113.0/24")} and {@code ip.inCidr(["10.0.0.0/8", ...])}</li>
 *   <li>{@code time.inWindow("08:00", "18:00")} (UTC) and
 *       {@code time.inWindow("22:00", "06:00", "Europe/Paris")}; a window whose end is before
 *       its start spans midnight; the start is inside the window, the end is not</li>
 *   <li>{@code path.matchesGlob("/api/*}{@code /orders/**")}: {@code *} and {@code ?} stay
 *       within one path segment, {@code **} crosses segments</li>
 * </ul>
 *
 * <p>A malformed address, CIDR, time or zone is an evaluation error, so the request is denied.
 */
final class Helpers {

    private static final int CACHE_LIMIT = 10_000;
    private static final Map<String, Cidr> CIDRS = new ConcurrentHashMap<>();
    private static final Map<String, Pattern> GLOBS = new ConcurrentHashMap<>();

    private Helpers() {
    }

    static List<CelFunctionDecl> declarations() {
        return List.of(
                CelFunctionDecl.newFunctionDeclaration("inCidr",
                        CelOverloadDecl.newMemberOverload("string_inCidr_string", SimpleType.BOOL,
                                SimpleType.STRING, SimpleType.STRING),
                        CelOverloadDecl.newMemberOverload("string_inCidr_list", SimpleType.BOOL,
                                SimpleType.STRING, Vocabulary.STRING_LIST)),
                CelFunctionDecl.newFunctionDeclaration("inWindow",
                        CelOverloadDecl.newMemberOverload("timestamp_inWindow_string_string",
                                SimpleType.BOOL, SimpleType.TIMESTAMP, SimpleType.STRING,
                                SimpleType.STRING),
                        CelOverloadDecl.newMemberOverload("timestamp_inWindow_zone",
                                SimpleType.BOOL, SimpleType.TIMESTAMP, SimpleType.STRING,
                                SimpleType.STRING, SimpleType.STRING)),
                CelFunctionDecl.newFunctionDeclaration("matchesGlob",
                        CelOverloadDecl.newMemberOverload("string_matchesGlob_string",
                                SimpleType.BOOL, SimpleType.STRING, SimpleType.STRING)));
    }

    static List<CelFunctionBinding> bindings() {
        return List.of(
                CelFunctionBinding.from("string_inCidr_string", String.class, String.class,
                        Helpers::inCidr),
                CelFunctionBinding.from("string_inCidr_list", String.class, List.class,
                        Helpers::inAnyCidr),
                CelFunctionBinding.from("timestamp_inWindow_string_string",
                        List.of(Instant.class, String.class, String.class),
                        args -> inWindow((Instant) args[0], (String) args[1], (String) args[2],
                                "UTC")),
                CelFunctionBinding.from("timestamp_inWindow_zone",
                        List.of(Instant.class, String.class, String.class, String.class),
                        args -> inWindow((Instant) args[0], (String) args[1], (String) args[2],
                                (String) args[3])),
                CelFunctionBinding.from("string_matchesGlob_string", String.class, String.class,
                        Helpers::matchesGlob));
    }

    static boolean inCidr(String ip, String cidr) throws CelEvaluationException {
        try {
            return cached(CIDRS, cidr, Cidr::parse).contains(IpAddresses.parse(ip));
        } catch (IllegalArgumentException e) {
            throw failure(e.getMessage());
        }
    }

    static boolean inAnyCidr(String ip, List<?> cidrs) throws CelEvaluationException {
        for (Object cidr : cidrs) {
            if (inCidr(ip, String.valueOf(cidr))) {
                return true;
            }
        }
        return false;
    }

    static boolean inWindow(Instant time, String from, String to, String zone)
            throws CelEvaluationException {
        try {
            ZoneId zoneId = "UTC".equals(zone) ? ZoneOffset.UTC : ZoneId.of(zone);
            LocalTime start = LocalTime.parse(from);
            LocalTime end = LocalTime.parse(to);
            LocalTime local = time.atZone(zoneId).toLocalTime();
            if (start.isBefore(end)) {
                return !local.isBefore(start) && local.isBefore(end);
            }
            return !local.isBefore(start) || local.isBefore(end);
        } catch (java.time.DateTimeException e) {
            throw failure("inWindow expects HH:MM times and a zone id: " + e.getMessage());
        }
    }

    static boolean matchesGlob(String path, String glob) {
        return cached(GLOBS, glob, Helpers::globPattern).matcher(path).matches();
    }

    static Pattern globPattern(String glob) {
        StringBuilder regex = new StringBuilder();
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
                regex.append(".*");
                i++;
            } else if (c == '*') {
                regex.append("[^/]*");
            } else if (c == '?') {
                regex.append("[^/]");
            } else {
                regex.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(regex.toString(), Pattern.DOTALL);
    }

    private static <T> T cached(Map<String, T> cache, String key, Function<String, T> make) {
        T found = cache.get(key);
        if (found != null) {
            return found;
        }
        T made = make.apply(key);
        if (cache.size() < CACHE_LIMIT) {
            cache.put(key, made);
        }
        return made;
    }

    private static CelEvaluationException failure(String message) {
        return CelEvaluationExceptionBuilder.newBuilder("%s", message).build();
    }
}
